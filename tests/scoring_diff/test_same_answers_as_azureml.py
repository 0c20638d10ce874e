"""Our scoring server answers every request exactly as azureml-inference-server-http 1.5.1 does.

Each case sends the same request to both servers serving the same score.py and compares status, body
bytes and the headers clients depend on.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from conftest import EXAMPLE, SCRIPTS, Pair

pytestmark = pytest.mark.differential

COMPARED_HEADERS = ("content-type", "x-ms-run-function-failed", "x-ms-client-request-id")
PRESENCE_HEADERS = ("x-request-id", "x-ms-request-id", "x-ms-run-fn-exec-ms", "traceid")
JSON = {"Content-Type": "application/json"}
LONG_ID = "x" * 101


@dataclass(frozen=True)
class Case:
    """One request, named by what it shows."""

    name: str
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def send(self, client: httpx.Client, base: str) -> httpx.Response:
        return client.request(self.method, base + self.path, content=self.body, headers=self.headers)


def assert_same(case: Case, ours: httpx.Response, theirs: httpx.Response) -> None:
    assert (ours.status_code, ours.content) == (theirs.status_code, theirs.content), case.name
    for name in COMPARED_HEADERS:
        assert ours.headers.get(name) == theirs.headers.get(name), f"{case.name}: header {name}"
    # Werkzeug builds Allow from a set, so its order changes from process to process.
    assert _methods(ours.headers.get("allow")) == _methods(theirs.headers.get("allow")), case.name
    for name in PRESENCE_HEADERS:
        assert (name in ours.headers) == (name in theirs.headers), f"{case.name}: presence of {name}"
    if "x-request-id" in case.headers and "x-request-id" in theirs.headers:
        assert ours.headers["x-request-id"] == theirs.headers["x-request-id"], case.name


def _methods(allow: str | None) -> set[str]:
    return {method.strip() for method in (allow or "").split(",") if method.strip()}


def post(name: str, payload: object, headers: dict[str, str] | None = None, path: str = "/score") -> Case:
    return Case(name, "POST", path, json.dumps(payload).encode(), {**JSON, **(headers or {})})


@contextlib.contextmanager
def clients() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30.0) as client:
        yield client


def check_cases(pair: Pair, cases: list[Case]) -> None:
    with clients() as client:
        for case in cases:
            assert_same(case, case.send(client, pair.ours), case.send(client, pair.theirs))


PLAIN_CASES = [
    post("run() result is JSON-encoded", {"a": [1, 2.5, "x"], "b": None}),
    post("run() raising is a 500 marked as a run failure", {"op": "raise"}),
    Case("invalid JSON reaches run() as a string", "POST", "/score", b"{not json", JSON),
    post("None from run() is {}", {"op": "none"}),
    post("a string from run() is a JSON string", {"op": "string"}),
    post("an unencodable result is a generic 500", {"op": "unserialisable"}),
    post("NaN and big floats are encoded as Python's json does", {"op": "nan"}),
    Case("GET /score passes query parameters as JSON", "GET", "/score?a=1&b=x&b=[1,2]&c&d=%7B%22k%22%3A1%7D&e=+2"),
    Case("GET /score without parameters passes {}", "GET", "/score"),
    Case("PUT /score is not allowed", "PUT", "/score", b"{}", JSON),
    Case("DELETE /score is not allowed", "DELETE", "/score"),
    Case("HEAD /score is refused by the input parser", "HEAD", "/score"),
    Case("OPTIONS /score is an empty 200", "OPTIONS", "/score"),
    Case("GET / is Healthy", "GET", "/"),
    Case("POST / is not allowed", "POST", "/", b"{}"),
    Case("OPTIONS / lists the allowed methods", "OPTIONS", "/"),
    Case("HEAD / is answered without a body", "HEAD", "/"),
    Case("an unknown path is 404", "GET", "/nope"),
    Case("a trailing slash is a different path", "GET", "/score/"),
    Case("repeated slashes are merged", "POST", "//score", b"{}", JSON),
    post("an over-long x-request-id is refused", {}, {"x-request-id": LONG_ID}),
    post("an over-long client request id is refused", {}, {"x-ms-client-request-id": LONG_ID}),
    post("request ids are echoed", {}, {"x-request-id": "rid-1", "x-ms-client-request-id": "client-1"}),
    post("the legacy x-ms-request-id becomes the client request id", {}, {"x-ms-request-id": "legacy-1"}),
    post("TraceId is echoed", {}, {"TraceId": "trace-1"}),
    post("run() gets request headers as Flask names them", {"op": "headers"}, {"X-Foo": "1", "x-Mixed-CASE": "v"}),
    post(
        "an AMLResponse keeps its status, body and split headers",
        {"op": "response", "body": "hi", "status": 503, "headers": {"X-A": "1, 2", "Content-Type": "text/plain"}},
    ),
    post("an AMLResponse with json_str is JSON", {"op": "response", "body": {"k": 1}, "status": 202, "json": True}),
    post("an AMLResponse without a message is {}", {"op": "response", "body": None, "status": 204}),
    post("an AMLResponse with an empty message is text/html", {"op": "response", "body": "", "status": 200}),
    Case("a body that is not UTF-8 is a 400", "POST", "/score", b"\xff\xfe", JSON),
    Case(
        "a form body reaches run() as an empty string",
        "POST",
        "/score",
        b'{"op": "string"}',
        {"Content-Type": "application/x-www-form-urlencoded"},
    ),
    Case(
        "a text/plain body reaches run() unchanged",
        "POST",
        "/score",
        b'{"op":"string"}',
        {"Content-Type": "text/plain"},
    ),
    Case("swagger 2 is the default document", "GET", "/swagger.json"),
    Case("swagger 3 is served", "GET", "/swagger.json?version=3"),
    Case("swagger 3.1 is served", "GET", "/swagger.json?version=3.1"),
    Case("swagger 2.0 is an alias of 2", "GET", "/swagger.json?version=2.0"),
    Case("an unknown swagger version is 404", "GET", "/swagger.json?version=5"),
    Case("POST /swagger.json is not allowed", "POST", "/swagger.json"),
]

SCHEMA_CASES = [
    post("keyword arguments come from the JSON body", {"data": [[1, 2, 3], [4, 5, 6]], "scale": 3}),
    post("a missing optional argument takes its default", {"data": [[1, 2, 3]]}),
    post("a missing required argument is a 400", {"scale": 3}),
    post("a body that is not an object is a 400", [1]),
    Case("invalid JSON is a 400 naming the error", "POST", "/score", b"{bad", JSON),
    Case("an empty body is a 400", "POST", "/score", b"", JSON),
    Case("a non-JSON content type is a 415", "POST", "/score", b"{}", {"Content-Type": "text/plain"}),
    Case(
        "a +json content type is JSON",
        "POST",
        "/score",
        b'{"data": [[1, 2, 3]]}',
        {"Content-Type": "application/vnd.x+json"},
    ),
    Case("NaN in the body is accepted", "POST", "/score", b'{"data": [[1, 2, 3]], "scale": NaN}', JSON),
    post("input the schema rejects fails in run()", {"data": "x"}),
    Case("GET /score takes keyword arguments from the query", "GET", "/score?data=[[1,2,3]]&scale=2"),
    Case("swagger 2 carries the inference schemas", "GET", "/swagger.json"),
    Case("swagger 3 carries the inference schemas", "GET", "/swagger.json?version=3"),
    Case("swagger 3.1 carries the inference schemas", "GET", "/swagger.json?version=3.1"),
]

RAW_CASES = [
    post("a raw run() sees the body and answers with its own status and headers", {"x": 1}),
    Case("a raw run() sees query arguments", "GET", "/score?a=1&a=2&b=3"),
    Case("a raw run() decides about OPTIONS itself", "OPTIONS", "/score"),
    Case("PUT is refused before a raw run()", "PUT", "/score"),
    Case("swagger is generated for a raw script", "GET", "/swagger.json"),
]


def test_plain_run_answers_like_azureml(serve_pair: Callable[..., contextlib.AbstractContextManager[Pair]]) -> None:
    with serve_pair(SCRIPTS / "behaviours.py") as pair:
        check_cases(pair, PLAIN_CASES)


def test_inference_schema_run_answers_like_azureml(
    serve_pair: Callable[..., contextlib.AbstractContextManager[Pair]],
) -> None:
    with serve_pair(SCRIPTS / "schema_run.py") as pair:
        check_cases(pair, SCHEMA_CASES)


def test_rawhttp_run_answers_like_azureml(serve_pair: Callable[..., contextlib.AbstractContextManager[Pair]]) -> None:
    with serve_pair(SCRIPTS / "raw_http.py") as pair:
        check_cases(pair, RAW_CASES)


def test_single_argument_run_answers_like_azureml(
    serve_pair: Callable[..., contextlib.AbstractContextManager[Pair]],
) -> None:
    cases = [
        post("run(raw_data) gets the body", {"k": [1, 2]}),
        Case("a GET reaches run(raw_data)", "GET", "/score?k=1"),
    ]
    with serve_pair(SCRIPTS / "plain_run.py") as pair:
        check_cases(pair, cases)


def test_overrunning_run_is_a_timeout_and_the_server_keeps_serving(
    serve_pair: Callable[..., contextlib.AbstractContextManager[Pair]],
) -> None:
    cases = [post("run() past SCORING_TIMEOUT_MS is a 500 timeout", {"op": "sleep", "seconds": 2})]
    after = [post("the next request is served normally", {"after": "timeout"})]
    with serve_pair(SCRIPTS / "behaviours.py", env={"SCORING_TIMEOUT_MS": "500"}) as pair:
        check_cases(pair, cases)
        check_cases(pair, after)


def test_example_model_predicts_the_same(
    serve_pair: Callable[..., contextlib.AbstractContextManager[Pair]], diabetes_model_dir: Path
) -> None:
    rows = [[0.03, 0.05, 0.06, 0.02, -0.04, -0.03, -0.04, -0.002, 0.02, -0.02]] * 3
    cases = [post("the example model predicts", {"data": rows}), post("bad input fails in run()", {"rows": rows})]
    with serve_pair(EXAMPLE / "score.py", model_dir=diabetes_model_dir) as pair:
        check_cases(pair, cases)


def test_concurrent_callers_of_a_batched_script_each_get_upstreams_answer(
    serve_pair: Callable[..., contextlib.AbstractContextManager[Pair]], diabetes_model_dir: Path
) -> None:
    """Upstream ignores run_batch() and calls run() per request; ours groups concurrent requests.

    One predict() over a bigger matrix may round the last bit differently (BLAS blocks by shape), so the
    predictions are compared to 1e-12 relative rather than byte for byte; everything else must be identical.
    """
    cases = [post(f"caller {n} gets its own rows", {"data": [[0.01 * n] * 10] * (n + 1)}) for n in range(24)]
    with serve_pair(EXAMPLE / "score_batch.py", model_dir=diabetes_model_dir) as pair, clients() as client:
        with ThreadPoolExecutor(max_workers=12) as executor:
            ours = list(executor.map(lambda case: case.send(client, pair.ours), cases))
        for case, answer in zip(cases, ours, strict=True):
            theirs = case.send(client, pair.theirs)
            assert answer.json() == pytest.approx(theirs.json(), rel=1e-12), case.name
            same_body = httpx.Response(answer.status_code, headers=answer.headers, content=theirs.content)
            assert_same(case, same_body, theirs)

"""The ASGI app, driven in-process: routes, run() conventions, limits and auth."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from conftest import DIFF_SCRIPTS, SCRIPTS, Client

ECHO = SCRIPTS / "echo_headers.py"


async def test_a_posted_body_reaches_run_and_its_result_is_json(client_for: Callable[..., Client]) -> None:
    answer = await client_for(ECHO).post_json(b'{"a": 1}', **{"User-Agent": "tests"})
    assert answer.status == 200
    assert json.loads(answer.body) == {"data": {"a": 1}, "agent": "tests"}
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-ms-run-function-failed"] == "False"
    assert float(answer.headers["x-ms-run-fn-exec-ms"]) >= 0


async def test_a_body_sent_in_pieces_is_reassembled(client_for: Callable[..., Client]) -> None:
    answer = await client_for(ECHO).post_json(json.dumps({"long": "x" * 50}).encode())
    assert json.loads(answer.body)["data"] == {"long": "x" * 50}


async def test_request_id_is_created_when_absent_and_echoed_when_given(client_for: Callable[..., Client]) -> None:
    client = client_for(ECHO)
    created = await client.post_json(b"{}")
    echoed = await client.post_json(b"{}", **{"x-request-id": "abc"})
    assert len(created.headers["x-request-id"]) == 36
    assert echoed.headers["x-request-id"] == "abc"
    assert echoed.headers["x-ms-request-id"] == "abc"


async def test_a_body_over_the_limit_is_refused_with_413(client_for: Callable[..., Client]) -> None:
    client = client_for(ECHO, max_request_bytes=10)
    declared = await client.post_json(b"x" * 11, **{"Content-Length": "11"})
    streamed = await client.post_json(b"x" * 11)
    assert (declared.status, streamed.status) == (413, 413)
    assert json.loads(streamed.body) == {"message": "The request body exceeds the limit of 10 bytes."}


async def test_unknown_paths_and_methods_are_404_and_405_without_request_ids(client_for: Callable[..., Client]) -> None:
    client = client_for(ECHO)
    missing = await client.request("GET", "/nowhere")
    wrong = await client.request("PUT", "/score")
    assert (missing.status, wrong.status) == (404, 405)
    assert "x-request-id" not in missing.headers
    assert "x-request-id" not in wrong.headers


async def test_keys_are_required_for_score_but_not_for_probes(
    client_for: Callable[..., Client], tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "primaryKey").write_text("first")
    (keys / "secondaryKey").write_text("second\n")
    client = client_for(ECHO, keys_dir=str(keys))
    refused = await client.post_json(b"{}")
    wrong = await client.post_json(b"{}", Authorization="Bearer nope")
    primary = await client.post_json(b"{}", Authorization="Bearer first")
    secondary = await client.post_json(b"{}", Authorization="bearer second")
    probe = await client.request("GET", "/")
    assert (refused.status, wrong.status, primary.status, secondary.status, probe.status) == (401, 401, 200, 200, 200)
    assert refused.headers["www-authenticate"] == "Bearer"


async def test_readiness_turns_503_while_draining(client_for: Callable[..., Client]) -> None:
    client = client_for(ECHO)
    ready = await client.request("GET", "/readiness")
    client.app.draining = True
    draining = await client.request("GET", "/readiness")
    assert (ready.status, draining.status) == (200, 503)


async def test_metrics_count_answers_by_route(client_for: Callable[..., Client]) -> None:
    client = client_for(ECHO)
    await client.post_json(b"{}")
    await client.request("GET", "/nowhere")
    text = (await client.request("GET", "/metrics")).body.decode()
    assert 'mlops_scoring_requests_total{route="score",code="2xx"} 1' in text
    assert 'mlops_scoring_requests_total{route="other",code="4xx"} 1' in text
    assert "mlops_scoring_run_duration_seconds_count 1" in text


async def test_a_schema_script_gets_keyword_arguments(client_for: Callable[..., Client]) -> None:
    client = client_for(DIFF_SCRIPTS / "schema_run.py")
    answer = await client.post_json(b'{"data": [[1, 2, 3]], "scale": 2}')
    missing = await client.post_json(b'{"scale": 2}')
    assert json.loads(answer.body) == {"sums": [12.0]}
    assert json.loads(missing.body) == {"message": "A value is not provided for the 'data' parameter."}


async def test_a_raw_script_gets_the_request_object(client_for: Callable[..., Client]) -> None:
    answer = await client_for(DIFF_SCRIPTS / "raw_http.py").post_json(b'{"x": 1}')
    assert answer.status == 201
    assert json.loads(answer.body) == {"length": 8, "json": {"x": 1}, "mimetype": "application/json"}


async def test_run_that_overruns_the_timeout_is_answered_with_500(client_for: Callable[..., Client]) -> None:
    client = client_for(SCRIPTS / "slow_loop.py", scoring_timeout_ms=50)
    overrun = await client.post_json(b'{"spin": 5}')
    after = await client.post_json(b'{"spin": 0}')
    assert overrun.status == 500
    assert json.loads(overrun.body) == {"message": "Scoring timeout after 50 ms"}
    assert overrun.headers["x-ms-run-function-failed"] == "True"
    assert after.status == 200

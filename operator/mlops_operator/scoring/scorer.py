"""POST/GET /score: decode the input as upstream does, call run() (or run_batch()) off the loop, answer.

The calling convention was settled when the script was loaded (see `loader.InputKind`), so a request
costs one body read, one decode, one hand-off to the run pool and one `json.dumps`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson

from .aml_request import FORM_MIMETYPES, AMLRequest, is_json_mimetype, mimetype_of
from .aml_response import AMLResponse
from .batching import Batcher
from .datastructures import Headers
from .loader import InputKind, ScoreScript, schema_arguments
from .metrics import Recorder
from .pool import RunPool, ScoringTimeoutError
from .responses import (
    HTML_TYPE,
    INTERNAL_ERROR,
    RUN_ERROR,
    RUN_FAILED,
    RUN_FAILED_NAME,
    RUN_OK,
    SCORE_METHOD_NOT_ALLOWED,
    Reply,
    encode_headers,
    error_reply,
    json_reply,
)

logger = logging.getLogger("mlops.scoring")

Arguments = dict[str, Any]
Executed = tuple[Reply | Exception, float]  # the reply (or why there is none) and run()'s milliseconds
ASGIReceive = Callable[[], Any]


class RunFailedError(Exception):
    """run() or run_batch() raised (or broke the run_batch contract); already logged with its traceback."""


class OutputNotSerialisableError(Exception):
    """run() returned something json.dumps cannot encode: upstream's generic 500, not a run failure."""


class BodyTooLargeError(Exception):
    """The request body exceeds the configured limit."""


def render_output(output: Any) -> Reply:
    """A raw response object (AMLResponse, or a Flask/Werkzeug one) as-is; anything else as JSON."""
    if isinstance(output, AMLResponse) or (
        hasattr(output, "status_code") and hasattr(output, "headers") and hasattr(output, "get_data")
    ):
        headers = encode_headers(output.headers)
        status = int(output.status_code)
        if status >= 500:
            position = next((i for i, (name, _) in enumerate(headers) if name == RUN_FAILED_NAME), None)
            if position is None:
                headers.append(RUN_FAILED)
            else:
                headers[position] = RUN_FAILED
        return Reply(status, headers, bytes(output.get_data()))
    try:
        return json_reply(output)
    except (TypeError, ValueError, RecursionError) as ex:
        logger.error("run() returned a value that cannot be encoded as JSON", exc_info=True)
        raise OutputNotSerialisableError(str(ex)) from ex


def werkzeug_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """request_headers as upstream passes them: Title-Case names, repeats joined by commas, none with '_'."""
    result: dict[str, str] = {}
    for name, value in raw:
        if b"_" in name:  # gunicorn drops these (header smuggling guard), so run() never saw them
            continue
        key = name.decode("latin-1").title()
        text = value.decode("latin-1")
        result[key] = f"{result[key]},{text}" if key in result else text
    return result


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def query_parameters(query_string: bytes) -> dict[str, Any]:
    """GET /score input: each query value parsed as JSON when it is JSON; repeated names become lists."""
    grouped: dict[str, list[str]] = {}
    for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        grouped.setdefault(key, []).append(value)
    return {
        key: _json_or_text(values[0]) if len(values) == 1 else [_json_or_text(value) for value in values]
        for key, values in grouped.items()
    }


def parse_json_body(body: bytes) -> Any:
    """orjson for speed; the standard library when orjson refuses (NaN, huge ints) or for its error text."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)
    except json.JSONDecodeError as ex:
        if body:
            raise ValueError(f"POST body could not be decoded as JSON: {ex}") from None
        raise ValueError("POST body is empty. Expecting a JSON dictionary.") from None


async def read_body(receive: ASGIReceive, declared: bytes | None, limit: int) -> bytes:
    """The whole request body; BodyTooLargeError as soon as it (or its Content-Length) exceeds `limit`."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body
    parts, size = [body], len(body)
    while message.get("more_body", False):
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError
        parts.append(chunk)
    return b"".join(parts)


class Scorer:
    """Answers /score for one loaded script."""

    def __init__(self, script: ScoreScript, pool: RunPool, recorder: Recorder, batch: tuple[int, float] | None):
        self._script = script
        self._pool = pool
        self._recorder = recorder
        self._kind = script.kind
        self._param = script.param_name
        self._run = script.run
        self._batcher: Batcher | None = None
        if batch is not None and script.run_batch is not None:
            self._batcher = Batcher(
                pool, self._call_batch, max_size=batch[0], max_wait_ms=batch[1], on_batch=self._batch_done
            )

    @property
    def batching(self) -> bool:
        return self._batcher is not None

    async def score(
        self, scope: dict[str, Any], receive: ASGIReceive, headers: dict[bytes, bytes], limit: int
    ) -> Reply:
        """Decode, run, render; every failure becomes upstream's status and message."""
        try:
            arguments = await self._arguments(scope, receive, headers, limit)
        except BodyTooLargeError:
            return error_reply(413, f"The request body exceeds the limit of {limit} bytes.")
        if isinstance(arguments, Reply):
            return arguments
        batched = False
        reply: Reply | Exception
        elapsed_ms: float
        waiting = time.perf_counter()
        try:
            if self._batcher is not None:
                item = arguments[self._param] if self._kind is InputKind.STRING else arguments
                reply, elapsed_ms = await self._batcher.submit(item)
                batched = True
            else:
                request_headers = werkzeug_headers(scope["headers"]) if self._script.wants_headers else None
                reply, elapsed_ms = await self._pool.call(lambda: self._call(arguments, request_headers))
        except ScoringTimeoutError as ex:
            self._recorder.timeout()
            return error_reply(500, str(ex), run_failed=True)
        except RunFailedError:
            return error_reply(500, RUN_ERROR, run_failed=True)
        # Queue wait: the time this request spent not running (waiting for a thread, or for its batch to fill).
        self._recorder.queue(max(0.0, time.perf_counter() - waiting - elapsed_ms / 1000))
        if not batched:
            self._recorder.run(elapsed_ms / 1000)
        if isinstance(reply, Exception):
            return error_reply(500, INTERNAL_ERROR)
        reply.headers.append((b"x-ms-run-fn-exec-ms", f"{elapsed_ms:.3f}".encode()))
        return reply

    async def _arguments(
        self, scope: dict[str, Any], receive: ASGIReceive, headers: dict[bytes, bytes], limit: int
    ) -> Arguments | Reply:
        method = scope["method"]
        if self._kind is InputKind.RAW:
            body = await read_body(receive, headers.get(b"content-length"), limit)
            request_headers = Headers(werkzeug_headers(scope["headers"]).items())
            client = scope.get("client")
            request = AMLRequest(
                method, scope["path"], scope["query_string"], request_headers, body,
                scheme=scope.get("scheme", "http"), remote_addr=client[0] if client else None,
            )  # fmt: skip
            return {self._param: request}
        if method == "POST":
            body = await read_body(receive, headers.get(b"content-length"), limit)
            return self._post_arguments(body, headers.get(b"content-type"))
        if method == "GET":
            parameters = query_parameters(scope["query_string"])
            if self._kind is InputKind.STRING:
                return {self._param: json.dumps(parameters)}
            return self._schema_arguments(parameters)
        if method == "OPTIONS":
            return Reply(200, [HTML_TYPE, RUN_OK], b"")
        return error_reply(405, SCORE_METHOD_NOT_ALLOWED)

    def _post_arguments(self, body: bytes, content_type: bytes | None) -> Arguments | Reply:
        mimetype = mimetype_of(content_type.decode("latin-1")) if content_type else ""
        if self._kind is InputKind.STRING:
            return self._string_argument(body, mimetype)
        if not is_json_mimetype(mimetype):
            return error_reply(415, "Expects Content-Type to be application/json")
        try:
            parsed = parse_json_body(body)
        except UnicodeDecodeError:
            raise
        except ValueError as ex:
            return error_reply(400, str(ex))
        if not isinstance(parsed, dict):
            return error_reply(400, "POST body should be a JSON dictionary.")
        return self._schema_arguments(parsed)

    def _string_argument(self, body: bytes, mimetype: str) -> Arguments | Reply:
        if mimetype in FORM_MIMETYPES:  # Werkzeug consumed it as a form: upstream's run() gets ""
            return {self._param: ""}
        try:
            return {self._param: body.decode("utf-8")}
        except UnicodeDecodeError as ex:
            return error_reply(400, f"Input cannot be decoded as UTF-8: {ex}")

    def _schema_arguments(self, body: dict[str, Any]) -> Arguments | Reply:
        try:
            return schema_arguments(self._script, body)
        except KeyError as ex:
            return error_reply(400, f"A value is not provided for the {ex.args[0]!r} parameter.")

    def _call(self, arguments: Arguments, request_headers: dict[str, str] | None) -> Executed:
        """In a pool thread: run() timed as upstream times it (run only, not the encoding)."""
        started = time.perf_counter()
        try:
            if request_headers is None:
                output = self._run(**arguments)
            else:
                output = self._run(**arguments, request_headers=request_headers)
        except Exception as ex:
            logger.error("run() raised", exc_info=True)
            raise RunFailedError from ex
        elapsed_ms = (time.perf_counter() - started) * 1000
        try:
            return render_output(output), elapsed_ms
        except OutputNotSerialisableError as ex:
            return ex, elapsed_ms

    def _call_batch(self, inputs: list[Any]) -> list[Executed]:
        """In a pool thread: one run_batch() for many callers; each output rendered on its own."""
        assert self._script.run_batch is not None
        started = time.perf_counter()
        try:
            outputs = list(self._script.run_batch(inputs))
        except Exception as ex:
            logger.error("run_batch() raised", exc_info=True)
            raise RunFailedError from ex
        elapsed_ms = (time.perf_counter() - started) * 1000
        if len(outputs) != len(inputs):
            logger.error("run_batch() returned %d outputs for %d inputs", len(outputs), len(inputs))
            raise RunFailedError
        results: list[Executed] = []
        for output in outputs:
            try:
                results.append((render_output(output), elapsed_ms))
            except OutputNotSerialisableError as ex:
                results.append((ex, elapsed_ms))
        return results

    def _batch_done(self, results: list[Executed]) -> None:
        """On the loop, once per batch: metrics have a single writer per worker."""
        self._recorder.batch(len(results))
        self._recorder.run(results[0][1] / 1000)

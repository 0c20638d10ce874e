"""HTTP replies and the request-id headers, exactly as azureml-inference-server-http produces them.

Bodies are serialised with the standard library's `json.dumps` on purpose: clients (and the differential
tests) see byte-identical JSON to upstream's (`{"a": 1}` with its spaces, `NaN`, `1e+16`), which orjson's
compact, NaN-less output would not give. Its C encoder costs microseconds for typical predictions.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterable
from typing import NamedTuple

Header = tuple[bytes, bytes]

HEADER_LIMIT = 100
CONTENT_TYPE = b"content-type"
JSON_TYPE: Header = (CONTENT_TYPE, b"application/json")
HTML_TYPE: Header = (CONTENT_TYPE, b"text/html; charset=utf-8")
TEXT_TYPE: Header = (CONTENT_TYPE, b"text/plain; version=0.0.4; charset=utf-8")
RUN_OK: Header = (b"x-ms-run-function-failed", b"False")
RUN_FAILED: Header = (b"x-ms-run-function-failed", b"True")
RUN_FAILED_NAME = b"x-ms-run-function-failed"

# Messages upstream answers with; clients match on them.
NOT_FOUND = (
    "The requested URL was not found on the server. If you entered the URL manually please check your "
    "spelling and try again."
)
METHOD_NOT_ALLOWED = "The method is not allowed for the requested URL."
SCORE_METHOD_NOT_ALLOWED = "Method not allowed"
RUN_ERROR = "An unexpected error occurred in scoring script. Check the logs for more info."
INTERNAL_ERROR = "An unexpected internal error occurred. Check the logs for more info."


class Reply(NamedTuple):
    """Status, headers and complete body of a response."""

    status: int
    headers: list[Header]
    body: bytes


def error_reply(status: int, message: str, run_failed: bool = False) -> Reply:
    """Upstream's `ErrorResponse`: `{"message": ...}` as JSON plus the run-function-failed flag."""
    body = json.dumps({"message": message}).encode("utf-8")
    return Reply(status, [JSON_TYPE, RUN_FAILED if run_failed else RUN_OK], body)


def json_reply(output: object) -> Reply:
    """Upstream's wrapping of a plain run() result; `None` becomes `{}`. Raises if not serialisable."""
    body = b"{}" if output is None else json.dumps(output).encode("utf-8")
    return Reply(200, [JSON_TYPE, RUN_OK], body)


def encode_header(name: str, value: object) -> Header:
    text = str(value)
    try:
        return name.lower().encode("latin-1"), text.encode("latin-1")
    except UnicodeEncodeError:
        return name.lower().encode("utf-8"), text.encode("utf-8")


def encode_headers(headers: Iterable[tuple[str, object]]) -> list[Header]:
    return [encode_header(name, value) for name, value in headers]


def new_request_id() -> str:
    """A random version-4 UUID; request ids need uniqueness, not the cost of a getrandom() call each."""
    return str(uuid.UUID(int=random.getrandbits(128), version=4))


def _latin1(value: bytes | None) -> str:
    return "" if value is None else value.decode("latin-1")


def request_id_headers(headers: dict[bytes, bytes], server_version: bytes) -> tuple[list[Header], Reply | None]:
    """The response headers upstream adds to its own routes, or the 431 it answers with instead.

    x-request-id is echoed or created; x-ms-client-request-id is echoed; the deprecated x-ms-request-id
    falls back to the client request id, then to the request id. Over-long ids are refused.
    """
    extra: list[Header] = [(b"x-ms-server-version", server_version)] if server_version else []
    trace_id = headers.get(b"traceid")
    trace: list[Header] = [] if trace_id is None else [(b"traceid", trace_id)]
    given = headers.get(b"x-request-id")
    request_id = new_request_id() if given is None else given.decode("latin-1")
    if len(request_id) > HEADER_LIMIT:
        return extra + trace, error_reply(431, f"x-request-id must not exceed {HEADER_LIMIT} characters")
    if request_id:
        extra.append((b"x-request-id", request_id.encode("latin-1")))
    legacy = _latin1(headers.get(b"x-ms-request-id"))
    client = _latin1(headers.get(b"x-ms-client-request-id"))
    if legacy:
        client = client or legacy
    else:
        legacy = client or request_id
    if len(legacy) > HEADER_LIMIT or len(client) > HEADER_LIMIT:
        message = f"x-ms-request-id and x-ms-client-request-id must not exceed {HEADER_LIMIT} characters"
        return extra + trace, error_reply(431, message)
    if legacy:
        extra.append((b"x-ms-request-id", legacy.encode("latin-1")))
    if client:
        extra.append((b"x-ms-client-request-id", client.encode("latin-1")))
    return extra + trace, None

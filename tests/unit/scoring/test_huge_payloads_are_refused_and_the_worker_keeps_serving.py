"""The `scoring` cases of the bad input corpus: oversized or pathological bodies get their status, and the
same app answers the next ordinary request."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from bad_input import Case, load_cases
from conftest import SCRIPTS, Answer, Client

ECHO = SCRIPTS / "echo_headers.py"
CASES = load_cases("scoring")
CHUNK = 64 * 1024


def body_of(request: dict[str, Any]) -> bytes:
    if "nestedDepth" in request:
        return b"[" * request["nestedDepth"] + b"]" * request["nestedDepth"]
    if "digits" in request:
        return b"1" * request["digits"]
    return b"x" * request["bodyBytes"]


async def post(client: Client, body: bytes, declared: int | None) -> Answer:
    """POST /score in 64 KiB pieces (the conftest client's 4-byte pieces are too slow for megabytes)."""
    headers = [(b"content-type", b"application/json")]
    if declared is not None:
        headers.append((b"content-length", str(declared).encode()))
    scope = {
        "type": "http", "method": "POST", "path": "/score", "query_string": b"",
        "headers": headers, "scheme": "http", "client": ("127.0.0.1", 1234),
    }  # fmt: skip
    pieces = [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)] or [b""]
    messages = [{"type": "http.request", "body": p, "more_body": i < len(pieces) - 1} for i, p in enumerate(pieces)]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await client.app(scope, receive, send)
    start, content = sent[0], sent[1]
    return Answer(start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, content["body"])


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_a_pathological_body_gets_its_status_and_the_next_request_is_served(
    client_for: Callable[..., Client], case: Case
) -> None:
    request = case.request
    limit = {"max_request_bytes": request["limitBytes"]} if "limitBytes" in request else {}
    client = client_for(ECHO, **limit)

    answer = await post(client, body_of(request), request.get("declaredBytes"))
    after = await client.post_json(b'{"a": 1}')

    assert answer.status == case.refused["status"], answer.body[:200]
    assert "message" in json.loads(answer.body)
    assert (after.status, json.loads(after.body)["data"]) == (200, {"a": 1})

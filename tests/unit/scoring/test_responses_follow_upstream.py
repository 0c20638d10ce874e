"""Replies and request-id headers are built exactly as azureml-inference-server-http builds them."""

from __future__ import annotations

from mlops_operator.scoring.responses import error_reply, json_reply, request_id_headers

LONG = b"x" * 101


def test_errors_are_a_json_message_with_the_run_failed_flag() -> None:
    reply = error_reply(500, "boom", run_failed=True)
    assert reply.body == b'{"message": "boom"}'
    assert (b"x-ms-run-function-failed", b"True") in reply.headers


def test_results_are_encoded_like_json_dumps_and_none_is_an_empty_object() -> None:
    assert json_reply({"a": [1, 2.5]}).body == b'{"a": [1, 2.5]}'
    assert json_reply(float("nan")).body == b"NaN"
    assert json_reply(None).body == b"{}"


def test_a_given_request_id_is_echoed_and_backs_the_legacy_id() -> None:
    headers, refused = request_id_headers({b"x-request-id": b"r1"}, b"")
    assert refused is None
    assert headers == [(b"x-request-id", b"r1"), (b"x-ms-request-id", b"r1")]


def test_the_client_request_id_wins_over_the_request_id_for_the_legacy_header() -> None:
    headers, _ = request_id_headers({b"x-request-id": b"r1", b"x-ms-client-request-id": b"c1"}, b"v")
    assert headers == [
        (b"x-ms-server-version", b"v"),
        (b"x-request-id", b"r1"),
        (b"x-ms-request-id", b"c1"),
        (b"x-ms-client-request-id", b"c1"),
    ]


def test_a_legacy_request_id_becomes_the_client_request_id() -> None:
    headers, _ = request_id_headers({b"x-ms-request-id": b"old"}, b"")
    assert (b"x-ms-client-request-id", b"old") in headers
    assert (b"x-ms-request-id", b"old") in headers


def test_an_over_long_request_id_is_refused_without_echoing_it() -> None:
    headers, refused = request_id_headers({b"x-request-id": LONG, b"traceid": b"t"}, b"")
    assert refused is not None
    assert refused.status == 431
    assert refused.body == b'{"message": "x-request-id must not exceed 100 characters"}'
    assert headers == [(b"traceid", b"t")]


def test_an_over_long_client_request_id_is_refused_but_the_request_id_is_kept() -> None:
    headers, refused = request_id_headers({b"x-request-id": b"r", b"x-ms-client-request-id": LONG}, b"")
    assert refused is not None
    assert refused.status == 431
    assert headers == [(b"x-request-id", b"r")]


def test_a_created_request_id_is_a_uuid4() -> None:
    headers, _ = request_id_headers({}, b"")
    value = dict(headers)[b"x-request-id"].decode()
    assert len(value) == 36
    assert value[14] == "4"

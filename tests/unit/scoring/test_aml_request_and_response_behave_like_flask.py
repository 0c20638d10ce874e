"""AMLResponse and AMLRequest give score scripts the Flask behaviour they were written against."""

from __future__ import annotations

import pytest

from mlops_operator.scoring.aml_request import AMLRequest, JSONRequestError
from mlops_operator.scoring.aml_response import AMLResponse
from mlops_operator.scoring.datastructures import Headers


def test_a_json_response_is_encoded_with_json_dumps() -> None:
    response = AMLResponse({"a": 1}, 201, json_str=True)
    assert (response.status_code, response.data) == (201, b'{"a": 1}')
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["x-ms-run-function-failed"] == "False"


def test_a_text_response_defaults_to_html_unless_the_script_names_a_type() -> None:
    assert AMLResponse("hi", 200).headers["Content-Type"] == "text/html; charset=utf-8"
    typed = AMLResponse(b"\x89PNG", 200, {"Content-Type": "image/png"})
    assert typed.headers.getlist("Content-Type") == ["image/png"]
    assert typed.data == b"\x89PNG"


def test_comma_separated_header_values_become_repeated_headers() -> None:
    response = AMLResponse("x", 200, {"X-A": "1, 2"})
    assert response.headers.getlist("x-a") == ["1", "2"]


def test_a_response_without_a_message_is_an_empty_json_object() -> None:
    assert AMLResponse(None, 204).data == b"{}"


def make_request(body: bytes, content_type: str, query: bytes = b"a=1&a=2&b=") -> AMLRequest:
    headers = Headers([("Content-Type", content_type), ("Host", "example")])
    return AMLRequest("POST", "/score", query, headers, body)


def test_the_request_exposes_args_headers_and_json() -> None:
    request = make_request(b'{"k": 1}', "application/json; charset=utf-8")
    assert request.args.getlist("a") == ["1", "2"]
    assert request.args.to_dict() == {"a": "1", "b": ""}
    assert request.headers["content-type"].startswith("application/json")
    assert (request.is_json, request.json, request.get_data()) == (True, {"k": 1}, b'{"k": 1}')
    assert request.url == "http://example/score?a=1&a=2&b="


def test_json_of_a_non_json_request_raises_unless_silent() -> None:
    request = make_request(b"plain", "text/plain")
    assert request.get_json(silent=True) is None
    with pytest.raises(JSONRequestError):
        request.get_json()


def test_a_form_body_is_parsed_as_a_form_and_not_visible_as_data() -> None:
    request = make_request(b"x=1&y=2", "application/x-www-form-urlencoded")
    assert request.form.to_dict() == {"x": "1", "y": "2"}
    assert request.data == b""

"""`AMLResponse`: the raw response a score.py may return from run(), without Flask.

Score scripts import it as `azureml.contrib.services.aml_response.AMLResponse` (or from
`azureml_inference_server_http.api.aml_response`); the loader aliases those module names to this module.
The constructor reproduces the upstream rules exactly, because they decide the bytes on the wire:
JSON-encode with `json.dumps` when `json_str`, `{}` for a `None` message, text/html by default, a
`Content-Type` given in `response_headers` replaces the default, and comma-separated header values are
split into repeated headers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from .datastructures import Headers

__all__ = ["AMLResponse"]

DEFAULT_MIMETYPE = "text/html; charset=utf-8"
JSON_MIMETYPE = "application/json"


def _to_bytes(message: Any) -> bytes:
    """Encode a non-JSON message the way Werkzeug's Response does (str, bytes or an iterable of them)."""
    if isinstance(message, bytes | bytearray | memoryview):
        return bytes(message)
    if isinstance(message, str):
        return message.encode("utf-8")
    if isinstance(message, Iterable):
        return b"".join(_to_bytes(part) for part in message)
    raise TypeError(f"AMLResponse message must be str, bytes or an iterable of them, not {type(message)!r}")


class AMLResponse:
    """A complete HTTP response chosen by the score script; returned to the caller as-is."""

    def __init__(
        self,
        message: Any,
        status_code: int,
        response_headers: Mapping[str, str] | None = None,
        json_str: bool = False,
        run_function_failed: bool = False,
    ) -> None:
        response_headers = response_headers or {}
        self.status_code = int(status_code)
        self.headers = Headers()
        if message is None:
            self._body = b"{}"
            self.headers["Content-Type"] = JSON_MIMETYPE
        elif json_str:
            self._body = json.dumps(message).encode("utf-8")
            self.headers["Content-Type"] = JSON_MIMETYPE
        else:
            self._body = _to_bytes(message)
            if "Content-Type" not in response_headers:
                self.headers["Content-Type"] = DEFAULT_MIMETYPE
        self.headers["x-ms-run-function-failed"] = run_function_failed
        for header, value in response_headers.items():
            for part in value.split(","):
                self.headers.add(header, part.strip())

    @property
    def data(self) -> bytes:
        return self._body

    def get_data(self, as_text: bool = False) -> bytes | str:
        return self._body.decode("utf-8") if as_text else self._body

    def set_data(self, value: str | bytes) -> None:
        self._body = value.encode("utf-8") if isinstance(value, str) else bytes(value)

    @property
    def mimetype(self) -> str | None:
        content_type = self.headers.get("Content-Type")
        return content_type.split(";", 1)[0].strip().lower() if content_type else None

    @property
    def status(self) -> str:
        return str(self.status_code)

    def __repr__(self) -> str:
        return f"<AMLResponse {self.status_code} {len(self._body)} bytes>"

"""`AMLRequest` and `@rawhttp`: raw HTTP access for score scripts, without Flask.

Scripts import these as `azureml.contrib.services.aml_request` (the loader aliases that name to this
module). Upstream hands `@rawhttp` scripts a Flask request; this class offers the part of that API such
scripts use: method, path, args, headers, data/get_data, get_json/json, is_json, mimetype, form (URL-encoded
only) and files (always empty: multipart upload parsing is not supported).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from .datastructures import Headers, MultiDict

__all__ = ["AMLRequest", "rawhttp"]

F = TypeVar("F", bound=Callable[..., Any])

FORM_MIMETYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})

# Upstream records @rawhttp in a module global rather than on the function; scripts (and driver modules)
# rely on that, so the loader reads this flag after importing the script.
_rawHttpRequested = False  # noqa: N816 - the upstream name


def rawhttp(func: F) -> F:
    """Ask the server to call run() with the request object instead of the decoded body."""
    global _rawHttpRequested  # noqa: PLW0603 - upstream contract is a module-level flag
    _rawHttpRequested = True
    return func


def reset_rawhttp() -> None:
    """Forget an earlier @rawhttp, so loading a second script in one process starts clean (tests)."""
    global _rawHttpRequested  # noqa: PLW0603
    _rawHttpRequested = False


def is_rawhttp_requested() -> bool:
    return _rawHttpRequested


def mimetype_of(content_type: str | None) -> str:
    """The lower-cased media type without parameters, as Werkzeug's `Request.mimetype`."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def is_json_mimetype(mimetype: str) -> bool:
    return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))


class JSONRequestError(ValueError):
    """The body is not JSON (or not declared as JSON) and the caller did not ask for silence."""


class AMLRequest:
    """The incoming request as seen by a `@rawhttp` run()."""

    def __init__(
        self,
        method: str,
        path: str,
        query_string: bytes,
        headers: Headers,
        body: bytes,
        scheme: str = "http",
        remote_addr: str | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.query_string = query_string
        self.headers = headers
        self.scheme = scheme
        self.remote_addr = remote_addr
        self._body = body
        self._args: MultiDict | None = None

    @property
    def args(self) -> MultiDict:
        if self._args is None:
            self._args = MultiDict(parse_qsl(self.query_string.decode("latin-1"), keep_blank_values=True))
        return self._args

    @property
    def full_path(self) -> str:
        return f"{self.path}?{self.query_string.decode('latin-1')}"

    @property
    def host(self) -> str:
        return self.headers.get("Host", "")

    @property
    def url(self) -> str:
        query = f"?{self.query_string.decode('latin-1')}" if self.query_string else ""
        return f"{self.scheme}://{self.host}{self.path}{query}"

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("Content-Length")
        return int(value) if value and value.isdigit() else None

    @property
    def mimetype(self) -> str:
        return mimetype_of(self.content_type)

    @property
    def is_json(self) -> bool:
        return is_json_mimetype(self.mimetype)

    def get_data(self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False) -> Any:
        """The raw body; like Werkzeug, form bodies read as empty once parsed as a form."""
        body = b"" if parse_form_data and self.mimetype in FORM_MIMETYPES else self._body
        return body.decode("utf-8", "replace") if as_text else body

    @property
    def data(self) -> bytes:
        return b"" if self.mimetype in FORM_MIMETYPES else self._body

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        if not (force or self.is_json):
            if silent:
                return None
            raise JSONRequestError(
                "Did not attempt to load JSON data because the request Content-Type was not 'application/json'."
            )
        try:
            return json.loads(self._body)
        except ValueError:
            if silent:
                return None
            raise

    @property
    def json(self) -> Any:
        return self.get_json()

    @property
    def form(self) -> MultiDict:
        if self.mimetype != "application/x-www-form-urlencoded":
            return MultiDict()
        return MultiDict(parse_qsl(self._body.decode("utf-8", "replace"), keep_blank_values=True))

    @property
    def files(self) -> MultiDict:
        return MultiDict()

    @property
    def values(self) -> MultiDict:
        return MultiDict([*self.args.items(multi=True), *self.form.items(multi=True)])

    def __repr__(self) -> str:
        return f"<AMLRequest {self.method} {self.path}>"

"""Request/response types and a tiny router keyed on method plus a path template.

Templates use ``{name}`` placeholders (one path segment each) and match case-insensitively, like ARM.
Every route names the resource type it serves; that name is what call counting uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import ArmError

if TYPE_CHECKING:
    from .app import FakeArmApp

_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview|-beta|-alpha|-privatepreview)?$")


@dataclass
class Request:
    """A parsed request; ``params`` is filled from the matched template."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    base_url: str
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)

    @property
    def api_version(self) -> str | None:
        return self.query.get("api-version")

    @property
    def resource_id(self) -> str:
        return self.path.rstrip("/")


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[["FakeArmApp", Request], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    resource_type: str
    needs_api_version: bool = True


def compile_template(template: str) -> re.Pattern[str]:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return re.compile(f"^{regex}/?$", re.IGNORECASE)


class Router:
    """Ordered routes; the first match wins."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(
        self,
        method: str,
        template: str,
        handler: Handler,
        resource_type: str,
        *,
        needs_api_version: bool = True,
    ) -> None:
        self.routes.append(Route(method.upper(), compile_template(template), handler, resource_type, needs_api_version))

    def resource_type_of(self, method: str, path: str) -> str:
        route = self._find(method, path)
        return route[0].resource_type if route else "unknown"

    def dispatch(self, app: FakeArmApp, request: Request) -> Response:
        found = self._find(request.method, request.path)
        if found is None:
            raise ArmError(
                404,
                "NoRegisteredProviderFound" if "/providers/" in request.path else "NotFound",
                f"The fake ARM server has no route for {request.method} {request.path}.",
            )
        route, params = found
        if route.needs_api_version:
            _check_api_version(request.api_version)
        request.params = params
        return route.handler(app, request)

    def _find(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if route.method != method.upper():
                continue
            match = route.pattern.match(path)
            if match:
                return route, match.groupdict()
        return None


def _check_api_version(version: str | None) -> None:
    if not version:
        raise ArmError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    if not _API_VERSION.match(version):
        raise ArmError(400, "InvalidApiVersionParameter", f"The api-version '{version}' is invalid.")

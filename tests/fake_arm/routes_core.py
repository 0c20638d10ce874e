"""Subscription-level plumbing: resource groups, operation status/result documents, provider registration."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import ArmError, bad_request
from .lro import lro_headers
from .resources import Kind, resource_routes
from .routing import Request, Response, Router
from .state import StoredResource

if TYPE_CHECKING:
    from .app import FakeArmApp, Settings

_STATUS_SEGMENTS = ("mfeOperationsStatus", "operationStatuses", "operations")
_RESULT_SEGMENTS = ("mfeOperationResults", "operationResults")


def _check_group(app: FakeArmApp, req: Request, body: dict[str, Any], existing: object) -> None:
    if not isinstance(body, dict) or not isinstance(body.get("location"), str):
        raise bad_request(
            "InvalidRequestContent",
            "The request content was invalid: 'location' is required.",
            target="location",
        )


def _shape_group(app: FakeArmApp, req: Request, stored: StoredResource, existing: StoredResource | None) -> None:
    body = stored.body
    body.pop("systemData", None)


RESOURCE_GROUP = Kind(
    "resourceGroups",
    "Microsoft.Resources/resourceGroups",
    "Microsoft.Resources",
    put_lro=False,
    check=_check_group,
    shape=_shape_group,
)


def operation_status(app: FakeArmApp, req: Request) -> Response:
    op = app.ops.observe(req.params["op"])
    if op is None:
        raise ArmError(404, "OperationNotFound", f"Operation '{req.params['op']}' was not found.")
    return Response(200, op.status_document())


def operation_result(app: FakeArmApp, req: Request) -> Response:
    """Location polling: 202 while running, then the result (204 when there is none) or the error."""
    op = app.ops.observe(req.params["op"])
    if op is None:
        raise ArmError(404, "OperationNotFound", f"Operation '{req.params['op']}' was not found.")
    if not op.done:
        return Response(
            202,
            None,
            lro_headers(req.base_url, op, location=True, async_op=False, api_version=req.api_version),
        )
    if op.failure is not None:
        raise ArmError(op.failure.http_status, op.failure.code, op.failure.message)
    return Response(200, op.result) if op.result is not None else Response(204)


def register_provider(app: FakeArmApp, req: Request) -> Response:
    namespace = req.params["ns"]
    return Response(
        200,
        {"id": req.resource_id.rsplit("/", 1)[0], "namespace": namespace, "registrationState": "Registered"},
    )


def register(router: Router, settings: Settings) -> None:
    base = "/subscriptions/{sub}/providers/{ns}/locations/{loc}"
    for segment in _STATUS_SEGMENTS:
        router.add("GET", f"{base}/{segment}/{{op}}", operation_status, "operationStatus")
    for segment in _RESULT_SEGMENTS:
        router.add("GET", f"{base}/{segment}/{{op}}", operation_result, "operationResult")
    router.add("POST", "/subscriptions/{sub}/providers/{ns}/register", register_provider, "providers")
    resource_routes(router, "/subscriptions/{sub}/resourcegroups/{rg}", RESOURCE_GROUP)

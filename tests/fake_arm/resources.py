"""The generic ARM resource lifecycle shared by every resource family.

A :class:`Kind` describes one resource type: its ARM type string, how bodies are validated, whether
PUT/DELETE are long-running, and hooks for provider-specific checks (``check``), server-filled fields
(``shape``) and rendering (``render``). The handlers below implement GET, list, PUT, PATCH and DELETE
with ARM's status codes and LRO headers on top of the store and the operation registry.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ArmError, conflict, not_found, parent_not_found, resource_group_not_found
from .lro import Operation, lro_headers
from .routing import Request, Response
from .state import StoredResource
from .validation import Issue, raise_for_issues

if TYPE_CHECKING:
    from .app import FakeArmApp

Check = Callable[["FakeArmApp", Request, dict[str, Any], StoredResource | None], None]
Shape = Callable[["FakeArmApp", Request, StoredResource, StoredResource | None], None]


@dataclass(frozen=True)
class Kind:
    """One ARM resource type and its provider-specific behaviour."""

    name: str
    arm_type: str
    namespace: str
    validate: Callable[[Any], list[Issue]] | None = None
    validate_patch: Callable[[Any], list[Issue]] | None = None
    put_lro: bool = True
    delete_lro: bool = True
    status_segment: str = "operationStatuses"
    result_segment: str = "operationResults"
    ops_under_resource: bool = False
    check: Check | None = None
    check_delete: Callable[[FakeArmApp, Request, StoredResource], None] | None = None
    shape: Shape | None = None
    render: Callable[[FakeArmApp, StoredResource], dict[str, Any]] | None = None
    on_deleted: Callable[[FakeArmApp, StoredResource], None] | None = None
    on_settled: Callable[[FakeArmApp, StoredResource, Operation], None] | None = None
    busy_code: str = "Conflict"


def system_data(existing: StoredResource | None, stamp: str) -> dict[str, Any]:
    created = (existing.body.get("systemData") or {}) if existing else {}
    return {
        "createdAt": created.get("createdAt", stamp),
        "createdBy": "fake-arm@example.com",
        "createdByType": "User",
        "lastModifiedAt": stamp,
        "lastModifiedBy": "fake-arm@example.com",
        "lastModifiedByType": "User",
    }


def parent_id(resource_id: str) -> str:
    """The id of the enclosing resource, skipping a ``/providers/<namespace>`` hop (as for extensions)."""
    return strip_provider(resource_id.rstrip("/").rsplit("/", 2)[0])


def strip_provider(path: str) -> str:
    parts = path.split("/")
    if len(parts) >= 2 and parts[-2].lower() == "providers":
        return "/".join(parts[:-2])
    return path


def ensure_parent(app: FakeArmApp, resource_id: str) -> None:
    """404 when the resource group or the parent resource does not exist (ARM checks both)."""
    parts = resource_id.split("/")
    if len(parts) > 5 and parts[3].lower() == "resourcegroups":
        rg_id = "/".join(parts[:5])
        if app.store.get(rg_id) is None:
            raise resource_group_not_found(parts[4])
    parent = parent_id(resource_id)
    if parent.count("/") > 4 and app.store.get(parent) is None:
        raise parent_not_found(parent)


def view(app: FakeArmApp, kind: Kind, stored: StoredResource) -> dict[str, Any]:
    body = kind.render(app, stored) if kind.render else stored.body
    return copy.deepcopy(body)


def get_resource(app: FakeArmApp, req: Request, kind: Kind) -> Response:
    app.ops.observe_resource(req.resource_id)
    stored = app.store.get(req.resource_id)
    if stored is None:
        raise not_found(req.resource_id)
    return Response(200, view(app, kind, stored))


def list_resources(app: FakeArmApp, req: Request, kind: Kind) -> Response:
    parent = strip_provider(req.resource_id.rsplit("/", 1)[0])
    if parent.count("/") > 4 and app.store.get(parent) is None:
        raise not_found(parent)
    items = [view(app, kind, r) for r in app.store.children(parent, kind.name)]
    return Response(200, {"value": items})


def _refuse_if_busy(app: FakeArmApp, kind: Kind, resource_id: str) -> None:
    running = app.ops.running_on(resource_id)
    if running is not None:
        raise conflict(
            kind.busy_code,
            f"Operation is not allowed because there's an in-progress "
            f"'{running.action}' operation ({running.id}) on '{resource_id}'.",
        )


def put_resource(app: FakeArmApp, req: Request, kind: Kind) -> Response:
    rid = req.resource_id
    ensure_parent(app, rid)
    with app.store.lock:
        _refuse_if_busy(app, kind, rid)
        if kind.validate is not None:
            raise_for_issues(kind.validate(req.body))
        existing = app.store.get(rid)
        if kind.check is not None:
            kind.check(app, req, req.body, existing)
        return _store_and_start(app, req, kind, copy.deepcopy(req.body), existing, patch=False)


def patch_resource(app: FakeArmApp, req: Request, kind: Kind) -> Response:
    rid = req.resource_id
    with app.store.lock:
        existing = app.store.get(rid)
        if existing is None:
            raise not_found(rid)
        _refuse_if_busy(app, kind, rid)
        if kind.validate_patch is not None:
            raise_for_issues(kind.validate_patch(req.body))
        merged = merge_patch(copy.deepcopy(existing.body), req.body or {})
        if kind.check is not None:
            kind.check(app, req, merged, existing)
        return _store_and_start(app, req, kind, merged, existing, patch=True)


def _store_and_start(
    app: FakeArmApp,
    req: Request,
    kind: Kind,
    body: dict[str, Any],
    existing: StoredResource | None,
    *,
    patch: bool,
) -> Response:
    rid = req.resource_id
    name = rid.rsplit("/", 1)[-1]
    stamp = app.clock_iso()
    body.update({"id": existing.id if existing else rid, "name": name, "type": kind.arm_type})
    body["systemData"] = system_data(existing, stamp)
    props = body.setdefault("properties", {})
    stored = StoredResource(
        existing.id if existing else rid, kind.name, body, extras=existing.extras if existing else {}
    )
    if kind.shape is not None:
        kind.shape(app, req, stored, existing)
    created = existing is None
    if not kind.put_lro:
        props["provisioningState"] = "Succeeded"
        app.store.put(stored)
        return Response(201 if created else 200, view(app, kind, stored))
    props["provisioningState"] = "Creating" if created else "Updating"
    app.store.put(stored)
    op = start_operation(app, req, kind, stored, "create" if created else "update", _finish_put(app, kind))
    status = 202 if patch else (201 if created else 200)
    headers = lro_headers(req.base_url, op, location=patch, api_version=req.api_version)
    headers["x-ms-async-operation-timeout"] = "PT1H"
    return Response(status, view(app, kind, stored), headers)


def start_operation(
    app: FakeArmApp,
    req: Request,
    kind: Kind,
    stored: StoredResource,
    action: str,
    on_end: Callable[[Operation], None],
) -> Operation:
    polls, seconds = app.plan.timing_for(req.method, req.path)
    failure = app.plan.take_failure(req.method, req.path) or stored.extras.pop("deferred_failure", None)
    if kind.ops_under_resource:
        prefix = stored.id
    else:
        prefix = f"/subscriptions/{stored.id.split('/')[2]}/providers/{kind.namespace}/locations/{app.location}"
    return app.ops.start(
        resource_id=stored.id,
        action=action,
        provider_prefix=prefix,
        status_segment=kind.status_segment,
        result_segment=kind.result_segment,
        polls=polls,
        seconds=seconds,
        on_end=on_end,
        failure=failure,
    )


def _finish_put(app: FakeArmApp, kind: Kind) -> Callable[[Operation], None]:
    def finish(op: Operation) -> None:
        stored = app.store.get(op.resource_id)
        if stored is None:
            return
        props = stored.body.setdefault("properties", {})
        props["provisioningState"] = op.status
        if op.failure is not None and kind.name == "computes":
            props["provisioningErrors"] = [{"error": {"code": op.failure.code, "message": op.failure.message}}]
        if kind.on_settled is not None:
            kind.on_settled(app, stored, op)

    return finish


def delete_resource(app: FakeArmApp, req: Request, kind: Kind) -> Response:
    rid = req.resource_id
    with app.store.lock:
        existing = app.store.get(rid)
        if existing is None:
            return Response(204)
        running = app.ops.running_on(rid)
        if running is not None and running.action == "delete":
            return Response(202, None, lro_headers(req.base_url, running, location=True, api_version=req.api_version))
        _refuse_if_busy(app, kind, rid)
        if kind.check_delete is not None:
            kind.check_delete(app, req, existing)
        if not kind.delete_lro:
            _remove(app, kind, existing)
            return Response(200)
        existing.body.setdefault("properties", {})["provisioningState"] = "Deleting"
        op = start_operation(app, req, kind, existing, "delete", _finish_delete(app, kind, existing))
        return Response(202, None, lro_headers(req.base_url, op, location=True, api_version=req.api_version))


def _finish_delete(app: FakeArmApp, kind: Kind, stored: StoredResource) -> Callable[[Operation], None]:
    def finish(op: Operation) -> None:
        if op.status == "Succeeded":
            _remove(app, kind, stored)
        else:
            stored.body.setdefault("properties", {})["provisioningState"] = "Failed"

    return finish


def _remove(app: FakeArmApp, kind: Kind, stored: StoredResource) -> None:
    app.store.delete_tree(stored.id)
    if kind.on_deleted is not None:
        kind.on_deleted(app, stored)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = merge_patch(target.get(key), value)
    return target


def add_identity_ids(body: dict[str, Any]) -> None:
    """Fill principalId/tenantId for system-assigned identities, as ARM does."""
    identity = body.get("identity")
    if isinstance(identity, dict) and "SystemAssigned" in str(identity.get("type", "")):
        identity.setdefault("principalId", new_guid())
        identity.setdefault("tenantId", "00000000-0000-0000-0000-000000000001")


def new_guid() -> str:
    return str(uuid.uuid4())


def require(condition: bool, error: ArmError) -> None:
    if not condition:
        raise error


def resource_routes(router: Any, template: str, kind: Kind, *, methods: str = "GET PUT DELETE") -> None:
    """Register the standard handlers for ``template`` (an item path) and its collection path."""
    handlers = {"GET": get_resource, "PUT": put_resource, "DELETE": delete_resource, "PATCH": patch_resource}
    for method in methods.split():
        handler = handlers[method]
        router.add(method, template, _bind(handler, kind), kind.name)
    router.add("GET", template.rsplit("/", 1)[0], _bind(list_resources, kind), kind.name)


def _bind(handler: Callable[[FakeArmApp, Request, Kind], Response], kind: Kind):
    def bound(app: FakeArmApp, req: Request) -> Response:
        return handler(app, req, kind)

    return bound

"""Microsoft.Resources/deployments: ARM template deployments at resource-group scope (what azure-ai-ml's
``workspaces.begin_create`` submits).

PUT runs ARM's preflight synchronously (body shape, mode, parameters against the template, and every
expression of the resources that will be deployed, see :mod:`.template`), answering 400 ``InvalidTemplate`` /
``InvalidRequestContent`` on what ARM rejects, then runs the deployment as a long-running operation
(``Azure-AsyncOperation`` under the deployment, ``Retry-After: 1``). When it succeeds the declared resources
are created: Machine Learning workspaces through the workspace resource type (default datastore included),
anything else (storage account, key vault, Application Insights, ...) as a stored body with
``provisioningState: Succeeded``. Only ``Incremental`` mode, inline templates and inline parameters are
implemented; nested deployments and copy loops are refused with an explicit message.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import routes_ml
from .errors import ArmError, bad_request
from .faults import OperationFailure
from .lro import Operation
from .resources import Kind, ensure_parent, new_guid, put_resource, resource_routes
from .routes_core import operation_result, operation_status
from .routing import Request, Response, Router
from .state import StoredResource, now
from .template import TemplateContext, bind_parameters, compose_id, invalid_template

if TYPE_CHECKING:
    from .app import FakeArmApp, Settings

NS = "Microsoft.Resources"
DEPLOYMENT = "/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.Resources/deployments/{name}"
ML_WORKSPACE = "microsoft.machinelearningservices/workspaces"
_ENVELOPE = ("location", "tags", "kind", "sku", "identity", "properties", "zones", "plan")
_MODES = {"incremental": "Incremental", "complete": "Complete"}


@dataclass(frozen=True)
class Planned:
    """One resource the deployment will create: full id, ARM type, API version and evaluated body."""

    id: str
    type: str
    api_version: str
    body: dict[str, Any]


def _check_body(body: Any) -> dict[str, Any]:
    """The request envelope, as ARM deserializes it (400 InvalidRequestContent otherwise)."""
    props = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(props, dict):
        raise bad_request("InvalidRequestContent", "The request content was invalid: 'properties' is required.")
    mode = props.get("mode")
    if not isinstance(mode, str) or mode.lower() not in _MODES:
        raise bad_request(
            "InvalidRequestContent",
            f"The request content was invalid: 'properties.mode' must be Incremental or Complete, got {mode!r}.",
            target="properties.mode",
        )
    if _MODES[mode.lower()] != "Incremental":
        raise bad_request(
            "InvalidDeploymentMode", "The fake ARM server implements only Incremental deployments.", "properties.mode"
        )
    if ("template" in props) == ("templateLink" in props):
        raise bad_request(
            "InvalidRequestContent",
            "The request content was invalid: exactly one of 'properties.template' and 'properties.templateLink' "
            "must be given.",
        )
    if "templateLink" in props or "parametersLink" in props:
        raise invalid_template("Linked templates and parameter files are not supported by the fake ARM server")
    if not isinstance(props.get("parameters", {}), dict):
        raise bad_request(
            "InvalidRequestContent", "'properties.parameters' must be an object.", "properties.parameters"
        )
    return props


def _check_deployment(app: FakeArmApp, req: Request, body: Any, existing: StoredResource | None) -> None:
    _check_body(body)


def _check_template(template: Any) -> dict[str, Any]:
    if not isinstance(template, dict):
        raise invalid_template("The template must be a JSON object")
    for required in ("$schema", "contentVersion", "resources"):
        if required not in template:
            raise invalid_template(f"Required property '{required}' not found in the template")
    if not isinstance(template["resources"], list):
        raise invalid_template("The template property 'resources' must be an array")
    return template


def _scope(app: FakeArmApp, req: Request) -> dict[str, str]:
    rg = app.store.get(req.resource_id.split("/providers/", 1)[0])
    return {
        "subscription": req.params["sub"],
        "resourceGroup": rg.body["name"] if rg else req.params["rg"],
        "location": rg.body.get("location", app.location) if rg else app.location,
        "tenant": "00000000-0000-0000-0000-000000000001",
    }


def plan_deployment(app: FakeArmApp, req: Request, props: dict[str, Any]) -> tuple[list[Planned], dict[str, Any]]:
    """Preflight: bind parameters, evaluate the deployed resources; returns them and the bound values."""
    template = _check_template(props.get("template"))
    values = bind_parameters(template, props.get("parameters") or {})
    scope = _scope(app, req)
    ctx = TemplateContext(template, values, scope)
    rg_id = f"/subscriptions/{scope['subscription']}/resourceGroups/{scope['resourceGroup']}"
    planned: list[Planned] = []
    for resource in template["resources"]:
        planned.extend(_plan_resource(ctx, rg_id, resource, None))
    return planned, values


def _plan_resource(ctx: TemplateContext, rg_id: str, resource: Any, parent: Planned | None) -> list[Planned]:
    if not isinstance(resource, dict):
        raise invalid_template("Every entry of 'resources' must be an object")
    if "condition" in resource and not _truthy(ctx.evaluate(resource["condition"])):
        return []
    if "copy" in resource:
        raise invalid_template("Resource copy loops are not supported by the fake ARM server")
    for required in ("type", "name", "apiVersion"):
        if required not in resource:
            raise invalid_template(f"The resource is missing the required property '{required}'")
    arm_type, name = str(ctx.evaluate(resource["type"])), str(ctx.evaluate(resource["name"]))
    if parent is not None and "/" not in arm_type:
        arm_type, name = f"{parent.type}/{arm_type}", f"{parent.id.rsplit('/', 1)[-1]}/{name}"
    if arm_type.lower() == f"{NS}/deployments".lower():
        raise invalid_template(f"Nested deployment '{name}' is not supported by the fake ARM server")
    body = {k: ctx.evaluate(v) for k, v in resource.items() if k in _ENVELOPE}
    rid = compose_id(rg_id, arm_type, name)
    item = Planned(rid, arm_type, str(ctx.evaluate(resource["apiVersion"])), body)
    children = [c for child in resource.get("resources") or [] for c in _plan_resource(ctx, rg_id, child, item)]
    return [item, *children]


def _truthy(value: Any) -> bool:
    return value.lower() == "true" if isinstance(value, str) else bool(value)


def _template_hash(template: Any) -> str:
    return str(int(hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:16], 16))


def _shape_deployment(app: FakeArmApp, req: Request, stored: StoredResource, existing: StoredResource | None) -> None:
    props = stored.body["properties"]
    planned, values = plan_deployment(app, req, props)
    template = props["template"]
    declared = {k.lower(): v for k, v in (template.get("parameters") or {}).items()}
    stored.extras.update(template=template, plan=planned, started=now(), correlation=new_guid())
    stored.body.pop("location", None)
    props.clear()  # in place: the caller sets provisioningState on this very dict
    props.update(
        {
            "templateHash": _template_hash(template),
            "parameters": {
                k: {"type": declared[k.lower()].get("type", "String"), "value": v} for k, v in values.items()
            },
            "mode": "Incremental",
            "timestamp": app.clock_iso(),
            "duration": "PT0S",
            "correlationId": stored.extras["correlation"],
            "providers": _providers(planned),
            "dependencies": [],
        }
    )


def _providers(planned: list[Planned]) -> list[dict[str, Any]]:
    by_namespace: dict[str, set[str]] = {}
    for item in planned:
        namespace, rest = item.type.split("/", 1)
        by_namespace.setdefault(namespace, set()).add(rest)
    return [
        {"namespace": ns, "resourceTypes": [{"resourceType": t, "locations": []} for t in sorted(types)]}
        for ns, types in sorted(by_namespace.items())
    ]


def _render_deployment(app: FakeArmApp, stored: StoredResource) -> dict[str, Any]:
    body = dict(stored.body)
    props = dict(body["properties"])
    if props.get("provisioningState") in ("Creating", "Updating"):
        props["provisioningState"] = "Running"
    body["properties"] = props
    return body


def _settle_deployment(workspace_kind: Kind):
    """When the operation ends: create the planned resources (Succeeded) or record the error (Failed)."""

    def settle(app: FakeArmApp, stored: StoredResource, op: Operation) -> None:
        props = stored.body["properties"]
        props["duration"] = f"PT{max(now() - stored.extras['started'], 0.001):.3f}S"
        if op.status == "Succeeded":
            try:
                for item in stored.extras["plan"]:
                    _create(app, workspace_kind, item)
            except ArmError as err:
                op.status = "Failed"
                op.failure = OperationFailure(None, re.compile(""), err.code, err.message)
            else:
                props["outputResources"] = [{"id": item.id} for item in stored.extras["plan"]]
                props["outputs"] = {}
        if op.failure is not None:
            props["provisioningState"] = op.status
            props["error"] = {
                "code": "DeploymentFailed",
                "message": "At least one resource deployment operation failed.",
                "details": [{"code": op.failure.code, "message": op.failure.message}],
            }

    return settle


def _create(app: FakeArmApp, workspace_kind: Kind, item: Planned) -> None:
    ensure_parent(app, item.id)
    if item.type.lower() == ML_WORKSPACE:
        body = {**item.body, "properties": _rp_normalized(item.body.get("properties") or {})}
        request = Request("PUT", item.id, {"api-version": item.api_version}, body, "")
        put_resource(app, request, workspace_kind)
        return
    name, stamp = item.id.rsplit("/", 1)[-1], app.clock_iso()
    body = {"id": item.id, "name": name, "type": item.type, **item.body}
    body["properties"] = {**(body.get("properties") or {}), "provisioningState": "Succeeded"}
    body["systemData"] = {"createdAt": stamp, "lastModifiedAt": stamp}
    app.store.put(StoredResource(item.id, item.type.rsplit("/", 1)[-1], body))


def _rp_normalized(value: Any) -> Any:
    """What the workspace RP keeps of a template body: no nulls or empty strings; 'true'/'false' as booleans."""
    if isinstance(value, dict):
        cleaned = {k: _rp_normalized(v) for k, v in value.items() if v is not None and v != ""}
        return {k: v for k, v in cleaned.items() if v != {} or k in ("outboundRules", "tags")}
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _deployment_id(req: Request) -> str:
    return DEPLOYMENT.format(**req.params)


def _deployment_operations(app: FakeArmApp, req: Request) -> Response:
    dep_id = _deployment_id(req)
    stored = app.store.get(dep_id)
    if stored is None:
        raise ArmError(404, "DeploymentNotFound", f"Deployment '{req.params['name']}' could not be found.")
    state = stored.body["properties"].get("provisioningState")
    state = "Running" if state in ("Creating", "Updating") else state
    items = []
    for n, item in enumerate(stored.extras.get("plan") or []):
        op_id = hashlib.sha256(f"{dep_id}|{n}".encode()).hexdigest()[:16].upper()
        properties = {
            "provisioningOperation": "Create",
            "provisioningState": state,
            "timestamp": stored.body["properties"]["timestamp"],
            "duration": stored.body["properties"]["duration"],
            "trackingId": stored.extras["correlation"],
            "serviceRequestId": stored.extras["correlation"],
            "statusCode": "Created" if state == "Succeeded" else "Accepted",
            "targetResource": {"id": item.id, "resourceType": item.type, "resourceName": item.id.rsplit("/", 1)[-1]},
        }
        items.append({"id": f"{dep_id}/operations/{op_id}", "operationId": op_id, "properties": properties})
    return Response(200, {"value": items})


def _validate_deployment(app: FakeArmApp, req: Request) -> Response:
    """POST .../validate: the same preflight as PUT, without deploying anything."""
    ensure_parent(app, req.resource_id.rsplit("/", 1)[0])
    props = _check_body(req.body)
    planned, _ = plan_deployment(app, req, props)
    dep_id = req.resource_id.rsplit("/", 1)[0]
    body = {
        "id": dep_id,
        "name": req.params["name"],
        "type": f"{NS}/deployments",
        "properties": {
            "provisioningState": "Succeeded",
            "mode": "Incremental",
            "validatedResources": [{"id": item.id} for item in planned],
        },
    }
    return Response(200, body)


def deployment_kind(settings: Settings) -> Kind:
    workspace = routes_ml.kinds(settings)["workspaces"]
    # The template engine hands the RP an evaluated body; the RP is more lenient than the SDK's models.
    workspace_from_template = dataclasses.replace(workspace, validate=None, put_lro=False)
    return Kind(
        "deployments",
        f"{NS}/deployments",
        NS,
        check=_check_deployment,
        shape=_shape_deployment,
        render=_render_deployment,
        on_settled=_settle_deployment(workspace_from_template),
        ops_under_resource=True,
        status_segment="operationStatuses",
        result_segment="operationResults",
        busy_code="DeploymentActive",
    )


def register(router: Router, settings: Settings) -> None:
    router.add("GET", DEPLOYMENT + "/operationStatuses/{op}", operation_status, "operationStatus")
    router.add("GET", DEPLOYMENT + "/operationResults/{op}", operation_result, "operationResult")
    for operations in (DEPLOYMENT, DEPLOYMENT.replace("/providers/Microsoft.Resources", "")):
        router.add("GET", operations + "/operations", _deployment_operations, "deploymentOperations")
    router.add("POST", DEPLOYMENT + "/validate", _validate_deployment, "deployments")
    resource_routes(router, DEPLOYMENT, deployment_kind(settings))

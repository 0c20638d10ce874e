"""Online endpoints and deployments, with keys, tokens, logs and AML's traffic rules.

Rules enforced (status codes in :data:`RULE_STATUS` so they are easy to adjust):
traffic values are 0-100 and sum to 0 or 100; traffic and mirror traffic may only name deployments
that exist; mirror traffic sums to at most 50; a Kubernetes deployment needs an endpoint with a compute;
referenced workspace models/environments must exist; a deployment still receiving traffic cannot be
deleted; an endpoint's compute cannot change.
"""

from __future__ import annotations

import functools
import re
import secrets
from typing import TYPE_CHECKING, Any

from azure.ai.ml._restclient.arm_ml_service import models as ml_models

from .errors import ArmError, bad_request, not_found
from .lro import lro_headers
from .resources import Kind, resource_routes, start_operation
from .routing import Request, Response, Router
from .state import StoredResource
from .validation import raise_for_issues, validate_typespec

if TYPE_CHECKING:
    from .app import FakeArmApp, Settings

NS = "Microsoft.MachineLearningServices"
NAME_RULE = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$")
RULE_STATUS = {"traffic_to_missing_deployment": 409, "delete_with_traffic": 400}
_ASSET_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices/"
    r"workspaces/[^/]+/(models|environments)/[^/]+/versions/[^/]+$",
    re.IGNORECASE,
)


def _user_error(status: int, message: str, target: str) -> ArmError:
    return ArmError(status, "UserError", message, target=target)


def _check_name(req: Request) -> None:
    name = req.resource_id.rsplit("/", 1)[-1]
    if not NAME_RULE.match(name):
        raise bad_request(
            "BadArgument",
            f"Name '{name}' must be 3-32 characters, start with a letter, and "
            "contain only letters, digits and '-' (not at the end).",
            target="name",
        )


def _deployment_names(app: FakeArmApp, endpoint_id: str) -> set[str]:
    return {d.id.rsplit("/", 1)[-1].lower() for d in app.store.children(endpoint_id, "deployments")}


def _check_traffic(app: FakeArmApp, endpoint_id: str, props: dict[str, Any]) -> None:
    existing = _deployment_names(app, endpoint_id)
    for field, limit in (("traffic", 100), ("mirrorTraffic", 50)):
        split = props.get(field) or {}
        for name, value in split.items():
            if not 0 <= value <= limit:
                raise bad_request(
                    "BadArgument",
                    f"{field} for '{name}' must be between 0 and {limit}.",
                    target=f"properties.{field}.{name}",
                )
            if name.lower() not in existing:
                raise _user_error(
                    RULE_STATUS["traffic_to_missing_deployment"],
                    f"Deployment '{name}' in {field} does not exist in endpoint '{endpoint_id.rsplit('/', 1)[-1]}'.",
                    f"properties.{field}.{name}",
                )
        total = sum(split.values())
        if field == "traffic" and total not in (0, 100):
            raise bad_request(
                "BadArgument",
                f"Traffic values must sum to 0 or 100, got {total}.",
                target="properties.traffic",
            )
        if field == "mirrorTraffic" and total > limit:
            raise bad_request(
                "BadArgument",
                f"Mirror traffic must sum to at most 50, got {total}.",
                target="properties.mirrorTraffic",
            )


def _check_endpoint(app: FakeArmApp, req: Request, body: dict[str, Any], existing: StoredResource | None) -> None:
    _check_name(req)
    props = body.get("properties") or {}
    compute = props.get("compute")
    if compute:
        stored = app.store.get(compute)
        if stored is None or stored.kind != "computes":
            raise bad_request(
                "BadArgument",
                f"Compute '{compute}' was not found in the workspace.",
                target="properties.compute",
            )
    if existing is not None:
        before = (existing.body["properties"].get("compute") or "").lower()
        if before != (compute or "").lower():
            raise bad_request(
                "BadArgument", "The compute of an endpoint cannot be changed.", target="properties.compute"
            )
    _check_traffic(app, req.resource_id, props)


def _shape_endpoint(app: FakeArmApp, req: Request, stored: StoredResource, existing: StoredResource | None) -> None:
    body = stored.body
    name, props = body["name"], body["properties"]
    props.pop("keys", None)
    props.setdefault("properties", {})
    props.setdefault("traffic", {})
    props.setdefault("mirrorTraffic", {})
    props.setdefault("publicNetworkAccess", "Enabled")
    if props.get("compute"):
        base = f"http://10.0.0.10/api/v1/endpoint/{name}"
    else:
        base = f"https://{name}.{app.location}.inference.ml.azure.com"
    props["scoringUri"], props["swaggerUri"] = f"{base}/score", f"{base}/swagger.json"
    identity = body.setdefault("identity", {"type": "SystemAssigned"})
    identity.setdefault("principalId", "11111111-2222-3333-4444-555555555555")
    identity.setdefault("tenantId", "00000000-0000-0000-0000-000000000001")
    keys = existing.extras.get("keys") if existing else None
    stored.extras["keys"] = keys or {
        "primaryKey": secrets.token_urlsafe(24),
        "secondaryKey": secrets.token_urlsafe(24),
    }


def _check_deployment(app: FakeArmApp, req: Request, body: dict[str, Any], existing: StoredResource | None) -> None:
    _check_name(req)
    endpoint = app.store.get(req.resource_id.rsplit("/deployments/", 1)[0])
    props = body.get("properties") or {}
    kubernetes = str(props.get("endpointComputeType", "")).lower() == "kubernetes"
    if endpoint is not None and kubernetes != bool(endpoint.body["properties"].get("compute")):
        raise bad_request(
            "BadArgument",
            "endpointComputeType must match the endpoint: Kubernetes deployments "
            "need an endpoint with a compute, Managed ones an endpoint without.",
            target="properties.endpointComputeType",
        )
    for field in ("model", "environmentId"):
        ref = props.get(field)
        if isinstance(ref, str) and _ASSET_ID.match(ref) and app.store.get(ref) is None:
            raise bad_request("BadArgument", f"{field} '{ref}' was not found.", target=f"properties.{field}")
    capacity = (body.get("sku") or {}).get("capacity")
    if capacity is not None and capacity < 1:
        raise bad_request("BadArgument", "sku.capacity (instance count) must be at least 1.", target="sku.capacity")
    scale = props.get("scaleSettings") or {}
    if scale.get("scaleType") == "TargetUtilization" and scale.get("minInstances", 0) > scale.get("maxInstances", 1):
        raise bad_request(
            "BadArgument",
            "scaleSettings.minInstances must not exceed maxInstances.",
            target="properties.scaleSettings",
        )


_DEFAULT_PROBE = {
    "failureThreshold": 30,
    "successThreshold": 1,
    "timeout": "PT2S",
    "period": "PT10S",
    "initialDelay": "PT10S",
}


def _shape_deployment(app: FakeArmApp, req: Request, stored: StoredResource, existing: StoredResource | None) -> None:
    body = stored.body
    props = body["properties"]
    body.setdefault("sku", {"name": "Default", "capacity": 1})
    body["sku"].setdefault("capacity", 1)
    body.setdefault("tags", {})
    props.setdefault("properties", {})
    props.setdefault("scaleSettings", {"scaleType": "Default"})
    props.setdefault(
        "requestSettings",
        {"requestTimeout": "PT5S", "maxConcurrentRequestsPerInstance": 1, "maxQueueWait": "PT0.5S"},
    )
    props.setdefault("livenessProbe", dict(_DEFAULT_PROBE))
    props.setdefault("readinessProbe", {**_DEFAULT_PROBE, "failureThreshold": 3})
    props.setdefault("environmentVariables", {})
    props.setdefault("appInsightsEnabled", False)
    if str(props.get("endpointComputeType", "")).lower() == "kubernetes":
        props.setdefault("containerResourceRequirements", {})
        props.setdefault("instanceType", "defaultinstancetype")


def _check_deployment_delete(app: FakeArmApp, req: Request, stored: StoredResource) -> None:
    endpoint = app.store.get(stored.id.rsplit("/deployments/", 1)[0])
    name = stored.id.rsplit("/", 1)[-1].lower()
    props = endpoint.body["properties"] if endpoint else {}
    for field in ("traffic", "mirrorTraffic"):
        live = {k.lower(): v for k, v in (props.get(field) or {}).items()}
        if live.get(name, 0) > 0:
            raise _user_error(
                RULE_STATUS["delete_with_traffic"],
                f"Deployment '{name}' still receives {field} ({live[name]}%); set it to 0 before deleting.",
                f"properties.{field}",
            )


def _forget_deployment(app: FakeArmApp, stored: StoredResource) -> None:
    endpoint = app.store.get(stored.id.rsplit("/deployments/", 1)[0])
    name = stored.id.rsplit("/", 1)[-1].lower()
    if endpoint is not None:
        for field in ("traffic", "mirrorTraffic"):
            split = endpoint.body["properties"].get(field) or {}
            for key in [k for k in split if k.lower() == name]:
                del split[key]


def _endpoint(app: FakeArmApp, req: Request) -> StoredResource:
    endpoint_id = req.resource_id.rsplit("/", 1)[0]
    stored = app.store.get(endpoint_id)
    if stored is None:
        raise not_found(endpoint_id)
    return stored


def _require_auth_mode(stored: StoredResource, mode: str) -> None:
    actual = str(stored.body["properties"].get("authMode", ""))
    if actual.lower() != mode.lower():
        raise bad_request(
            "UserError",
            f"Endpoint '{stored.body['name']}' uses auth mode '{actual}', not '{mode}'.",
            target="properties.authMode",
        )


def list_keys(app: FakeArmApp, req: Request) -> Response:
    stored = _endpoint(app, req)
    _require_auth_mode(stored, "Key")
    return Response(200, dict(stored.extras["keys"]))


def regenerate_keys(app: FakeArmApp, req: Request, kind: Kind, settings: Settings) -> Response:
    raise_for_issues(
        validate_typespec(
            ml_models.RegenerateEndpointKeysRequest, req.body, reject_unknown=settings.reject_unknown_fields
        )
    )
    with app.store.lock:
        stored = _endpoint(app, req)
        _require_auth_mode(stored, "Key")
        slot = "primaryKey" if req.body["keyType"].lower() == "primary" else "secondaryKey"
        wanted = req.body.get("keyValue")

        def rotate(op: Any) -> None:
            if op.status == "Succeeded":
                current = stored.extras["keys"][slot]
                stored.extras["keys"][slot] = wanted if wanted and wanted != current else secrets.token_urlsafe(24)

        op = start_operation(app, req, kind, stored, "regenerateKeys", rotate)
    return Response(
        202, None, lro_headers(req.base_url, op, location=True, async_op=False, api_version=req.api_version)
    )


def get_token(app: FakeArmApp, req: Request) -> Response:
    stored = _endpoint(app, req)
    _require_auth_mode(stored, "AMLToken")
    return Response(
        200,
        {
            "accessToken": "fake-aml-token." + secrets.token_urlsafe(16),
            "tokenType": "Bearer",
            "expiryTimeUtc": 4102444800,
            "refreshAfterTimeUtc": 4102441200,
        },
    )


def get_logs(app: FakeArmApp, req: Request, settings: Settings) -> Response:
    raise_for_issues(
        validate_typespec(
            ml_models.DeploymentLogsRequest, req.body or {}, reject_unknown=settings.reject_unknown_fields
        )
    )
    deployment = _endpoint(app, req)
    text = deployment.extras.get("logs") or "\n".join(
        f"fake-arm: {deployment.body['name']} log line {n}" for n in range(1, 201)
    )
    tail = (req.body or {}).get("tail")
    lines = text.splitlines()
    return Response(200, {"content": "\n".join(lines[-tail:] if tail else lines)})


def kinds(settings: Settings) -> tuple[Kind, Kind]:
    def v(model: type):
        return functools.partial(validate_typespec, model, reject_unknown=settings.reject_unknown_fields)

    ops = {"namespace": NS, "status_segment": "mfeOperationsStatus", "result_segment": "mfeOperationResults"}
    endpoint = Kind(
        "onlineEndpoints",
        f"{NS}/workspaces/onlineEndpoints",
        validate=v(ml_models.OnlineEndpoint),
        validate_patch=v(ml_models.PartialMinimalTrackedResourceWithIdentity),
        check=_check_endpoint,
        shape=_shape_endpoint,
        **ops,
    )
    deployment = Kind(
        "deployments",
        f"{NS}/workspaces/onlineEndpoints/deployments",
        validate=v(ml_models.OnlineDeployment),
        validate_patch=v(ml_models.PartialMinimalTrackedResourceWithSku),
        check=_check_deployment,
        check_delete=_check_deployment_delete,
        shape=_shape_deployment,
        on_deleted=_forget_deployment,
        **ops,
    )
    return endpoint, deployment


def register(router: Router, settings: Settings, ws: str) -> None:
    endpoint, deployment = kinds(settings)
    item = ws + "/onlineEndpoints/{endpoint}"
    router.add("POST", item + "/listKeys", list_keys, "onlineEndpoints")
    router.add(
        "POST",
        item + "/regenerateKeys",
        lambda app, req: regenerate_keys(app, req, endpoint, settings),
        "onlineEndpoints",
    )
    router.add("POST", item + "/token", get_token, "onlineEndpoints")
    router.add(
        "POST",
        item + "/deployments/{name}/getLogs",
        lambda app, req: get_logs(app, req, settings),
        "deployments",
    )
    router.add("GET", item + "/deployments/{name}/skus", lambda app, req: Response(200, {"value": []}), "deployments")
    resource_routes(router, item, endpoint, methods="GET PUT PATCH DELETE")
    resource_routes(router, item + "/deployments/{name}", deployment, methods="GET PUT PATCH DELETE")

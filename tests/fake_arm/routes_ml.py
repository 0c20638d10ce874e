"""Microsoft.MachineLearningServices: workspaces, computes, datastores, and the versioned assets (models,
environments, components, code).

Online endpoints and deployments live in :mod:`.routes_ml_endpoints`, jobs in :mod:`.routes_ml_jobs`. Body
validation uses the
``arm_ml_service`` TypeSpec models that azure-ai-ml itself serializes from.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from azure.ai.ml._restclient.arm_ml_service import models as ml_models

from . import routes_ml_endpoints, routes_ml_jobs
from .errors import bad_request, conflict, not_found
from .resources import (
    Kind,
    add_identity_ids,
    new_guid,
    put_resource,
    resource_routes,
    view,
)
from .routing import Request, Response, Router
from .state import StoredResource
from .validation import validate_typespec

if TYPE_CHECKING:
    from .app import FakeArmApp, Settings

NS = "Microsoft.MachineLearningServices"
WS = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{ws}"
DEFAULT_DATASTORE = "workspaceblobstore"
_ASSET_IMMUTABLE = {
    "modelVersions": ("modelUri", "modelType"),
    "environmentVersions": ("image", "build", "condaFile", "inferenceConfig", "osType"),
    "componentVersions": ("componentSpec",),
    "codeVersions": ("codeUri",),
}
VERSIONED_ASSETS = ("models", "environments", "components", "codes")  # each with a `<singular>Versions` kind


def typespec_validator(model: type, settings: Settings):
    return functools.partial(validate_typespec, model, reject_unknown=settings.reject_unknown_fields)


def _shape_workspace(app: FakeArmApp, req: Request, stored: StoredResource, existing: StoredResource | None) -> None:
    body = stored.body
    rid, name = req.resource_id, req.resource_id.rsplit("/", 1)[-1]
    rg_prefix = rid.split("/providers/", 1)[0]
    props = body["properties"]
    previous = existing.body["properties"] if existing else {}
    props.setdefault("friendlyName", name)
    props["workspaceId"] = previous.get("workspaceId", new_guid())
    props.setdefault("storageAccount", f"{rg_prefix}/providers/Microsoft.Storage/storageAccounts/fakestore")
    props.setdefault("keyVault", f"{rg_prefix}/providers/Microsoft.KeyVault/vaults/fakekv")
    props.setdefault("applicationInsights", f"{rg_prefix}/providers/Microsoft.Insights/components/fakeai")
    props.setdefault("discoveryUrl", f"https://{app.location}.api.azureml.ms/discovery")
    props.setdefault("publicNetworkAccess", "Enabled")
    props.setdefault("v1LegacyMode", False)
    body.setdefault("kind", "Default")
    body.setdefault("sku", {"name": "Basic", "tier": "Basic"})
    add_identity_ids(body)
    if existing is None:
        _add_default_datastore(app, rid)


def _add_default_datastore(app: FakeArmApp, workspace_id: str) -> None:
    ds_id = f"{workspace_id}/datastores/{DEFAULT_DATASTORE}"
    body = {
        "id": ds_id,
        "name": DEFAULT_DATASTORE,
        "type": f"{NS}/workspaces/datastores",
        "properties": {
            "datastoreType": "AzureBlob",
            "accountName": "fakestore",
            "containerName": f"azureml-blobstore-{new_guid()}",
            "endpoint": "core.windows.net",
            "protocol": "https",
            "isDefault": True,
            "credentials": {"credentialsType": "AccountKey"},
            "serviceDataAccessAuthIdentity": "None",
        },
    }
    app.store.put(StoredResource(ds_id, "datastores", body))


def _check_compute(app: FakeArmApp, req: Request, body: dict[str, Any], existing: StoredResource | None) -> None:
    props = body.get("properties") or {}
    if str(props.get("computeType", "")).lower() != "kubernetes":
        return
    target = props.get("resourceId")
    if not target:
        raise bad_request(
            "BadArgument",
            "properties.resourceId is required to attach a Kubernetes compute.",
            target="properties.resourceId",
        )
    if app.store.get(target) is None:
        raise bad_request(
            "BadArgument",
            f"Compute resource '{target}' was not found; attach an existing cluster.",
            target="properties.resourceId",
        )
    if existing and existing.body["properties"].get("resourceId", "").lower() != target.lower():
        raise conflict(
            "Conflict",
            "The resourceId of an attached compute cannot be changed.",
            target="properties.resourceId",
        )


def _shape_compute(app: FakeArmApp, req: Request, stored: StoredResource, existing: StoredResource | None) -> None:
    body = stored.body
    props = body["properties"]
    props.setdefault("computeLocation", body.get("location", app.location))
    props["isAttachedCompute"] = str(props.get("computeType", "")).lower() == "kubernetes"
    inner = props.setdefault("properties", {}) if props["isAttachedCompute"] else {}
    if props["isAttachedCompute"]:
        inner.setdefault("extensionInstanceReleaseTrain", "stable")
        inner.setdefault("defaultInstanceType", "defaultinstancetype")
        inner.setdefault("instanceTypes", {})
    props.pop("provisioningErrors", None)
    add_identity_ids(body)


def _check_compute_delete(app: FakeArmApp, req: Request, stored: StoredResource) -> None:
    action = req.query.get("underlyingResourceAction", "")
    if action.lower() not in {"delete", "detach"}:
        raise bad_request(
            "BadArgument",
            "Query parameter 'underlyingResourceAction' must be Delete or Detach.",
            target="underlyingResourceAction",
        )


def _check_asset_version(app: FakeArmApp, req: Request, body: dict[str, Any], existing: StoredResource | None) -> None:
    if existing is None:
        return
    kind = existing.kind
    old, new = existing.body.get("properties", {}), body.get("properties", {})
    changed = [f for f in _ASSET_IMMUTABLE.get(kind, ()) if f in new and new.get(f) != old.get(f)]
    if changed:
        raise conflict(
            "UserError",
            f"{kind[:-8].capitalize()} version '{req.resource_id.rsplit('/', 1)[-1]}' "
            f"already exists with a different {changed[0]}; asset versions are immutable.",
            target=f"properties.{changed[0]}",
        )


def _shape_asset_version(
    app: FakeArmApp, req: Request, stored: StoredResource, existing: StoredResource | None
) -> None:
    body = stored.body
    props = body["properties"]
    props.setdefault("properties", {})
    props.setdefault("tags", {})
    props.setdefault("isAnonymous", False)
    props.setdefault("isArchived", False)
    if body["type"].endswith("models/versions"):
        props.setdefault("flavors", {})


def _render_container(app: FakeArmApp, stored: StoredResource) -> dict[str, Any]:
    kind = version_kind(stored.kind)
    versions = [v.id.rsplit("/", 1)[-1] for v in app.store.children(stored.id, kind)]
    numeric = sorted(int(v) for v in versions if v.isdigit())
    body = dict(stored.body)
    body["properties"] = dict(body.get("properties", {}))
    if numeric:
        body["properties"]["latestVersion"] = str(numeric[-1])
    body["properties"]["nextVersion"] = str(numeric[-1] + 1 if numeric else 1)
    return body


def _put_asset_version(container: Kind, version: Kind):
    """PUT of a version creates its container on the fly, as the service does."""

    def handler(app: FakeArmApp, req: Request) -> Response:
        container_id = req.resource_id.rsplit("/versions/", 1)[0]
        if app.store.get(container_id) is None and app.store.get(container_id.rsplit("/", 2)[0]) is not None:
            stamp = app.clock_iso()
            app.store.put(
                StoredResource(
                    container_id,
                    container.name,
                    {
                        "id": container_id,
                        "name": container_id.rsplit("/", 1)[-1],
                        "type": container.arm_type,
                        "systemData": {"createdAt": stamp, "lastModifiedAt": stamp},
                        "properties": {
                            "isArchived": False,
                            "provisioningState": "Succeeded",
                            "tags": {},
                            "properties": {},
                        },
                    },
                )
            )
        return put_resource(app, req, version)

    return handler


def _list_versions(version: Kind):
    def handler(app: FakeArmApp, req: Request) -> Response:
        container_id = req.resource_id.rsplit("/", 1)[0]
        if app.store.get(container_id) is None:
            return Response(200, {"value": []})
        items = [view(app, version, r) for r in app.store.children(container_id, version.name)]
        if "desc" in req.query.get("$orderBy", "").lower():
            items.sort(key=lambda b: b["systemData"]["createdAt"], reverse=True)
        top = req.query.get("$top")
        return Response(200, {"value": items[: int(top)] if top and top.isdigit() else items})

    return handler


def _list_datastores(app: FakeArmApp, req: Request) -> Response:
    ws_id = req.resource_id.rsplit("/", 1)[0]
    if app.store.get(ws_id) is None:
        raise not_found(ws_id)
    items = [dict(r.body) for r in app.store.children(ws_id, "datastores")]
    if req.query.get("isDefault", "").lower() == "true":
        items = [b for b in items if b["properties"].get("isDefault")]
    return Response(200, {"value": items})


def _list_datastore_secrets(app: FakeArmApp, req: Request) -> Response:
    ds_id = req.resource_id.rsplit("/", 1)[0]
    stored = app.store.get(ds_id)
    if stored is None:
        raise not_found(ds_id)
    kind = stored.body["properties"].get("credentials", {}).get("credentialsType")
    if kind == "AccountKey":
        return Response(200, {"secretsType": "AccountKey", "key": "ZmFrZS1hY2NvdW50LWtleQ=="})
    if kind == "Sas":
        return Response(200, {"secretsType": "Sas", "sasToken": "sv=2024-01-01&sig=fake"})
    raise bad_request("UserError", f"Datastore '{stored.body['name']}' has no secrets ({kind}).")


def version_kind(container: str) -> str:
    """`models` -> `modelVersions`, `codes` -> `codeVersions`."""
    return container[:-1] + "Versions"


def _asset_kinds(settings: Settings) -> dict[str, Kind]:
    """Datastores, model/environment/component/code containers and versions: synchronous PUT and DELETE."""
    v = functools.partial(typespec_validator, settings=settings)
    asset = {"namespace": NS, "put_lro": False, "delete_lro": False}
    versions = {"check": _check_asset_version, "shape": _shape_asset_version, **asset}
    return {
        "datastores": Kind("datastores", f"{NS}/workspaces/datastores", validate=v(ml_models.Datastore),
                           **asset),
        "models": Kind("models", f"{NS}/workspaces/models", validate=v(ml_models.ModelContainer),
                       render=_render_container, **asset),
        "modelVersions": Kind("modelVersions", f"{NS}/workspaces/models/versions",
                              validate=v(ml_models.ModelVersion), **versions),
        "environments": Kind("environments", f"{NS}/workspaces/environments",
                             validate=v(ml_models.EnvironmentContainer), render=_render_container, **asset),
        "environmentVersions": Kind("environmentVersions", f"{NS}/workspaces/environments/versions",
                                    validate=v(ml_models.EnvironmentVersion), **versions),
        "components": Kind("components", f"{NS}/workspaces/components", validate=v(ml_models.ComponentContainer),
                           render=_render_container, **asset),
        "componentVersions": Kind("componentVersions", f"{NS}/workspaces/components/versions",
                                  validate=v(ml_models.ComponentVersion), **versions),
        "codes": Kind("codes", f"{NS}/workspaces/codes", validate=v(ml_models.CodeContainer),
                      render=_render_container, **asset),
        "codeVersions": Kind("codeVersions", f"{NS}/workspaces/codes/versions",
                             validate=v(ml_models.CodeVersion), **versions),
    }  # fmt: skip


def kinds(settings: Settings) -> dict[str, Kind]:
    v = functools.partial(typespec_validator, settings=settings)
    ops = {"namespace": NS, "status_segment": "mfeOperationsStatus", "result_segment": "mfeOperationResults"}
    workspace = Kind("workspaces", f"{NS}/workspaces", validate=v(ml_models.Workspace),
                     shape=_shape_workspace, **ops)  # fmt: skip
    compute = Kind("computes", f"{NS}/workspaces/computes", validate=v(ml_models.ComputeResource),
                   check=_check_compute, check_delete=_check_compute_delete, shape=_shape_compute,
                   **ops)  # fmt: skip
    return {"workspaces": workspace, "computes": compute, **_asset_kinds(settings)}


def register(router: Router, settings: Settings) -> None:
    k = kinds(settings)
    routes_ml_endpoints.register(router, settings, WS)
    routes_ml_jobs.register(router, settings, WS)
    resource_routes(router, WS, k["workspaces"])
    resource_routes(router, WS + "/computes/{name}", k["computes"])
    router.add("GET", WS + "/datastores", _list_datastores, "datastores")
    router.add("POST", WS + "/datastores/{name}/listSecrets", _list_datastore_secrets, "datastores")
    resource_routes(router, WS + "/datastores/{name}", k["datastores"])
    for container in VERSIONED_ASSETS:
        version = version_kind(container)
        item = f"{WS}/{container}/{{name}}/versions/{{version}}"
        router.add("PUT", item, _put_asset_version(k[container], k[version]), version)
        router.add("GET", item.rsplit("/", 1)[0], _list_versions(k[version]), version)
        resource_routes(router, item, k[version], methods="GET DELETE")
        resource_routes(router, f"{WS}/{container}/{{name}}", k[container])

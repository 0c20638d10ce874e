"""Microsoft.ContainerService: managed clusters and their agent pools.

A cluster's ``agentPoolProfiles`` are stored as agent-pool child resources and rebuilt on every read,
so pools created through either API show up in both, as on the real service. Validation uses the
``azure.mgmt.containerservice`` TypeSpec models; AKS's own rules (pool names, counts, autoscaler bounds,
at least one System pool, one operation at a time per cluster) are checked by hand.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

from azure.mgmt.containerservice import models as aks_models

from .errors import ArmError, conflict
from .resources import Kind, add_identity_ids, resource_routes, system_data
from .routing import Request, Router
from .state import StoredResource
from .validation import validate_typespec

if TYPE_CHECKING:
    from .app import FakeArmApp, Settings

NS = "Microsoft.ContainerService"
AKS = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{cluster}"
POOL_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")
DEFAULT_K8S_VERSION = "1.29.4"


def _invalid(message: str, target: str) -> ArmError:
    return ArmError(400, "InvalidParameter", message, target=target)


def _check_pool_profile(name: str, props: dict[str, Any], target: str) -> None:
    if not POOL_NAME.match(name):
        raise _invalid(
            f"Agent pool name '{name}' must start with a lowercase letter and contain at most 12 "
            "lowercase letters and digits.",
            f"{target}.name",
        )
    count = props.get("count", 1)
    if not 0 <= count <= 1000:
        raise _invalid(f"count must be between 0 and 1000, got {count}.", f"{target}.count")
    if props.get("mode") == "System" and count < 1:
        raise _invalid("A System pool needs at least one node.", f"{target}.count")
    if props.get("enableAutoScaling"):
        low, high = props.get("minCount"), props.get("maxCount")
        if low is None or high is None:
            raise _invalid("minCount and maxCount are required when enableAutoScaling is true.", target)
        if not low <= high:
            raise _invalid(f"minCount ({low}) must not exceed maxCount ({high}).", f"{target}.minCount")
        if not low <= count <= high:
            raise _invalid(f"count ({count}) must be within [minCount, maxCount].", f"{target}.count")


def _refuse_if_cluster_busy(app: FakeArmApp, cluster_id: str) -> None:
    busy = [app.ops.running_on(cluster_id)] + [
        app.ops.running_on(p.id) for p in app.store.children(cluster_id, "agentPools")
    ]
    running = next((op for op in busy if op is not None), None)
    if running is not None:
        raise conflict(
            "OperationNotAllowed",
            f"Operation is not allowed because there's an in progress "
            f"{running.action} operation on '{running.resource_id.rsplit('/', 1)[-1]}'.",
        )


def _check_cluster(app: FakeArmApp, req: Request, body: dict[str, Any], existing: StoredResource | None) -> None:
    profiles = (body.get("properties") or {}).get("agentPoolProfiles") or []
    for n, profile in enumerate(profiles):
        _check_pool_profile(profile.get("name", ""), profile, f"properties.agentPoolProfiles[{n}]")
    if existing is None and not any(p.get("mode") == "System" for p in profiles):
        raise _invalid(
            "A managed cluster needs at least one agent pool with mode System.",
            "properties.agentPoolProfiles",
        )
    if existing is not None:
        _refuse_if_cluster_busy(app, req.resource_id)


def _pool_defaults(props: dict[str, Any], k8s_version: str) -> None:
    props.setdefault("count", 1)
    props.setdefault("mode", "User")
    props.setdefault("osType", "Linux")
    props.setdefault("type", "VirtualMachineScaleSets")
    props.setdefault("maxPods", 110)
    props.setdefault("osDiskSizeGB", 128)
    props.setdefault("orchestratorVersion", k8s_version)
    props["currentOrchestratorVersion"] = props["orchestratorVersion"]
    props.setdefault("powerState", {"code": "Running"})
    props.setdefault("enableAutoScaling", False)


def _shape_cluster(app: FakeArmApp, req: Request, stored: StoredResource, existing: StoredResource | None) -> None:
    body, rid = stored.body, req.resource_id
    name, rg = body["name"], rid.split("/")[4]
    props = body["properties"]
    props.setdefault("kubernetesVersion", DEFAULT_K8S_VERSION)
    props.setdefault("dnsPrefix", f"{name}-dns")
    props["fqdn"] = f"{props['dnsPrefix']}-fake.hcp.{body.get('location', app.location)}.azmk8s.io"
    props.setdefault("nodeResourceGroup", f"MC_{rg}_{name}_{body.get('location', app.location)}")
    props["powerState"] = {"code": "Running"}
    props.setdefault(
        "identityProfile",
        {
            "kubeletidentity": {
                "resourceId": f"/subscriptions/{rid.split('/')[2]}"
                f"/resourceGroups/{props['nodeResourceGroup']}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}-agentpool",
                "clientId": "22222222-0000-0000-0000-000000000001",
                "objectId": "22222222-0000-0000-0000-000000000002",
            }
        },
    )
    props.setdefault("oidcIssuerProfile", {"enabled": True})
    props["oidcIssuerProfile"]["issuerURL"] = f"https://{app.location}.oic.prod-aks.azure.com/fake/{name}/"
    body.setdefault("sku", {"name": "Base", "tier": "Free"})
    body.setdefault("identity", {"type": "SystemAssigned"})
    add_identity_ids(body)
    for profile in props.pop("agentPoolProfiles", None) or []:
        pool_props = {k: v for k, v in profile.items() if k != "name"}
        _pool_defaults(pool_props, props["kubernetesVersion"])
        pool_props["provisioningState"] = "Succeeded"
        pool_id = f"{rid}/agentPools/{profile['name']}"
        pool = {
            "id": pool_id,
            "name": profile["name"],
            "type": f"{NS}/managedClusters/agentPools",
            "systemData": system_data(None, app.clock_iso()),
            "properties": pool_props,
        }
        app.store.put(StoredResource(pool_id, "agentPools", pool))


def _render_cluster(app: FakeArmApp, stored: StoredResource) -> dict[str, Any]:
    body = dict(stored.body)
    props = dict(body.get("properties", {}))
    props["agentPoolProfiles"] = [
        {"name": pool.body["name"], **pool.body["properties"]} for pool in app.store.children(stored.id, "agentPools")
    ]
    body["properties"] = props
    return body


def _cluster_of(pool_id: str) -> str:
    return pool_id.rsplit("/agentPools/", 1)[0]


def _check_pool(app: FakeArmApp, req: Request, body: dict[str, Any], existing: StoredResource | None) -> None:
    props = body.get("properties") or {}
    _check_pool_profile(req.resource_id.rsplit("/", 1)[-1], props, "properties")
    _refuse_if_cluster_busy(app, _cluster_of(req.resource_id))


def _shape_pool(app: FakeArmApp, req: Request, stored: StoredResource, existing: StoredResource | None) -> None:
    cluster = app.store.get(_cluster_of(req.resource_id))
    version = cluster.body["properties"].get("kubernetesVersion", DEFAULT_K8S_VERSION) if cluster else ""
    _pool_defaults(stored.body["properties"], version or DEFAULT_K8S_VERSION)


def _check_pool_delete(app: FakeArmApp, req: Request, stored: StoredResource) -> None:
    cluster_id = _cluster_of(stored.id)
    _refuse_if_cluster_busy(app, cluster_id)
    systems = [p for p in app.store.children(cluster_id, "agentPools") if p.body["properties"].get("mode") == "System"]
    if stored.body["properties"].get("mode") == "System" and len(systems) == 1:
        raise ArmError(
            400,
            "OperationNotAllowed",
            "The last System agent pool of a cluster cannot be deleted.",
            target="mode",
        )


def kinds(settings: Settings) -> tuple[Kind, Kind]:
    def v(model: type):
        return functools.partial(validate_typespec, model, reject_unknown=settings.reject_unknown_fields)

    ops = {
        "namespace": NS,
        "status_segment": "operations",
        "result_segment": "operationresults",
        "busy_code": "OperationNotAllowed",
    }
    cluster = Kind(
        "managedClusters",
        f"{NS}/ManagedClusters",
        validate=v(aks_models.ManagedCluster),
        check=_check_cluster,
        shape=_shape_cluster,
        render=_render_cluster,
        **ops,
    )
    pool = Kind(
        "agentPools",
        f"{NS}/managedClusters/agentPools",
        validate=v(aks_models.AgentPool),
        check=_check_pool,
        check_delete=_check_pool_delete,
        shape=_shape_pool,
        **ops,
    )
    return cluster, pool


def register(router: Router, settings: Settings) -> None:
    cluster, pool = kinds(settings)
    resource_routes(router, AKS + "/agentPools/{pool}", pool)
    resource_routes(router, AKS, cluster)

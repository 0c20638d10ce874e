"""Deletion, honouring `mlops.dev/reconcile-policy` (`manage` | `detach-on-delete` | `skip`).

Every function here takes one step and raises RetryableError while Azure is still working, so the
finalizer is retried later instead of waiting. The order matters: traffic leaves a deployment before the
deployment is deleted (Azure ML refuses otherwise), and the endpoint goes only with its last deployment.

A delete Azure refuses raises `DeletionRefusedError` (deletions.py); `*_leftovers` name, without asking Azure,
what a finalizer would still remove, for a release forced by `mlops.dev/force-delete`.

Platforms: `manage` detaches the compute, deletes the extension if the operator installed it and the node
pool if the operator created it (tagged); `detach-on-delete` only detaches the compute; `skip` leaves Azure
alone. InstanceType objects are owned by the platform and garbage-collected with it in every case.
"""

from __future__ import annotations

from typing import Any

from mlops_operator import naming
from mlops_operator.api.v1alpha1 import API_VERSION, MLOpsPlatform, ModelDeployment
from mlops_operator.backends.azureml.deletions import Deleter, again, refusals
from mlops_operator.backends.azureml.endpoint import endpoint_alone, live_traffic
from mlops_operator.backends.azureml.instancetypes import delete_instance_types
from mlops_operator.backends.azureml.operations import azure_errors, get_or_none, state_name, state_of
from mlops_operator.backends.azureml.platform import (
    ANNOTATION_CREATED_EXTENSION,
    CLUSTER_RP,
    CLUSTER_TYPE,
    cluster_coordinates,
    created_node_pool,
    workspace_coordinates,
)
from mlops_operator.backends.azureml.writes import (
    Begun,
    begin_deployment_delete,
    begin_endpoint_delete,
    begin_endpoint_put,
    workspace_location,
)
from mlops_operator.backends.base import RetryableError
from mlops_operator.backends.shared.endpoint import endpoint_members
from mlops_operator.conditions import Reason
from mlops_operator.config import OperatorSettings
from mlops_operator.kube import Kube
from mlops_operator.render.azureml import redistribute


def deployment_resource(name: str, endpoint: str, workspace: str) -> str:
    return f"online deployment {name} of endpoint {endpoint} in workspace {workspace}"


def endpoint_resource(endpoint: str, workspace: str) -> str:
    return f"online endpoint {endpoint} in workspace {workspace}"


def finalize_deployment(kube: Kube, ml: Any, md: ModelDeployment, deleter: Deleter, workspace: str) -> None:
    """`workspace` is `<resource group>/<workspace>`, naming the Azure resources for humans."""
    name, endpoint_name, poll = str(md.metadata.name), md.spec.endpoint.name, deleter.poll
    endpoint = get_or_none(endpoint_alone, ml, endpoint_name)
    if endpoint is None:
        return
    if state_of(endpoint.provisioning_state) == "in-progress":
        raise again(f"endpoint {endpoint_name} is {state_name(endpoint.provisioning_state)}", poll)
    traffic = live_traffic(endpoint)
    if traffic.get(name.lower()):
        endpoint.traffic = redistribute(traffic, name.lower())
        with refusals(f"{endpoint_resource(endpoint_name, workspace)} (moving traffic off {name})"):
            begin_endpoint_put(ml, endpoint, endpoint.location or workspace_location(ml))
        raise again(f"moving traffic off {name}: {endpoint.traffic}", poll)
    deployment = get_or_none(ml.online_deployments.get, name, endpoint_name)
    if deployment is not None:
        resource = deployment_resource(name, endpoint_name, workspace)
        deleter.delete(
            deployment.provisioning_state, resource, lambda: begin_deployment_delete(ml, name, endpoint_name)
        )
    if endpoint_members(kube, str(md.metadata.namespace), endpoint_name, without=name).members:
        return
    with azure_errors():
        remaining = list(ml.online_deployments.list(endpoint_name))
    if remaining:
        return  # deployments the operator does not manage keep the endpoint alive
    resource = endpoint_resource(endpoint_name, workspace)
    deleter.delete(endpoint.provisioning_state, resource, lambda: begin_endpoint_delete(ml, endpoint_name))


def deployment_leftovers(kube: Kube, md: ModelDeployment, workspace: str) -> list[str]:
    """What `finalize_deployment` would still delete, without asking Azure: the deployment, and the endpoint
    when no other ModelDeployment uses it (unmanaged deployments in Azure would have kept it)."""
    name, endpoint = str(md.metadata.name), md.spec.endpoint.name
    found = [deployment_resource(name, endpoint, workspace)]
    if not endpoint_members(kube, str(md.metadata.namespace), endpoint, without=name).members:
        found.append(endpoint_resource(endpoint, workspace))
    return found


def finalize_platform(
    kube: Kube, settings: OperatorSettings, deleter: Deleter | None, platform: MLOpsPlatform, policy: str
) -> None:
    name = str(platform.metadata.name)
    users = [
        item["metadata"]["name"]
        for item in kube.list(API_VERSION, "ModelDeployment")
        if item.get("spec", {}).get("platformRef", {}).get("name") == name
    ]
    if users:
        raise RetryableError(
            f"{len(users)} ModelDeployments still use platform {name} ({', '.join(sorted(users)[:5])}); "
            "delete them first",
            delay=settings.azure_poll_seconds,
            reason=Reason.PLATFORM_NOT_READY,
        )
    if deleter is not None:
        _detach_compute(deleter, platform)
        if policy == "manage":
            _delete_extension(deleter, platform)
            _delete_node_pool(deleter, platform)
    delete_instance_types(kube, name)


def platform_leftovers(platform: MLOpsPlatform, policy: str) -> list[str]:
    """What `finalize_platform` would still release under `policy`, without asking Azure."""
    azure = platform.spec.azure
    if azure is None or policy == "skip":
        return []
    found = [_compute_resource(platform)]
    if policy == "manage" and _created_extension(platform):
        found.append(_extension_resource(platform))
    if policy == "manage" and azure.node_pool is not None:
        found.append(f"{_node_pool_resource(platform)}, if the operator created it (tagged with this platform)")
    return found


def _compute_resource(platform: MLOpsPlatform) -> str:
    azure = platform.spec.azure
    assert azure is not None
    rg, ws = workspace_coordinates(azure)
    return f"compute {azure.compute_name} attached to workspace {rg}/{ws}"


def _extension_resource(platform: MLOpsPlatform) -> str:
    azure = platform.spec.azure
    assert azure is not None
    rg, cluster, _ = cluster_coordinates(azure)
    return f"extension {azure.extension.name} on cluster {rg}/{cluster}"


def _node_pool_resource(platform: MLOpsPlatform) -> str:
    azure = platform.spec.azure
    assert azure is not None
    assert azure.node_pool is not None
    rg, cluster, _ = cluster_coordinates(azure)
    return f"node pool {azure.node_pool.name} of cluster {rg}/{cluster}"


def _created_extension(platform: MLOpsPlatform) -> bool:
    azure = platform.spec.azure
    assert azure is not None
    created = platform.metadata.annotations.get(ANNOTATION_CREATED_EXTENSION) == "true"
    return azure.extension.mode == "install" and created


def _detach_compute(deleter: Deleter, platform: MLOpsPlatform) -> None:
    azure = platform.spec.azure
    assert azure is not None
    ml = deleter.clients.ml(*workspace_coordinates(azure))
    compute = get_or_none(ml.compute.get, azure.compute_name)
    if compute is not None:

        def begin() -> Any:
            return ml.compute.begin_delete(azure.compute_name, action="Detach")

        deleter.delete(compute.provisioning_state, _compute_resource(platform), begin)


def _delete_extension(deleter: Deleter, platform: MLOpsPlatform) -> None:
    azure = platform.spec.azure
    assert azure is not None
    if not _created_extension(platform):
        return
    rg, cluster, _ = cluster_coordinates(azure)
    ops = deleter.clients.extensions().extensions
    coords = (rg, CLUSTER_RP, CLUSTER_TYPE, cluster, azure.extension.name)
    live = get_or_none(ops.get, *coords)
    if live is not None:

        def begin() -> Any:
            return ops.begin_delete(*coords, polling=Begun())

        deleter.delete(live.provisioning_state, _extension_resource(platform), begin)


def _delete_node_pool(deleter: Deleter, platform: MLOpsPlatform) -> None:
    azure = platform.spec.azure
    assert azure is not None
    if azure.node_pool is None:
        return
    rg, cluster, _ = cluster_coordinates(azure)
    aks = deleter.clients.aks()
    live = get_or_none(aks.agent_pools.get, rg, cluster, azure.node_pool.name)
    if live is not None and created_node_pool(live, str(platform.metadata.name)):
        state = (live.as_dict().get("properties") or {}).get("provisioningState")
        pool = azure.node_pool.name

        def begin() -> Any:
            return aks.agent_pools.begin_delete(rg, cluster, pool, polling=Begun())

        deleter.delete(state, _node_pool_resource(platform), begin)


__all__ = ["deployment_leftovers", "finalize_deployment", "finalize_platform", "naming", "platform_leftovers"]

"""Deletion, honouring `mlops.dev/reconcile-policy` (`manage` | `detach-on-delete` | `skip`).

Every function here takes one step and raises RetryableError while Azure is still working, so the
finalizer is retried later instead of waiting. The order matters: traffic leaves a deployment before the
deployment is deleted (Azure ML refuses otherwise), and the endpoint goes only with its last deployment.

Platforms: `manage` detaches the compute, deletes the extension if the operator installed it and the node
pool if the operator created it (tagged); `detach-on-delete` only detaches the compute; `skip` leaves Azure
alone. InstanceType objects are owned by the platform and garbage-collected with it in every case.
"""

from __future__ import annotations

from typing import Any

from mlops_operator import naming
from mlops_operator.api.v1alpha1 import API_VERSION, MLOpsPlatform, ModelDeployment
from mlops_operator.backends.azureml.clients import AzureClients
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


def _again(message: str, delay: float) -> RetryableError:
    return RetryableError(message, delay=delay, reason=Reason.AZURE_OPERATION_IN_PROGRESS)


def _delete(resource: Any, what: str, begin: Any, delay: float) -> None:
    """Begin deleting `resource` unless that is under way; either way, look again later."""
    if state_of(getattr(resource, "provisioning_state", None)) != "in-progress":
        with azure_errors():
            begin()
    raise _again(f"deleting {what}", delay)


def finalize_deployment(kube: Kube, ml: Any, md: ModelDeployment, poll: float) -> None:
    name, endpoint_name = str(md.metadata.name), md.spec.endpoint.name
    endpoint = get_or_none(endpoint_alone, ml, endpoint_name)
    if endpoint is None:
        return
    if state_of(endpoint.provisioning_state) == "in-progress":
        raise _again(f"endpoint {endpoint_name} is {state_name(endpoint.provisioning_state)}", poll)
    traffic = live_traffic(endpoint)
    if traffic.get(name.lower()):
        endpoint.traffic = redistribute(traffic, name.lower())
        with azure_errors():
            begin_endpoint_put(ml, endpoint, endpoint.location or workspace_location(ml))
        raise _again(f"moving traffic off {name}: {endpoint.traffic}", poll)
    deployment = get_or_none(ml.online_deployments.get, name, endpoint_name)
    if deployment is not None:
        _delete(deployment, f"deployment {name}", lambda: begin_deployment_delete(ml, name, endpoint_name), poll)
    others = endpoint_members(kube, str(md.metadata.namespace), endpoint_name, without=name).members
    if others:
        return
    with azure_errors():
        remaining = list(ml.online_deployments.list(endpoint_name))
    if remaining:
        return  # deployments the operator does not manage keep the endpoint alive
    _delete(endpoint, f"endpoint {endpoint_name}", lambda: begin_endpoint_delete(ml, endpoint_name), poll)


def finalize_platform(
    kube: Kube, settings: OperatorSettings, clients: AzureClients | None, platform: MLOpsPlatform, policy: str
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
    if clients is not None:
        _detach_compute(clients, platform, settings.azure_poll_seconds)
        if policy == "manage":
            _delete_extension(clients, platform, settings.azure_poll_seconds)
            _delete_node_pool(clients, platform, settings.azure_poll_seconds)
    delete_instance_types(kube, name)


def _detach_compute(clients: AzureClients, platform: MLOpsPlatform, poll: float) -> None:
    azure = platform.spec.azure
    assert azure is not None
    ml = clients.ml(*workspace_coordinates(azure))
    compute = get_or_none(ml.compute.get, azure.compute_name)
    if compute is not None:
        _delete(
            compute,
            f"compute {azure.compute_name} (detach)",
            lambda: ml.compute.begin_delete(azure.compute_name, action="Detach"),
            poll,
        )


def _delete_extension(clients: AzureClients, platform: MLOpsPlatform, poll: float) -> None:
    azure = platform.spec.azure
    assert azure is not None
    created = platform.metadata.annotations.get(ANNOTATION_CREATED_EXTENSION) == "true"
    if azure.extension.mode != "install" or not created:
        return
    rg, cluster, _ = cluster_coordinates(azure)
    ops = clients.extensions().extensions
    coords = (rg, CLUSTER_RP, CLUSTER_TYPE, cluster, azure.extension.name)
    live = get_or_none(ops.get, *coords)
    if live is not None:
        _delete(live, f"extension {azure.extension.name}", lambda: ops.begin_delete(*coords, polling=Begun()), poll)


def _delete_node_pool(clients: AzureClients, platform: MLOpsPlatform, poll: float) -> None:
    azure = platform.spec.azure
    assert azure is not None
    if azure.node_pool is None:
        return
    rg, cluster, _ = cluster_coordinates(azure)
    aks = clients.aks()
    live = get_or_none(aks.agent_pools.get, rg, cluster, azure.node_pool.name)
    if live is not None and created_node_pool(live, str(platform.metadata.name)):
        state = (live.as_dict().get("properties") or {}).get("provisioningState")
        pool = azure.node_pool.name

        def begin() -> Any:
            return aks.agent_pools.begin_delete(rg, cluster, pool, polling=Begun())

        _delete(_State(state), f"node pool {pool}", begin, poll)


class _State:
    def __init__(self, provisioning_state: Any) -> None:
        self.provisioning_state = provisioning_state


__all__ = ["finalize_deployment", "finalize_platform", "naming"]

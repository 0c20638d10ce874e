"""Platform steps, in order: workspace, node pool, extension, inference namespace + compute attach, instance types.

Each step reads what ARM (or the cluster) has, compares it with the spec, and writes only on a difference.
Long-running writes are begun and recorded (see operations.py); the step then reports progress and asks
for another look instead of waiting.
"""

from __future__ import annotations

from typing import Any

from azure.ai.ml.entities import IdentityConfiguration, KubernetesCompute, Workspace
from azure.mgmt.containerservice.models import AgentPool
from azure.mgmt.kubernetesconfiguration.models import Extension, Identity, PatchExtension, Scope, ScopeCluster

from mlops_operator.api.v1alpha1 import MLOpsPlatform
from mlops_operator.api.v1alpha1.platform import AzureSettings
from mlops_operator.backends.azureml.clients import AzureClients
from mlops_operator.backends.azureml.instancetypes import sync_instance_types
from mlops_operator.backends.azureml.operations import Ledger, get_or_none, operation_error, state_name, state_of
from mlops_operator.backends.azureml.steps import StepResult, failed, ready, waiting
from mlops_operator.backends.azureml.tls import ensure_ssl_secret
from mlops_operator.backends.azureml.writes import Begun, begin_compute_put
from mlops_operator.backends.base import FatalError
from mlops_operator.conditions import ConditionType, Reason
from mlops_operator.config import OperatorSettings
from mlops_operator.kube import Kube
from mlops_operator.render.azureml import (
    EXTENSION_TYPE,
    LABEL_PLATFORM,
    agent_pool_drift,
    extension_settings,
    render_agent_pool,
    settings_drift,
)

CLUSTER_RP, CLUSTER_TYPE = "Microsoft.ContainerService", "managedClusters"
EXTENSION_NAMESPACE = "azureml"
ANNOTATION_CREATED_EXTENSION = "mlops.dev/created-extension"


def cluster_coordinates(azure: AzureSettings) -> tuple[str, str, str]:
    """(resource group, name, ARM id) of the AKS cluster."""
    if azure.cluster.resource_id:
        parts = azure.cluster.resource_id.split("/")
        return parts[4], parts[8], azure.cluster.resource_id
    rg = azure.cluster.resource_group or azure.resource_group
    name = str(azure.cluster.name)
    rid = f"/subscriptions/{azure.subscription_id}/resourceGroups/{rg}/providers/{CLUSTER_RP}/{CLUSTER_TYPE}/{name}"
    return rg, name, rid


def workspace_coordinates(azure: AzureSettings) -> tuple[str, str]:
    return azure.workspace.resource_group or azure.resource_group, azure.workspace.name


def failure_message(clients: AzureClients, ledger: Ledger, step: str, what: str) -> str:
    """The ARM error of a failed operation (from its status document), or a generic message."""
    error = operation_error(clients, ledger.url(step))
    if error is None:
        return f"{what} is in state Failed; see the Azure activity log"
    return f"{what} failed: ARM {error[0]}: {error[1]}"


class PlatformSteps:
    """One pass over one platform; build a new one per pass."""

    def __init__(
        self, kube: Kube, settings: OperatorSettings, clients: AzureClients, platform: MLOpsPlatform, ledger: Ledger
    ) -> None:
        assert platform.spec.azure is not None
        self.kube, self.settings, self.clients, self.ledger = kube, settings, clients, ledger
        self.platform, self.azure = platform, platform.spec.azure
        self.cluster_rg, self.cluster_name, self.cluster_id = cluster_coordinates(self.azure)
        self._cluster: Any = None

    @property
    def poll(self) -> float:
        return self.settings.azure_poll_seconds

    def ml(self) -> Any:
        return self.clients.ml(*workspace_coordinates(self.azure))

    def workspace(self) -> StepResult:
        rg, name = workspace_coordinates(self.azure)
        live = get_or_none(self.ml().workspaces.get, name)
        if live is None:
            if not self.azure.workspace.create:
                return failed(
                    ConditionType.WORKSPACE_READY,
                    Reason.WORKSPACE_NOT_FOUND,
                    f"workspace {name} does not exist in resource group {rg}; create it or set workspace.create: true",
                )
            return self._create_workspace(rg, name)
        state = state_of(getattr(live, "provisioning_state", None))
        if state == "in-progress":
            return waiting(ConditionType.WORKSPACE_READY, f"workspace {name} is provisioning", self.poll)
        if state == "failed":
            return failed(
                ConditionType.WORKSPACE_READY,
                Reason.AZURE_OPERATION_FAILED,
                failure_message(self.clients, self.ledger, "workspace", f"workspace {name}"),
            )
        self.ledger.finish("workspace")
        return ready(
            ConditionType.WORKSPACE_READY, Reason.WORKSPACE_READY, f"workspace {name} in {rg}", workspaceId=live.id
        )

    def _create_workspace(self, rg: str, name: str) -> StepResult:
        """Begin the ARM template deployment once per spec generation; show its error if it failed."""
        generation = str(self.platform.metadata.generation)
        if "workspace" in self.ledger:
            error = operation_error(self.clients, self.ledger.url("workspace"))
            if error is None:
                return waiting(ConditionType.WORKSPACE_READY, f"creating workspace {name}", self.poll)
            if self.ledger.tag("workspace") == generation:
                return failed(
                    ConditionType.WORKSPACE_READY,
                    Reason.AZURE_OPERATION_FAILED,
                    f"creating workspace {name} failed: ARM {error[0]}: {error[1]}",
                )
        workspace = Workspace(name=name, location=self.azure.location, resource_group=rg)
        self.ledger.begin("workspace", lambda: self.ml().workspaces.begin_create(workspace), generation)
        return waiting(ConditionType.WORKSPACE_READY, f"creating workspace {name}", self.poll)

    def cluster(self) -> Any:
        if self._cluster is None:
            self._cluster = get_or_none(self.clients.aks().managed_clusters.get, self.cluster_rg, self.cluster_name)
            if self._cluster is None:
                raise FatalError(
                    f"AKS cluster {self.cluster_name} not found in resource group {self.cluster_rg}; "
                    "fix spec.azure.cluster",
                    Reason.CLUSTER_NOT_FOUND,
                )
        return self._cluster

    def node_count(self) -> int:
        return sum(int(p.count or 0) for p in (self.cluster().agent_pool_profiles or []))

    def node_pool(self) -> StepResult:
        self.cluster()
        pool = self.azure.node_pool
        if pool is None:
            return ready(
                ConditionType.NODE_POOL_READY,
                Reason.NODE_POOL_NOT_MANAGED,
                "no ML node pool managed (spec.azure.nodePool unset)",
            )
        aks = self.clients.aks()
        live = get_or_none(aks.agent_pools.get, self.cluster_rg, self.cluster_name, pool.name)
        desired = render_agent_pool(pool, str(self.platform.metadata.name))
        live_props = live.as_dict().get("properties", {}) if live is not None else {}
        state = state_of(live_props.get("provisioningState")) if live is not None else "absent"
        if state == "in-progress":
            return waiting(
                ConditionType.NODE_POOL_READY,
                f"node pool {pool.name} is {live_props.get('provisioningState')}",
                self.poll,
            )
        drift = agent_pool_drift(desired, live_props) if live is not None else ["all"]
        if drift and state != "failed":
            body = {**desired, "count": live_props.get("count", desired["count"])} if live is not None else desired
            self.ledger.begin(
                "nodePool",
                lambda: aks.agent_pools.begin_create_or_update(
                    self.cluster_rg, self.cluster_name, pool.name, AgentPool({"properties": body}), polling=Begun()
                ),
            )
            return waiting(
                ConditionType.NODE_POOL_READY, f"node pool {pool.name}: applying {', '.join(drift)}", self.poll
            )
        if state == "failed":
            message = failure_message(self.clients, self.ledger, "nodePool", f"node pool {pool.name}")
            return failed(ConditionType.NODE_POOL_READY, Reason.AZURE_OPERATION_FAILED, message)
        self.ledger.finish("nodePool")
        return ready(
            ConditionType.NODE_POOL_READY,
            Reason.NODE_POOL_READY,
            f"node pool {pool.name} ({pool.vm_size}, {pool.min_count}-{pool.max_count} nodes)",
        )

    def extension(self) -> StepResult:
        ext = self.azure.extension
        ops = self.clients.extensions().extensions
        coords = (self.cluster_rg, CLUSTER_RP, CLUSTER_TYPE, self.cluster_name, ext.name)
        live = get_or_none(ops.get, *coords)
        ssl = None
        if ext.ssl_secret_ref and not ext.allow_insecure_connections:
            ssl = ensure_ssl_secret(
                self.kube, self.settings, ext.ssl_secret_ref, EXTENSION_NAMESPACE, str(self.platform.metadata.name)
            )
        plan = extension_settings(ext, self.node_count(), ssl)
        if live is None:
            if ext.mode == "adopt":
                return failed(
                    ConditionType.EXTENSION_READY,
                    Reason.EXTENSION_NOT_FOUND,
                    f"extension {ext.name} is not installed on {self.cluster_name} (mode adopt); "
                    "install it or use mode install",
                )
            body = Extension(
                identity=Identity(type="SystemAssigned"),
                extension_type=EXTENSION_TYPE,
                auto_upgrade_minor_version=ext.auto_upgrade_minor_version,
                release_train="stable",
                scope=Scope(cluster=ScopeCluster(release_namespace=EXTENSION_NAMESPACE)),
                configuration_settings=plan.settings,
                configuration_protected_settings={},
            )
            self.ledger.begin("extension", lambda: ops.begin_create(*coords, body, polling=Begun()))
            self._mark_extension_created()
            return waiting(ConditionType.EXTENSION_READY, f"installing extension {ext.name}", self.poll)
        return self._extension_state(live, plan.settings, plan.notes, coords)

    def _extension_state(
        self, live: Any, desired: dict[str, str], notes: list[str], coords: tuple[str, ...]
    ) -> StepResult:
        ext = self.azure.extension
        if str(live.extension_type).lower() != EXTENSION_TYPE.lower():
            return failed(
                ConditionType.EXTENSION_READY,
                Reason.EXTENSION_MISCONFIGURED,
                f"extension {ext.name} has type {live.extension_type}, not {EXTENSION_TYPE}",
            )
        state = state_of(live.provisioning_state)
        if state == "in-progress":
            return waiting(
                ConditionType.EXTENSION_READY,
                f"extension {ext.name} is {state_name(live.provisioning_state)}",
                self.poll,
            )
        drift = settings_drift(desired, live.configuration_settings)
        if drift and ext.mode == "adopt":
            if "enableInference" in drift and ext.enable_inference:
                return failed(
                    ConditionType.EXTENSION_READY,
                    Reason.EXTENSION_MISCONFIGURED,
                    f"adopted extension {ext.name} has inference disabled; enable it or use mode install",
                )
            notes = [*notes, f"adopted as is; differs in {', '.join(drift)}"]
        elif drift and state != "failed":
            patch = PatchExtension(
                auto_upgrade_minor_version=ext.auto_upgrade_minor_version,
                release_train="stable",
                configuration_settings=desired,
            )
            extensions = self.clients.extensions().extensions
            self.ledger.begin("extension", lambda: extensions.begin_update(*coords, patch, polling=Begun()))
            return waiting(
                ConditionType.EXTENSION_READY, f"updating extension {ext.name}: {', '.join(drift)}", self.poll
            )
        if state == "failed":
            return failed(ConditionType.EXTENSION_READY, Reason.AZURE_OPERATION_FAILED, self._extension_failure(live))
        self.ledger.finish("extension")
        version = live.current_version or live.version or "unknown version"
        return ready(
            ConditionType.EXTENSION_READY,
            Reason.EXTENSION_READY,
            "; ".join([f"extension {ext.name} ({version})", *notes]),
        )

    def _extension_failure(self, live: Any) -> str:
        info = getattr(live, "error_info", None)
        if info is not None and getattr(info, "code", None):
            return f"extension {live.name} failed: ARM {info.code}: {info.message}"
        return failure_message(self.clients, self.ledger, "extension", f"extension {live.name}")

    def _mark_extension_created(self) -> None:
        patch = {"metadata": {"annotations": {ANNOTATION_CREATED_EXTENSION: "true"}}}
        self.kube.patch_merge(
            self.platform.api_version, self.platform.kind, str(self.platform.metadata.name), None, patch
        )

    def compute(self) -> StepResult:
        namespace, name = self.azure.namespace, self.azure.compute_name
        if self.kube.get("v1", "Namespace", namespace) is None:  # attach does not create it
            self.kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        ml = self.ml()
        live = get_or_none(ml.compute.get, name)
        if live is None:
            compute = KubernetesCompute(
                name=name,
                resource_id=self.cluster_id,
                namespace=namespace,
                identity=IdentityConfiguration(type="system_assigned"),
            )
            self.ledger.begin("compute", lambda: begin_compute_put(ml, compute))
            return waiting(
                ConditionType.COMPUTE_ATTACHED, f"attaching {self.cluster_name} as compute {name}", self.poll
            )
        if str(live.resource_id).lower() != self.cluster_id.lower() or live.namespace != namespace:
            return failed(
                ConditionType.COMPUTE_ATTACHED,
                Reason.COMPUTE_CONFLICT,
                f"compute {name} is attached to {live.resource_id} namespace {live.namespace}, not {self.cluster_id} "
                f"namespace {namespace}; detach it or choose another computeName",
            )
        return self._compute_state(live)

    def _compute_state(self, live: Any) -> StepResult:
        state = state_of(live.provisioning_state)
        if state == "in-progress":
            return waiting(
                ConditionType.COMPUTE_ATTACHED,
                f"compute {live.name} is {state_name(live.provisioning_state)}",
                self.poll,
            )
        if state == "failed":
            errors = getattr(live, "provisioning_errors", None) or []
            detail = "; ".join(str(e) for e in errors) if errors else ""
            message = (
                f"compute {live.name} failed: {detail}"
                if detail
                else failure_message(self.clients, self.ledger, "compute", f"compute {live.name}")
            )
            return failed(ConditionType.COMPUTE_ATTACHED, Reason.AZURE_OPERATION_FAILED, message)
        self.ledger.finish("compute")
        return ready(
            ConditionType.COMPUTE_ATTACHED,
            Reason.COMPUTE_ATTACHED,
            f"compute {live.name} (namespace {live.namespace})",
            computeResourceId=live.id,
        )

    def instance_types(self) -> StepResult:
        return sync_instance_types(self.kube, self.platform, self.poll)


def created_node_pool(live_pool: Any, platform_name: str) -> bool:
    """Only pools the operator created (tagged with its platform) are deleted with the platform."""
    tags = (live_pool.as_dict().get("properties", {}) or {}).get("tags") or {}
    return bool(tags.get(LABEL_PLATFORM) == platform_name)

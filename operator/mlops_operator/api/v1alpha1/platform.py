"""`MLOpsPlatform`: one per cluster (and, for Azure ML, per attached workspace)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from mlops_operator.api.v1alpha1.common import (
    API_VERSION,
    CamelModel,
    Condition,
    DnsLabel,
    FailureRecord,
    ObjectMeta,
    Operation,
    ResourceRequirements,
    SecretReference,
    Toleration,
    cel,
)
from mlops_operator.api.v1alpha1.gpu import GpuScheduling

AML_WORKLOAD_TAINT_KEY = "ml.azure.com/amlarc-workload"
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
TAINT_PATTERN = rf"^([A-Za-z0-9][-A-Za-z0-9_./]*)(?:=([-A-Za-z0-9_.]*))?:({'|'.join(TAINT_EFFECTS)})$"
Taint = Annotated[str, StringConstraints(pattern=TAINT_PATTERN)]
_INSECURE_MESSAGE = "inference over HTTPS needs sslSecretRef (and sslCname); or set allowInsecureConnections: true"


class InstanceType(CamelModel):
    """A named resource template, rendered to an Azure ML `InstanceType` or used directly for native pods."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    "has(self.resources.requests) && has(self.resources.limits)",
                    "instance types need both resources.requests and resources.limits (Azure ML requires both)",
                    ".resources",
                )
            ]
        }
    )

    name: DnsLabel = Field(description="Instance type name referenced by `ModelDeployment.spec.instanceType`.")
    resources: ResourceRequirements = Field(
        description="Requests and limits of each serving pod; both are required, GPUs in limits only."
    )
    node_selector: dict[str, str] = Field(
        default_factory=dict, description="Node labels the pods must match, e.g. `agentpool: mlpool`."
    )
    tolerations: list[Toleration] = Field(
        default_factory=list, description="Tolerations the pods carry, e.g. for a tainted ML node pool."
    )

    @model_validator(mode="after")
    def _both_requests_and_limits(self) -> InstanceType:
        if self.resources.requests is None or self.resources.limits is None:
            raise ValueError(
                "instance types need both resources.requests and resources.limits (Azure ML requires both)"
            )
        return self


class WorkspaceSettings(CamelModel):
    """The Azure ML workspace the cluster is attached to."""

    name: str = Field(min_length=3, max_length=33, description="Workspace name.")
    resource_group: str | None = Field(
        None, description="Resource group of the workspace; defaults to `resourceGroup`."
    )
    create: bool = Field(False, description="Create the workspace when it does not exist (otherwise only use it).")


class ClusterSettings(CamelModel):
    """The AKS managed cluster the operator runs in."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel("has(self.name) || has(self.resourceId)", "set cluster.name or cluster.resourceId")
            ]
        }
    )

    name: str | None = Field(None, description="AKS cluster name.")
    resource_group: str | None = Field(None, description="Resource group of the cluster; defaults to `resourceGroup`.")
    resource_id: str | None = Field(
        None,
        pattern=r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.ContainerService/managedClusters/[^/]+$",
        description="Full ARM resource id of the cluster; overrides `name` and `resourceGroup`.",
    )

    @model_validator(mode="after")
    def _named(self) -> ClusterSettings:
        if not self.name and not self.resource_id:
            raise ValueError("set cluster.name or cluster.resourceId")
        return self


class IdentitySettings(CamelModel):
    """How the operator authenticates to Azure. Secrets never go in the spec."""

    client_id: str | None = Field(
        None,
        description="Client id of a user-assigned identity (AKS workload identity); default credential chain if empty.",
    )
    credentials_secret_ref: SecretReference | None = Field(
        None,
        description="Secret with `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and `AZURE_CLIENT_SECRET`, as an alternative.",
    )


class ExtensionSettings(CamelModel):
    """The `Microsoft.AzureML.Kubernetes` cluster extension."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    "(has(self.allowInsecureConnections) && self.allowInsecureConnections) "
                    "|| has(self.sslSecretRef) || (has(self.enableInference) && !self.enableInference)",
                    _INSECURE_MESSAGE,
                    ".sslSecretRef",
                ),
            ]
        }
    )

    name: str = Field("azureml", description="Extension resource name.")
    mode: Literal["install", "adopt"] = Field(
        "install", description="`install` creates or updates it; `adopt` only uses an existing one."
    )
    enable_inference: bool = Field(True, description="Enable real-time inference (online endpoints).")
    inference_router_service_type: Literal["LoadBalancer", "NodePort", "ClusterIP"] | None = Field(
        "LoadBalancer", description="Service type of the Azure ML inference router."
    )
    internal_load_balancer_provider: Literal["azure"] | None = Field(
        None, description="Set `azure` for an internal load balancer."
    )
    allow_insecure_connections: bool = Field(False, description="Serve the inference router over plain HTTP.")
    inference_router_ha: bool = Field(
        True, alias="inferenceRouterHA", description="Run the router highly available (needs 3+ nodes)."
    )
    ssl_secret_ref: SecretReference | None = Field(None, description="Secret with `cert.pem` and `key.pem`.")
    ssl_cname: str | None = Field(None, description="Host name the TLS certificate is issued for.")
    auto_upgrade_minor_version: bool = Field(True, description="Let Azure upgrade the extension's minor version.")

    @model_validator(mode="after")
    def _inference_settings(self) -> ExtensionSettings:
        if self.enable_inference and self.inference_router_service_type is None:
            raise ValueError("enableInference needs inferenceRouterServiceType (LoadBalancer, NodePort or ClusterIP)")
        if self.enable_inference and not self.allow_insecure_connections and self.ssl_secret_ref is None:
            raise ValueError(_INSECURE_MESSAGE)
        return self


class NodePoolSettings(CamelModel):
    """An AKS user node pool reserved for model serving."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    "!has(self.minCount) || !has(self.maxCount) || self.minCount <= self.maxCount",
                    "nodePool.minCount must not exceed maxCount",
                    ".minCount",
                )
            ]
        }
    )

    name: str = Field(min_length=1, max_length=12, pattern=r"^[a-z][a-z0-9]*$", description="Pool name.")
    vm_size: str = Field("Standard_DS3_v2", description="VM size of the nodes.")
    min_count: int = Field(1, ge=0, le=1000, description="Autoscaler minimum node count.")
    max_count: int = Field(4, ge=1, le=1000, description="Autoscaler maximum node count.")
    taints: list[Taint] = Field(
        default_factory=lambda: [f"{AML_WORKLOAD_TAINT_KEY}=true:NoSchedule"],
        description=(
            "Node taints `key=value:Effect`; defaults to Azure ML's own workload taint, which its pods tolerate."
        ),
    )
    labels: dict[str, str] = Field(default_factory=dict, description="Node labels for instance-type node selectors.")
    accelerator: Literal["nvidia"] | None = Field(
        None,
        description=(
            "`nvidia` when `vmSize` has NVIDIA GPUs (e.g. the NC and ND A100/H100 sizes): instance types with "
            "`nvidia.com/gpu` limits are then placed on this pool and tolerate its taints (see `spec.gpu`). "
            "Not guessed from `vmSize`: AMD GPU sizes share the NV and ND prefixes."
        ),
    )

    @model_validator(mode="after")
    def _min_le_max(self) -> NodePoolSettings:
        if self.min_count > self.max_count:
            raise ValueError(f"minCount ({self.min_count}) must not exceed maxCount ({self.max_count})")
        return self


class AzureSettings(CamelModel):
    """Where the Azure ML side lives. Used when `backend` is `azureml`."""

    subscription_id: str = Field(pattern=r"^[0-9a-fA-F-]{36}$", description="Azure subscription id (a GUID).")
    resource_group: str = Field(min_length=1, max_length=90, description="Default resource group.")
    location: str | None = Field(None, description="Azure region, needed only when creating the workspace.")
    workspace: WorkspaceSettings = Field(description="The Azure ML workspace.")
    cluster: ClusterSettings = Field(description="The AKS cluster to attach.")
    compute_name: str = Field(
        "aks-compute",
        min_length=2,
        max_length=16,
        pattern=r"^[a-zA-Z][a-zA-Z0-9-]*$",
        description="Name of the Kubernetes compute in the workspace.",
    )
    namespace: DnsLabel = Field("azureml", description="Inference namespace in the cluster (created if missing).")
    identity: IdentitySettings = Field(default_factory=IdentitySettings, description="Credentials.")
    extension: ExtensionSettings = Field(default_factory=ExtensionSettings, description="The AzureML extension.")
    node_pool: NodePoolSettings | None = Field(None, description="Optional tainted ML node pool to ensure.")


class GatewayRetry(CamelModel):
    """Retries of requests the Gateway could not deliver to a scoring pod at all.

    Only connection errors are retried (refused or reset before the request was written), so a retried
    request never reached a model: safe for any request. This covers the seconds between a pod dying and
    its endpoint leaving the EndpointSlice, when new requests would otherwise get 502.
    """

    attempts: int = Field(
        10,
        ge=2,
        le=20,
        description=(
            "Tries in all, the first one included. A refused connection costs well under a millisecond, and the "
            "balancer may pick the dead pod again: with two replicas about 28 % of retries did on the real node, "
            "so 3 tries lost 25 requests in a kill where 10 lost none."
        ),
    )
    via: Literal["TraefikMiddleware"] = Field(
        "TraefikMiddleware",
        description=(
            "How the Gateway is told. `TraefikMiddleware`: a `traefik.io/v1alpha1` Middleware (`retry`, which "
            "retries only before the request is written) per endpoint, referenced from each HTTPRoute rule by "
            "an ExtensionRef filter; needs Traefik with its kubernetesCRD provider and CRDs. Without the "
            "Middleware CRD the route is applied without it and TrafficApplied says so."
        ),
    )


class GatewayParentRef(CamelModel):
    """The Gateway that endpoint HTTPRoutes attach to."""

    name: str = Field(min_length=1, max_length=253, description="Gateway name.")
    namespace: str | None = Field(None, description="Gateway namespace; defaults to the route's.")
    section_name: str | None = Field(None, description="Listener name on the Gateway.")
    retry: GatewayRetry | None = Field(
        None, description="Retry requests that could not reach a scoring pod (connection errors only)."
    )

    def parent_ref(self) -> dict[str, str]:
        """The HTTPRoute `parentRefs` entry."""
        wire = {"name": self.name, "namespace": self.namespace, "sectionName": self.section_name}
        return {key: value for key, value in wire.items() if value is not None}


class NativeSettings(CamelModel):
    """Settings of the native backend (no Azure)."""

    scoring_image: str | None = Field(
        None, description="Image of the scoring server; defaults to the operator's configured image."
    )
    gateway: GatewayParentRef | None = Field(
        None, description="Gateway for endpoint HTTPRoutes (traffic split, pinning, mirroring)."
    )
    model_fetcher_image: str | None = Field(
        None, description="Image of the init container that fetches models; defaults to the scoring image."
    )


class MLOpsPlatformSpec(CamelModel):
    """Desired state of a platform."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    "!has(self.backend) || self.backend != 'azureml' || has(self.azure)",
                    "backend azureml needs the azure section (subscriptionId, resourceGroup, workspace, cluster)",
                    ".azure",
                ),
                cel(
                    "!has(self.instanceTypes) || "
                    "self.instanceTypes.all(a, self.instanceTypes.exists_one(b, a.name == b.name))",
                    "instance type names must be unique",
                    ".instanceTypes",
                ),
            ]
        }
    )

    backend: Literal["native", "azureml"] = Field(
        "native", description="`native` serves models itself on any cluster; `azureml` drives Azure ML."
    )
    instance_types: list[InstanceType] = Field(
        default_factory=list, max_length=32, description="Resource templates offered to model deployments."
    )
    default_instance_type: DnsLabel | None = Field(
        None, description="Instance type used by deployments that name none; must be in `instanceTypes`."
    )
    native: NativeSettings = Field(default_factory=NativeSettings, description="Native backend settings.")
    azure: AzureSettings | None = Field(None, description="Azure ML settings; required for backend `azureml`.")
    gpu: GpuScheduling = Field(
        default_factory=GpuScheduling,
        description=(
            "Scheduling added to instance types with `nvidia.com/gpu` limits (AKS GPU pool tolerations by "
            "default); `enabled: false` turns it off."
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> MLOpsPlatformSpec:
        names = [it.name for it in self.instance_types]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"instance type names must be unique; rename {', '.join(duplicates)}")
        if self.backend == "azureml" and self.azure is None:
            raise ValueError(
                "backend azureml needs the azure section (subscriptionId, resourceGroup, workspace, cluster)"
            )
        if self.default_instance_type and self.default_instance_type not in names:
            raise ValueError(
                f"defaultInstanceType {self.default_instance_type!r} is not one of instanceTypes; "
                f"use one of {names or 'the instance types you add'}"
            )
        return self

    def instance_type(self, name: str) -> InstanceType | None:
        """The instance type called `name`, if offered."""
        return next((it for it in self.instance_types if it.name == name), None)


class MLOpsPlatformStatus(CamelModel):
    """Observed state of a platform."""

    observed_generation: int | None = Field(None, description="Generation of the spec last reconciled.")
    conditions: list[Condition] = Field(default_factory=list, description="Ready and per-step conditions.")
    instance_types: list[str] = Field(default_factory=list, description="Instance types offered, by name.")
    compute_resource_id: str | None = Field(None, description="ARM id of the attached Kubernetes compute.")
    workspace_id: str | None = Field(None, description="ARM id of the Azure ML workspace.")
    operations: dict[str, Operation] = Field(
        default_factory=dict, description="Azure long-running operations in flight, by step (resumable)."
    )
    last_failure: FailureRecord | None = Field(None, description="The last failure, until the next success.")


class MLOpsPlatform(CamelModel):
    """A cluster's serving platform: backend, instance types and (for Azure ML) the attached workspace."""

    api_version: Literal["mlops.dev/v1alpha1"] = Field(API_VERSION, description="API version.")
    kind: Literal["MLOpsPlatform"] = Field("MLOpsPlatform", description="Kind.")
    metadata: ObjectMeta = Field(default_factory=ObjectMeta, description="Standard object metadata.")
    spec: MLOpsPlatformSpec = Field(description="Desired state.")
    status: MLOpsPlatformStatus | None = Field(None, description="Observed state, written by the operator.")

"""`GlobalEndpoint`: one endpoint served in several regions (clusters) behind one global URL, with failover.

The hub cluster holds the GlobalEndpoint; each region is another cluster the operator reaches through a
kubeconfig Secret. The operator places ModelDeployments there (or fronts endpoints already there), watches
them and probes them, and configures one global router: Azure Front Door, or a local Traefik.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from mlops_operator.api.v1alpha1.common import (
    API_VERSION,
    CamelModel,
    Condition,
    DnsLabel,
    FailureRecord,
    LocalObjectReference,
    ObjectMeta,
    Operation,
    ResourceRequirements,
    cel,
)
from mlops_operator.api.v1alpha1.deployment import (
    AML_NAME_PATTERN,
    EndpointSettings,
    ModelDeploymentSpec,
    ScaleSettings,
)

ROUTING_POLICIES = ("priority", "weighted", "latency")


class KubeconfigSecretReference(CamelModel):
    """A Secret in the GlobalEndpoint's namespace holding a kubeconfig for the region's cluster."""

    name: DnsLabel = Field(description="Name of the Secret.")
    key: str = Field("kubeconfig", min_length=1, description="Key of the kubeconfig in the Secret's data.")


class ClusterAccess(CamelModel):
    """How the operator reaches a region's cluster."""

    kubeconfig_secret_ref: KubeconfigSecretReference = Field(
        description="Secret with a kubeconfig whose user may manage ModelDeployments and Secrets there."
    )


class RegionOverrides(CamelModel):
    """Per-region changes merged over every placed deployment's spec."""

    instance_count: int | None = Field(None, ge=0, le=1000, description="Pods per deployment in this region.")
    instance_type: DnsLabel | None = Field(None, description="Instance type in this region's platform.")
    scale_settings: ScaleSettings | None = Field(None, description="Scaling in this region.")
    resources: ResourceRequirements | None = Field(None, description="Container resources in this region.")
    environment_variables: dict[str, str] = Field(
        default_factory=dict, description="Extra environment variables, merged over the template's."
    )


class Region(CamelModel):
    """One regional cluster serving the endpoint."""

    name: DnsLabel = Field(description="Region name, e.g. `eastus`; names the origin and the router's service.")
    cluster: ClusterAccess = Field(description="How to reach the region's cluster.")
    namespace: DnsLabel | None = Field(None, description="Namespace there; defaults to the GlobalEndpoint's.")
    platform_ref: LocalObjectReference = Field(
        default_factory=lambda: LocalObjectReference(name="default"),
        description="The MLOpsPlatform in that cluster the placed deployments use.",
    )
    url: str | None = Field(
        None,
        pattern=r"^https?://[^/\s]+$",
        description="Base URL (scheme://host[:port]) the global router reaches the region at; defaults to the "
        "scheme and host of the regional endpoint's scoring URI.",
    )
    priority: int = Field(1, ge=1, le=5, description="Routing priority: lower wins (policy `priority`).")
    weight: int = Field(1, ge=1, le=1000, description="Share of traffic among regions of equal priority.")
    enabled: bool = Field(True, description="False drains the region on purpose (it stays placed).")
    overrides: RegionOverrides = Field(default_factory=RegionOverrides, description="Per-region changes.")


class DeploymentTemplateSpec(ModelDeploymentSpec):
    """A ModelDeployment spec placed in every region; `endpoint` and `platformRef` are set per region."""

    platform_ref: LocalObjectReference | None = Field(  # type: ignore[assignment]
        None, description="Ignored: each region's `platformRef` is used."
    )
    endpoint: EndpointSettings | None = Field(  # type: ignore[assignment]
        None, description="Ignored: the GlobalEndpoint's `endpoint` is used."
    )


class DeploymentTemplate(CamelModel):
    """One ModelDeployment placed in every region under this name."""

    name: str = Field(pattern=AML_NAME_PATTERN, description="ModelDeployment name in each region.")
    spec: DeploymentTemplateSpec = Field(description="Its spec (with `traffic` split among the template's).")


class RoutingPolicy(CamelModel):
    """How the global router chooses among healthy regions."""

    type: Literal["priority", "weighted", "latency"] = Field(
        "priority",
        description="`priority`: lowest priority value wins, weights split ties (active/passive); `weighted`: "
        "by weight across all regions; `latency`: the fastest regions within `latencySensitivityMs` "
        "(Front Door only; Traefik approximates it and says so on the `PolicySupported` condition).",
    )
    latency_sensitivity_ms: int = Field(
        50, ge=0, le=1000, description="Regions this much slower than the fastest still get traffic (latency)."
    )


class GlobalProbe(CamelModel):
    """The health probe of each region, sent to the regional endpoint's liveness route."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    "!has(self.successfulSamplesRequired) || !has(self.sampleSize) || "
                    "self.successfulSamplesRequired <= self.sampleSize",
                    "successfulSamplesRequired must not exceed sampleSize",
                    ".successfulSamplesRequired",
                )
            ]
        }
    )

    path: str = Field("/", pattern=r"^/[^\s]*$", description="Path below the endpoint's prefix to probe.")
    method: Literal["GET", "HEAD"] = Field("GET", description="Probe method.")
    interval_seconds: int = Field(10, ge=1, le=255, description="Seconds between probes.")
    timeout_seconds: int = Field(2, ge=1, le=60, description="Seconds before a probe counts as failed.")
    sample_size: int = Field(4, ge=1, le=255, description="Front Door: probes per load-balancing decision.")
    successful_samples_required: int = Field(3, ge=1, le=255, description="Front Door: successes among them.")

    @model_validator(mode="after")
    def _samples(self) -> GlobalProbe:
        if self.successful_samples_required > self.sample_size:
            raise ValueError("healthProbe.successfulSamplesRequired must not exceed healthProbe.sampleSize")
        return self


class FailoverPolicy(CamelModel):
    """When a region leaves and rejoins the rotation: hysteresis on top of the router's own health checks."""

    require_ready: bool = Field(True, description="A region whose ModelDeployments are not Ready is taken out.")
    failures_to_remove: int = Field(2, ge=1, le=100, description="Consecutive failed probes that take it out.")
    successes_to_restore: int = Field(3, ge=1, le=100, description="Consecutive good probes that bring it back.")
    hold_down_seconds: int = Field(30, ge=0, le=3600, description="Least time a region stays out once removed.")


class FrontDoorSettings(CamelModel):
    """Azure Front Door Standard/Premium as the global router."""

    platform_ref: LocalObjectReference = Field(
        description="An `azureml` MLOpsPlatform in this cluster: its subscription and credentials are used."
    )
    resource_group: str | None = Field(
        None, min_length=1, max_length=90, description="Resource group of the profile; defaults to the platform's."
    )
    profile: str = Field(min_length=1, max_length=260, description="Front Door profile name (created if missing).")
    endpoint: str | None = Field(None, max_length=46, description="AFD endpoint name; defaults to the object's.")
    sku: Literal["Standard_AzureFrontDoor", "Premium_AzureFrontDoor"] = Field(
        "Standard_AzureFrontDoor", description="Profile SKU."
    )
    forwarding_protocol: Literal["HttpOnly", "HttpsOnly", "MatchRequest"] = Field(
        "HttpsOnly", description="Protocol Front Door uses to reach the regions."
    )


class TraefikRouterSettings(CamelModel):
    """A Traefik process (file provider) as the global router: the operator writes its dynamic config."""

    config_path: str = Field(
        pattern=r"^/\S+$", description="File Traefik's file provider watches; written atomically by the operator."
    )
    entry_point: str = Field("web", min_length=1, description="Traefik entry point the global route listens on.")
    url: str | None = Field(None, pattern=r"^https?://\S+$", description="Base URL clients use (for status).")


class GlobalRouter(CamelModel):
    """Exactly one global router."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel("has(self.traefik) != has(self.frontDoor)", "set exactly one of router.traefik, router.frontDoor")
            ]
        }
    )

    traefik: TraefikRouterSettings | None = Field(None, description="A local Traefik (no Azure).")
    front_door: FrontDoorSettings | None = Field(None, description="Azure Front Door.")

    @model_validator(mode="after")
    def _exactly_one(self) -> GlobalRouter:
        if (self.traefik is None) == (self.front_door is None):
            raise ValueError("set exactly one of router.traefik, router.frontDoor")
        return self


class GlobalEndpointSpec(CamelModel):
    """Desired state of a multi-region endpoint."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    "self.regions.all(r, self.regions.exists_one(s, s.name == r.name))",
                    "region names must be unique",
                    ".regions",
                ),
                cel(
                    "!has(self.deployments) || self.deployments.all(d, self.deployments.exists_one(e, "
                    "e.name == d.name))",
                    "deployment names must be unique",
                    ".deployments",
                ),
            ]
        }
    )

    endpoint: EndpointSettings = Field(description="The endpoint served in every region (name and auth mode).")
    deployments: list[DeploymentTemplate] = Field(
        default_factory=list,
        max_length=4,
        description="ModelDeployments placed in every region; empty fronts the endpoint already served there.",
    )
    regions: list[Region] = Field(min_length=1, max_length=8, description="The regions serving the endpoint.")
    routing: RoutingPolicy = Field(default_factory=RoutingPolicy, description="How traffic picks a region.")
    health_probe: GlobalProbe = Field(default_factory=GlobalProbe, description="How regions are probed.")
    failover: FailoverPolicy = Field(default_factory=FailoverPolicy, description="When regions leave and rejoin.")
    router: GlobalRouter = Field(description="The global router in front of the regions.")

    @model_validator(mode="after")
    def _unique_names(self) -> GlobalEndpointSpec:
        for what, names in (
            ("regions", [r.name for r in self.regions]),
            ("deployments", [d.name for d in self.deployments]),
        ):
            if len(set(names)) != len(names):
                raise ValueError(f"{what} names must be unique")
        return self


RegionHealth = Literal["Healthy", "Unhealthy", "Unknown"]


class RegionStatus(CamelModel):
    """What the operator last saw of one region."""

    name: str = Field(description="Region name.")
    ready: bool = Field(False, description="Every placed (or fronted) ModelDeployment there is Ready.")
    deployments_ready: str = Field("0/0", description="Ready ModelDeployments out of those expected.")
    health: RegionHealth = Field("Unknown", description="The probe's verdict after hysteresis.")
    consecutive_successes: int = Field(0, description="Good probes in a row.")
    consecutive_failures: int = Field(0, description="Failed probes in a row.")
    probe_latency_ms: int | None = Field(None, description="Latency of the last probe, in milliseconds.")
    receiving_traffic: bool = Field(False, description="Whether the global router sends it traffic.")
    out_since: str | None = Field(None, description="When it was taken out of the rotation, while it is out.")
    origin: str | None = Field(None, description="Base URL the router reaches it at.")
    message: str = Field("", description="Why it is not serving, when it is not.")


class FailoverRecord(CamelModel):
    """A region leaving or rejoining the rotation."""

    time: str = Field(description="When (RFC 3339).")
    region: str = Field(description="Which region.")
    direction: Literal["Removed", "Restored"] = Field(description="Whether it left or rejoined.")
    reason: str = Field(description="Stable PascalCase reason, e.g. `ProbeFailed` or `DeploymentsNotReady`.")
    message: str = Field("", description="Details.")


class GlobalEndpointStatus(CamelModel):
    """Observed state, written by the operator."""

    observed_generation: int | None = Field(None, description="Generation of the spec last reconciled.")
    conditions: list[Condition] = Field(default_factory=list, description="Ready and detailed conditions.")
    url: str | None = Field(None, description="The global URL of the endpoint's scoring route.")
    policy_in_force: str | None = Field(None, description="The routing policy the router applies.")
    regions: list[RegionStatus] = Field(default_factory=list, description="Per-region state.")
    last_failover: FailoverRecord | None = Field(None, description="The last region removed or restored.")
    applied: dict[str, str] = Field(
        default_factory=dict, description="Digest of what was last applied, per resource (unchanged = equal)."
    )
    operations: dict[str, Operation] = Field(
        default_factory=dict, description="Azure operations in flight (Front Door)."
    )
    last_failure: FailureRecord | None = Field(None, description="The last failure, until the next success.")


class GlobalEndpoint(CamelModel):
    """One model endpoint served from several regional clusters behind one global URL, with failover."""

    api_version: Literal["mlops.dev/v1alpha1"] = Field(API_VERSION, description="API version.")
    kind: Literal["GlobalEndpoint"] = Field("GlobalEndpoint", description="Kind.")
    metadata: ObjectMeta = Field(default_factory=ObjectMeta, description="Standard object metadata.")
    spec: GlobalEndpointSpec = Field(description="Desired state.")
    status: GlobalEndpointStatus | None = Field(None, description="Observed state, written by the operator.")

"""`ModelDeployment`: one model version served behind an endpoint, mirroring Azure ML's online deployment."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from mlops_operator.api.v1alpha1.autoscaling import MetricScaling
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
from mlops_operator.api.v1alpha1.monitoring import DriftStatus, MonitoringSettings
from mlops_operator.api.v1alpha1.rollout import RolloutSpec, RolloutStatus

# Azure ML names endpoints and deployments with 3-32 letters, digits and dashes, starting with a letter.
AML_NAME_PATTERN = r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$"
MODEL_URI_SCHEMES = ("https://", "azureml://", "pvc://", "oci://", "configmap://", "file://")
# Kubernetes' rule for container environment variable names (before 1.34 relaxed it): the pod would be refused.
ENV_NAME_PATTERN = r"^[-._a-zA-Z][-._a-zA-Z0-9]*$"
ENV_NAME_MESSAGE = (
    "environmentVariables names are letters, digits, '_', '-' and '.', not starting with a digit "
    "(Kubernetes' rule for container environment variables)"
)

# The scoring container's variables the operator derives from the spec: a user value would silently undo the
# field (MLOPS_KEYS_DIR is key auth itself), so each is refused with the field to set instead. AML's tunables
# (WORKER_COUNT, SCORING_TIMEOUT_MS, AZUREML_LOG_LEVEL, ...) stay the user's, as in Azure ML.
RESERVED_ENVIRONMENT_VARIABLES = {
    "AZUREML_MODEL_DIR": "spec.model",
    "AZUREML_ENTRY_SCRIPT": "spec.code.scoringScript",
    "AML_APP_ROOT": "spec.code",
    "AZUREML_SOURCE_DIRECTORY": "spec.code",
    "AZUREML_DEPLOYMENT_NAME": "metadata.name",
    "AZUREML_ENDPOINT_NAME": "spec.endpoint.name",
    "MLOPS_KEYS_DIR": "spec.endpoint.authMode",
    "MLOPS_DRIFT_PROFILE": "spec.monitoring.drift",
    "MLOPS_SCORING_THREADS": "spec.requestSettings.maxConcurrentRequestsPerInstance",
}
RESERVED_ENV_MESSAGE = "environmentVariables may not set what the operator derives from the spec: " + ", ".join(
    f"{name} (set {field})" for name, field in RESERVED_ENVIRONMENT_VARIABLES.items()
)


class EndpointSettings(CamelModel):
    """The online endpoint this deployment serves behind; shared by all deployments naming it."""

    name: str = Field(
        pattern=AML_NAME_PATTERN,
        description="Endpoint name: 3-32 lowercase letters, digits and dashes, starting with a letter.",
    )
    auth_mode: Literal["key", "aml_token", "aad_token"] = Field(
        "key", description="`key` (default) or `aml_token`; `aad_token` is not supported on Kubernetes."
    )


class ModelSettings(CamelModel):
    """The model version to serve."""

    name: str = Field(min_length=1, max_length=255, pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", description="Model name.")
    version: str = Field(
        min_length=1, max_length=64, pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", description="Model version."
    )
    uri: str | None = Field(
        None,
        pattern=r"^(https://|azureml://|pvc://|oci://|configmap://|file://).+",
        description=(
            "Where the model files are: `https://` (downloaded), `pvc://<claim>/<path>`, `configmap://<name>` "
            "(small models), `oci://`, `azureml://` (a registered asset) or `file://` (registered from a "
            "local path by the Azure ML backend). Empty means an already registered `name`:`version`."
        ),
    )


_SCRIPT_ESCAPES = "scoringScript must stay inside the code root: no '..' path segments"


class CodeSettings(CamelModel):
    """The scoring code (`score.py` with `init()` and `run()`)."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    "!has(self.scoringScript) || !(self.scoringScript.startsWith('../') || "
                    "self.scoringScript.contains('/../'))",
                    _SCRIPT_ESCAPES,
                    ".scoringScript",
                )
            ]
        }
    )

    scoring_script: str = Field(
        "score.py",
        pattern=r"^[^/].*\.py$",
        description="Entry script relative to the code root, e.g. `score.py`.",
    )
    config_map: LocalObjectReference | None = Field(
        None, description="ConfigMap whose keys are the code files; empty when the image contains the code."
    )

    @field_validator("scoring_script")
    @classmethod
    def _inside_code_root(cls, script: str) -> str:
        if script.startswith("../") or "/../" in script:
            raise ValueError(_SCRIPT_ESCAPES)
        return script


class EnvironmentSettings(CamelModel):
    """The runtime environment (container image)."""

    image: str | None = Field(None, min_length=1, description="Container image with the model's dependencies.")
    name: str | None = Field(None, description="Azure ML environment name (for the azureml backend).")
    version: str | None = Field(None, description="Azure ML environment version.")
    image_pull_secrets: list[LocalObjectReference] = Field(
        default_factory=list,
        max_length=16,
        description="Secrets in this namespace for pulling `image` from a private registry (native backend).",
    )


class RequestSettings(CamelModel):
    """How requests are handled by each instance."""

    request_timeout_ms: int = Field(5000, ge=1, le=300000, description="Scoring timeout in milliseconds.")
    max_concurrent_requests_per_instance: int = Field(
        1,
        ge=1,
        le=1000,
        description=(
            "Scoring calls one instance runs at once; the native backend splits them over one worker process "
            "per CPU of the pod's limit, with threads for the rest."
        ),
    )
    max_queue_wait_ms: int = Field(
        500,
        ge=0,
        le=300000,
        description=(
            "Accepted for Azure ML YAML compatibility and passed to Azure ML, which deprecates it: "
            "include queueing time in requestTimeoutMs instead. The native backend ignores it."
        ),
    )


class ProbeSettings(CamelModel):
    """A health probe, in Azure ML's terms (seconds)."""

    initial_delay: int = Field(10, ge=0, le=3600, description="Seconds before the first probe.")
    period: int = Field(10, ge=1, le=3600, description="Seconds between probes.")
    timeout: int = Field(2, ge=1, le=3600, description="Seconds before a probe times out.")
    success_threshold: int = Field(1, ge=1, le=100, description="Successes that make the probe pass.")
    failure_threshold: int = Field(30, ge=1, le=1000, description="Failures that make the probe fail.")


class ScaleSettings(CamelModel):
    """Fixed instance count (`default`), autoscaling on CPU utilisation (`targetUtilization`, Azure ML's) or on
    a model metric (`metric`: requests, in-flight requests, latency, GPU utilisation; KEDA, native backend)."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    "!has(self.minInstances) || !has(self.maxInstances) || self.minInstances <= self.maxInstances",
                    "scaleSettings.minInstances must not exceed maxInstances",
                    ".minInstances",
                ),
                cel(
                    "(has(self.type) && self.type == 'metric') == has(self.metric)",
                    "scaleSettings.metric is set exactly when scaleSettings.type is metric",
                    ".metric",
                ),
            ]
        }
    )

    type: Literal["default", "targetUtilization", "metric"] = Field(
        "default",
        description="`default` runs `instanceCount` pods; `targetUtilization` and `metric` autoscale.",
    )
    min_instances: int = Field(1, ge=0, le=1000, description="Autoscaling minimum.")
    max_instances: int = Field(1, ge=1, le=1000, description="Autoscaling maximum.")
    target_utilization_percentage: int = Field(70, ge=1, le=100, description="Target CPU utilisation.")
    polling_interval: int = Field(1, ge=1, le=3600, description="Seconds between autoscaler evaluations.")
    metric: MetricScaling | None = Field(None, description="With type `metric`: what to scale on.")

    @model_validator(mode="after")
    def _min_le_max(self) -> ScaleSettings:
        if self.min_instances > self.max_instances:
            raise ValueError(f"minInstances ({self.min_instances}) must not exceed maxInstances ({self.max_instances})")
        if (self.type == "metric") != (self.metric is not None):
            raise ValueError("scaleSettings.metric is set exactly when scaleSettings.type is metric")
        return self


class DeploymentMeta(ObjectMeta):
    """Object metadata whose name doubles as the Azure ML deployment name."""

    @field_validator("name")
    @classmethod
    def _aml_name(cls, name: str | None) -> str | None:
        if name is not None and not re.match(AML_NAME_PATTERN, name):
            raise ValueError(
                f"{name!r} is also the deployment name: use 3-32 lowercase letters, digits and dashes, "
                "starting with a letter (Azure ML's rule)"
            )
        return name


class ModelDeploymentSpec(CamelModel):
    """Desired state of a model deployment."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    "!has(self.mirrorTraffic) || !has(self.traffic) || self.mirrorTraffic == 0 || self.traffic == 0",
                    "a deployment gets live traffic or mirrored traffic, not both; set one of them to 0",
                    ".mirrorTraffic",
                ),
                cel(
                    "(has(self.scaleSettings) && has(self.scaleSettings.type) && "
                    "self.scaleSettings.type != 'default') || !has(self.instanceCount) || "
                    "self.instanceCount >= 1",
                    "instanceCount must be at least 1 with default scaling",
                    ".instanceCount",
                ),
                cel(
                    "!has(self.environmentVariables) || "
                    f"self.environmentVariables.all(k, k.matches('{ENV_NAME_PATTERN}'))",
                    ENV_NAME_MESSAGE,
                    ".environmentVariables",
                ),
                cel(
                    "!has(self.environmentVariables) || !self.environmentVariables.exists(k, k in "
                    f"{sorted(RESERVED_ENVIRONMENT_VARIABLES)})",
                    RESERVED_ENV_MESSAGE,
                    ".environmentVariables",
                ),
            ]
        }
    )

    platform_ref: LocalObjectReference = Field(description="The MLOpsPlatform to deploy on.")
    endpoint: EndpointSettings = Field(description="The endpoint this deployment serves behind.")
    model: ModelSettings = Field(description="The model version to serve.")
    code: CodeSettings = Field(default_factory=CodeSettings, description="The scoring code.")
    environment: EnvironmentSettings = Field(default_factory=EnvironmentSettings, description="Runtime image.")
    instance_type: DnsLabel | None = Field(
        None, description="Instance type of the platform; defaults to its `defaultInstanceType`."
    )
    instance_count: int = Field(1, ge=0, le=1000, description="Pods to run with default scaling (at least 1).")
    traffic: int = Field(0, ge=0, le=100, description="Percent of the endpoint's live traffic (0-100).")
    mirror_traffic: int = Field(
        0, ge=0, le=50, description="Percent of live traffic copied here (0-50); native backend only."
    )
    request_settings: RequestSettings = Field(default_factory=RequestSettings, description="Request handling.")
    liveness_probe: ProbeSettings = Field(default_factory=ProbeSettings, description="Liveness probe.")
    readiness_probe: ProbeSettings = Field(default_factory=ProbeSettings, description="Readiness probe.")
    scale_settings: ScaleSettings = Field(default_factory=ScaleSettings, description="Scaling.")
    resources: ResourceRequirements | None = Field(
        None,
        description="Per-pod resources; must fit the instance type's limits. Defaults to the instance type.",
    )
    environment_variables: dict[str, str] = Field(
        default_factory=dict,
        max_length=128,
        description=(
            "Extra environment variables of the scoring container; values are passed verbatim. Azure ML's "
            "tunables (WORKER_COUNT, SCORING_TIMEOUT_MS, ...) may be set; the variables the operator derives "
            "from other fields (AZUREML_MODEL_DIR, AZUREML_ENTRY_SCRIPT, MLOPS_KEYS_DIR, ...) are refused."
        ),
    )
    rollout: RolloutSpec | None = Field(
        None,
        description=(
            "Progressive delivery: reach `traffic` from the baseline in steps checked by metric gates, rolling "
            "back on failure. spec.traffic stays the destination; the steps are in status.rollout."
        ),
    )
    monitoring: MonitoringSettings = Field(
        default_factory=MonitoringSettings,
        description="What the operator watches about the served model: data drift against the training data.",
    )

    @field_validator("environment_variables")
    @classmethod
    def _env_names(cls, env: dict[str, str]) -> dict[str, str]:
        bad = sorted(name for name in env if not re.match(ENV_NAME_PATTERN, name))
        if bad:
            raise ValueError(f"{ENV_NAME_MESSAGE}; rename {', '.join(repr(n) for n in bad)}")
        reserved = [f"{n} is set by the operator from {RESERVED_ENVIRONMENT_VARIABLES[n]}" for n in sorted(env)
                    if n in RESERVED_ENVIRONMENT_VARIABLES]  # fmt: skip
        if reserved:
            raise ValueError(f"{'; '.join(reserved)}: remove it and set that field instead")
        return env

    @model_validator(mode="after")
    def _cross_field_rules(self) -> ModelDeploymentSpec:
        if self.traffic and self.mirror_traffic:
            raise ValueError(
                "a deployment gets live traffic or mirrored traffic, not both; set traffic or mirrorTraffic to 0"
            )
        if self.scale_settings.type == "default" and self.instance_count < 1:
            raise ValueError("instanceCount must be at least 1 with default scaling")
        return self


class ReplicaStatus(CamelModel):
    """Pods of the deployment."""

    desired: int = Field(0, description="Pods wanted.")
    ready: int = Field(0, description="Pods ready to serve.")
    updated: int = Field(0, description="Pods running the current spec.")


class ModelDeploymentStatus(CamelModel):
    """Observed state of a model deployment."""

    observed_generation: int | None = Field(None, description="Generation of the spec last reconciled.")
    conditions: list[Condition] = Field(default_factory=list, description="Ready and detailed conditions.")
    scoring_uri: str | None = Field(
        None,
        description="URI clients POST scoring requests to: on the platform's Gateway (its status address and "
        "listener port) when there is one, else the in-cluster Service.",
    )
    in_cluster_scoring_uri: str | None = Field(
        None, description="The same endpoint through its Service, for callers inside the cluster."
    )
    swagger_uri: str | None = Field(None, description="URI of the generated OpenAPI document.")
    keys_secret_ref: LocalObjectReference | None = Field(
        None, description="Secret with `primaryKey` and `secondaryKey` of the endpoint."
    )
    traffic: dict[str, int] = Field(
        default_factory=dict, description="Live traffic per deployment of the endpoint, as in force."
    )
    mirror_traffic: dict[str, int] = Field(default_factory=dict, description="Mirrored traffic in force.")
    replicas: ReplicaStatus | None = Field(None, description="Pods desired and ready.")
    provisioning_state: str | None = Field(None, description="Azure ML provisioning state (azureml backend).")
    revision: str | None = Field(
        None,
        description="Revision of the scoring code and model content every pod runs once a rollout completes: "
        "a hash of the referenced ConfigMaps. Editing them rolls the Deployment to a new revision.",
    )
    operations: dict[str, Operation] = Field(
        default_factory=dict, description="Azure long-running operations in flight, by step (resumable)."
    )
    last_failure: FailureRecord | None = Field(None, description="The last failure, until the next success.")
    rollout: RolloutStatus | None = Field(None, description="The progressive rollout of spec.rollout, if any.")
    drift: DriftStatus | None = Field(None, description="Data drift as last checked (spec.monitoring.drift).")


class ModelDeployment(CamelModel):
    """A model version served behind an endpoint, with traffic, probes, request settings and scaling."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    "self.metadata.name.size() >= 3 && self.metadata.name.size() <= 32 && "
                    "self.metadata.name.matches('^[a-z][a-z0-9-]*[a-z0-9]$')",
                    "metadata.name is the deployment name: 3-32 lowercase letters, digits and dashes, "
                    "starting with a letter (Azure ML's rule)",
                    reason="FieldValueInvalid",
                )
            ]
        }
    )

    api_version: Literal["mlops.dev/v1alpha1"] = Field(API_VERSION, description="API version.")
    kind: Literal["ModelDeployment"] = Field("ModelDeployment", description="Kind.")
    metadata: DeploymentMeta = Field(default_factory=DeploymentMeta, description="Standard object metadata.")
    spec: ModelDeploymentSpec = Field(description="Desired state.")
    status: ModelDeploymentStatus | None = Field(None, description="Observed state, written by the operator.")

"""`spec.monitoring.drift` and `status.drift`: compare what a served model receives with its training data,
and act (a CloudEvent, a retraining Job, an Azure ML job) once per drift episode. See docs/drift.md."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from mlops_operator.api.v1alpha1.common import CamelModel, DnsLabel, LocalObjectReference, cel
from mlops_operator.api.v1alpha1.rollout import PrometheusProvider

Statistic = Literal["jensenShannon", "psi", "wasserstein", "chiSquared"]
STATISTIC_HELP = (
    "`jensenShannon` (distance, 0-1, default threshold 0.1), `psi` (population stability index, 0.2), "
    "`wasserstein` (numbers only: distance over the training standard deviation, 0.1) or `chiSquared` "
    "(p-value of Pearson's test: drift when below the threshold, 0.01)."
)


class ConfigMapKeyReference(CamelModel):
    """A key of a ConfigMap in this namespace."""

    name: DnsLabel = Field(description="Name of the ConfigMap.")
    key: str = Field(
        "profile.json",
        min_length=1,
        max_length=253,
        pattern=r"^[-._a-zA-Z0-9]+$",
        description="Key holding the profile written by `mlopsctl profile`.",
    )


class DriftBaseline(CamelModel):
    """Where the reference profile of the training data is."""

    config_map_key_ref: ConfigMapKeyReference = Field(
        description="ConfigMap key with the profile (`mlopsctl profile DATA --configmap NAME` writes one)."
    )


class FeatureDriftSettings(CamelModel):
    """A feature to watch, optionally with its own statistic and threshold."""

    name: str = Field(min_length=1, max_length=253, description="Feature name as in the profile.")
    statistic: Statistic | None = Field(None, description=f"Overrides the overall statistic: {STATISTIC_HELP}")
    threshold: float | None = Field(None, ge=0, le=1000, description="Overrides the overall threshold.")


class KeySecretReference(CamelModel):
    """A key of a Secret in this namespace."""

    name: DnsLabel = Field(description="Name of the Secret.")
    key: str = Field(min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$", description="Key in the Secret.")
    header: str = Field(
        "aeg-sas-key",
        pattern=r"^[A-Za-z0-9-]+$",
        max_length=128,
        description="HTTP header carrying the key: `aeg-sas-key` for Event Grid, or e.g. `Authorization`.",
    )


class CloudEventAction(CamelModel):
    """POST a CloudEvents 1.0 event (structured JSON) per drift episode, e.g. to an Azure Event Grid topic."""

    url: str = Field(
        pattern=r"^https?://[^\s]+$", max_length=2000, description="Where to POST, e.g. the Event Grid topic endpoint."
    )
    key_secret_ref: KeySecretReference | None = Field(
        None, description="Secret key sent as the `aeg-sas-key` header (Event Grid's topic access key)."
    )
    type: str = Field(
        "dev.mlops.drift.detected", min_length=1, max_length=253, description="CloudEvent `type` attribute."
    )


class JobAction(CamelModel):
    """Create a Kubernetes Job per drift episode (the retraining), labelled with the model and the episode."""

    template: dict[str, Any] = Field(
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True, "type": "object"},
        description=(
            "A batch/v1 Job template: `metadata` (labels, annotations) and `spec` (a JobSpec). The operator "
            "names the Job `<deployment>-drift-<episode>`, labels it, and passes the episode in the environment "
            "(`MLOPS_DRIFT_EPISODE`, `MLOPS_DRIFT_FEATURES`, `MLOPS_MODEL_NAME`, `MLOPS_MODEL_VERSION`)."
        ),
    )

    @model_validator(mode="after")
    def _has_a_job_spec(self) -> JobAction:
        spec = self.template.get("spec")
        if not isinstance(spec, dict) or not isinstance(spec.get("template"), dict):
            raise ValueError("monitoring.drift.actions.job.template.spec.template (the pod template) is required")
        return self


# Azure ML asset names (components): a letter, digit or underscore, then letters, digits, `_`, `.`, `-`.
ASSET_NAME = r"[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,254}"
ASSET_VERSION = r"[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,29}"
COMPONENT_PATTERN = rf"^(azureml:)?{ASSET_NAME}(:{ASSET_VERSION})?$"
InputValue = Annotated[str, StringConstraints(max_length=4096)]


class AzureMLJobAction(CamelModel):
    """Submit an Azure ML job per drift episode: a registered command component run as a command job, in the
    workspace of an `azureml` MLOpsPlatform, with that platform's credentials."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    "!has(self.version) || !self.component.matches('^(azureml:)?[^:]+:')",
                    "monitoring.drift.actions.azureMLJob: give the version in `component` or in `version`, not both",
                    ".version",
                ),
                cel(
                    "!has(self.inputs) || self.inputs.all(k, k.matches('^[a-zA-Z_][a-zA-Z0-9_]*$'))",
                    "monitoring.drift.actions.azureMLJob.inputs: keys are input names (letters, digits, `_`)",
                    ".inputs",
                ),
            ]
        }
    )

    platform_ref: LocalObjectReference = Field(
        description=(
            "An MLOpsPlatform with backend `azureml`: the job goes to its workspace (`spec.azure`: subscription, "
            "resource group, workspace) with the credentials it uses (`spec.azure.identity`)."
        )
    )
    component: str = Field(
        max_length=300,
        pattern=COMPONENT_PATTERN,
        description=(
            "The registered command component to run: `name`, `name:version` or `azureml:name:version`. "
            "Without a version (here or in `version`), the latest registered version at the time of submission."
        ),
    )
    version: str | None = Field(
        None, pattern=rf"^{ASSET_VERSION}$", description="Component version, when `component` names none."
    )
    compute_name: str = Field(
        min_length=2,
        max_length=24,
        pattern=r"^[a-zA-Z][a-zA-Z0-9-]*$",
        description="Compute target in the workspace that runs the job (a compute cluster, or an attached cluster).",
    )
    experiment_name: str | None = Field(
        None,
        max_length=255,
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$",
        description="Experiment the job is filed under; empty: the deployment's name.",
    )
    inputs: dict[str, InputValue] = Field(
        default_factory=dict,
        max_length=64,
        description=(
            "Values of the component's inputs, by input name (each a name the component declares): literals for "
            "string, number, integer and boolean inputs, a path or `azureml:` asset for data and model inputs."
        ),
    )

    @model_validator(mode="after")
    def _one_version(self) -> AzureMLJobAction:
        if self.version is not None and self.component.removeprefix("azureml:").count(":"):
            raise ValueError(
                "monitoring.drift.actions.azureMLJob: give the version in `component` or in `version`, not both"
            )
        bad = [name for name in self.inputs if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name)]
        if bad:
            raise ValueError(f"monitoring.drift.actions.azureMLJob.inputs: {bad} are not input names")
        return self

    def component_name_and_version(self) -> tuple[str, str | None]:
        """(name, version or None for the latest) from `component` and `version`."""
        name, _, version = self.component.removeprefix("azureml:").partition(":")
        return name, version or self.version


class DriftActions(CamelModel):
    """What happens once per drift episode (cooldown permitting)."""

    cloud_event: CloudEventAction | None = Field(None, description="Send a CloudEvent (Event Grid, Knative, ...).")
    job: JobAction | None = Field(None, description="Start a retraining Job.")
    azure_ml_job: AzureMLJobAction | None = Field(
        None, alias="azureMLJob", description="Submit a retraining job to an Azure ML workspace."
    )


class DriftMonitoring(CamelModel):
    """Data drift of the served inputs against the training profile, checked periodically."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    "self.windowSeconds >= self.checkIntervalSeconds",
                    "monitoring.drift.windowSeconds must be at least checkIntervalSeconds",
                    ".windowSeconds",
                )
            ]
        }
    )

    baseline: DriftBaseline = Field(description="The reference profile of the training data.")
    features: list[FeatureDriftSettings] = Field(
        default_factory=list, max_length=200, description="Features to watch; empty: every feature of the profile."
    )
    statistic: Statistic = Field("jensenShannon", description=STATISTIC_HELP)
    threshold: float | None = Field(
        None, ge=0, le=1000, description="A feature drifts beyond this; empty: the statistic's default."
    )
    window_seconds: int = Field(
        600, ge=5, le=604800, description="Served inputs of this window are compared; at least 4 scrape intervals."
    )
    min_samples: int = Field(
        1000,
        ge=1,
        le=10_000_000,
        description=(
            "Rows a feature needs in the window before it is judged. Fewer rows mean more noise: with k bins "
            "and n rows, Jensen-Shannon reads about sqrt((k-1)/(5.5n)) on undrifted data: 0.09 for 10 bins "
            "and 200 rows, 0.04 for 1000, against the default threshold of 0.1."
        ),
    )
    check_interval_seconds: int = Field(60, ge=5, le=86400, description="Seconds between checks.")
    cooldown_seconds: int = Field(
        3600, ge=0, le=2_592_000, description="After actions ran, a new episode within this time runs none."
    )
    prometheus: PrometheusProvider | None = Field(
        None, description="Where the scoring pods' drift counters are read; defaults to `MLOPS_PROMETHEUS_URL`."
    )
    actions: DriftActions = Field(default_factory=DriftActions, description="What to do per drift episode.")

    @model_validator(mode="after")
    def _window_covers_interval(self) -> DriftMonitoring:
        if self.window_seconds < self.check_interval_seconds:
            raise ValueError("monitoring.drift.windowSeconds must be at least checkIntervalSeconds")
        names = [feature.name for feature in self.features]
        if len(names) != len(set(names)):
            raise ValueError(f"monitoring.drift.features names a feature twice: {names}")
        return self


class MonitoringSettings(CamelModel):
    """What the operator watches about the served model."""

    drift: DriftMonitoring | None = Field(None, description="Data drift against the training data.")


class FeatureDriftStatus(CamelModel):
    """One feature at the last check."""

    name: str = Field(description="Feature.")
    statistic: Statistic = Field(description="Statistic used.")
    value: float | None = Field(None, description="Its value; empty while the window has too few samples.")
    threshold: float = Field(description="Threshold.")
    samples: int = Field(0, description="Rows of this feature in the window.")
    drifted: bool = Field(False, description="Whether the value is beyond the threshold.")


class DriftEpisode(CamelModel):
    """A period of drift, from the check that found it to the check that no longer does."""

    number: int = Field(description="Episodes so far for this deployment, this one included.")
    started_at: str = Field(description="When drift was found (RFC 3339).")
    ended_at: str | None = Field(None, description="When drift was no longer found.")
    features: list[str] = Field(default_factory=list, description="Features drifted when it started.")
    actions: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Per action (`cloudEvent`, `job`, `azureMLJob`): `Sent`, `Created <name>`, `Submitted <job name>`, "
            "`Skipped (cooldown)` or the error (`Failed: ...`, retried at the next check)."
        ),
    )


class DriftStatus(CamelModel):
    """Data drift as last checked."""

    last_check_time: str | None = Field(None, description="When the counters were last read (RFC 3339).")
    samples: int = Field(0, description="Rows in the window (fewest over the watched features).")
    features: list[FeatureDriftStatus] = Field(default_factory=list, description="Per feature, at the last check.")
    episode: DriftEpisode | None = Field(None, description="The current or last drift episode.")
    last_actions_time: str | None = Field(None, description="When actions last ran (the cooldown starts here).")
    message: str = Field("", description="Why the last check could not judge, if it could not.")

"""`spec.rollout` and `status.rollout`: a candidate takes traffic from a baseline in steps, gated by metrics.

The user's spec is the destination (the split once promoted); the rollout is the way there. The operator
moves traffic through `status.rollout` and the objects it owns, never by rewriting the spec, so GitOps
tools see no drift. See docs/rollouts.md.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from mlops_operator.api.v1alpha1.common import CamelModel, DnsLabel, cel

RolloutPhase = Literal["Progressing", "Paused", "Promoting", "Succeeded", "RolledBack", "Failed"]
TERMINAL_PHASES: frozenset[str] = frozenset({"Succeeded", "RolledBack", "Failed"})
BuiltinMetric = Literal["errorRatio", "p99LatencyMs", "p95LatencyMs", "requestsPerSecond"]
GateVerdict = Literal["Pass", "Fail", "NoData", "Error"]
# Annotation values `mlopsctl promote` / `abort` (or a human) set; the operator removes the annotation once acted on.
RolloutAction = Literal["promote", "resume", "abort", "retry"]


class RolloutStep(CamelModel):
    """One step: the candidate's share of the endpoint's live traffic, and how long it is held."""

    traffic: int = Field(ge=1, le=100, description="Percent of the endpoint's live traffic the candidate gets.")
    pause_seconds: int | None = Field(
        None,
        ge=0,
        le=86400,
        description=(
            "Seconds the step is held once its traffic is in force (and, with gates, once a check passed). "
            "Empty: the step waits for `mlopsctl promote --step` (annotation `rollout.mlops.dev/action: resume`)."
        ),
    )


class MetricGate(CamelModel):
    """A check run every analysis interval: a built-in metric or a PromQL query, against thresholds."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    "has(self.metric) != has(self.query)",
                    "a gate has either metric (built in) or query (PromQL), not both",
                    ".metric",
                ),
                cel(
                    "has(self.max) || has(self.min) || has(self.maxRelativeToBaseline)",
                    "a gate needs a threshold: max, min or maxRelativeToBaseline",
                    ".max",
                ),
            ]
        }
    )

    name: DnsLabel = Field(description="Name of the gate, shown in status and Events.")
    metric: BuiltinMetric | None = Field(
        None,
        description=(
            "Built-in metric of the scoring server, measured over the window on the candidate's pods: `errorRatio` "
            "(5xx / all /score responses, 0-1), `p99LatencyMs`, `p95LatencyMs`, `requestsPerSecond`."
        ),
    )
    query: str | None = Field(
        None,
        min_length=1,
        max_length=4000,
        description=(
            "PromQL returning one number. `{{deployment}}` is replaced by the deployment measured (the candidate, "
            "or the baseline for maxRelativeToBaseline), `{{candidate}}`, `{{baseline}}`, `{{namespace}}`, "
            "`{{endpoint}}` and `{{window}}` (e.g. `60s`) likewise."
        ),
    )
    max: float | None = Field(None, description="The check fails when the candidate's value is above this.")
    min: float | None = Field(None, description="The check fails when the candidate's value is below this.")
    max_relative_to_baseline: float | None = Field(
        None,
        ge=0.01,
        le=1000,
        description="The check fails when the candidate's value exceeds this factor times the baseline's.",
    )

    @model_validator(mode="after")
    def _one_source_and_a_threshold(self) -> MetricGate:
        if (self.metric is None) == (self.query is None):
            raise ValueError(f"gate {self.name}: set either metric (built in) or query (PromQL), not both")
        if self.max is None and self.min is None and self.max_relative_to_baseline is None:
            raise ValueError(f"gate {self.name}: set a threshold: max, min or maxRelativeToBaseline")
        return self


class PrometheusProvider(CamelModel):
    """Where the gates' metrics are read (the Prometheus HTTP API)."""

    address: str = Field(
        pattern=r"^https?://[^\s]+$",
        max_length=2000,
        description="Base URL of the Prometheus HTTP API, e.g. `http://prometheus.monitoring:9090`.",
    )


class RolloutAnalysis(CamelModel):
    """How often the gates are checked, over which window, and how many failed checks are tolerated."""

    interval_seconds: int = Field(30, ge=1, le=3600, description="Seconds between checks.")
    window_seconds: int = Field(
        60, ge=5, le=86400, description="Range of each rate; at least 4 scrape intervals of your Prometheus."
    )
    failure_limit: int = Field(
        1, ge=0, le=100, description="Failed checks tolerated over the rollout; one more triggers `onFailure`."
    )
    gates: list[MetricGate] = Field(default_factory=list, max_length=16, description="The checks.")
    prometheus: PrometheusProvider | None = Field(
        None, description="Metrics provider; defaults to the operator's `MLOPS_PROMETHEUS_URL`."
    )

    @model_validator(mode="after")
    def _unique_gates(self) -> RolloutAnalysis:
        names = [gate.name for gate in self.gates]
        if len(names) != len(set(names)):
            raise ValueError(f"gate names must be unique: {names}")
        return self


class RolloutSpec(CamelModel):
    """Shift this deployment's `spec.traffic` from the baseline in steps, checking metrics at each."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    "self.steps.all(s, self.steps.exists_one(t, t.traffic == s.traffic))",
                    "rollout.steps traffic must be distinct (and increasing)",
                    ".steps",
                )
            ]
        }
    )

    baseline: DnsLabel = Field(
        description="The ModelDeployment of the same endpoint whose traffic the candidate takes over step by step."
    )
    steps: list[RolloutStep] = Field(
        min_length=1, max_length=20, description="Increasing traffic steps; after the last, spec.traffic applies."
    )
    analysis: RolloutAnalysis = Field(default_factory=RolloutAnalysis, description="Metric gates.")
    on_failure: Literal["rollback", "pause"] = Field(
        "rollback",
        description="`rollback` returns the candidate's traffic to the baseline; `pause` holds the traffic in force.",
    )

    @model_validator(mode="after")
    def _increasing(self) -> RolloutSpec:
        shares = [step.traffic for step in self.steps]
        if shares != sorted(set(shares)):
            raise ValueError(f"rollout.steps traffic must be increasing: {shares}")
        return self


class GateResult(CamelModel):
    """One gate's last check."""

    name: str = Field(description="The gate.")
    verdict: GateVerdict = Field(description="`Pass`, `Fail`, `NoData` (counts as failed) or `Error` (likewise).")
    value: float | None = Field(None, description="The candidate's value.")
    baseline_value: float | None = Field(None, description="The baseline's value (relative gates).")
    threshold: str = Field("", description="What the value was compared with.")
    message: str = Field("", description="Why, for NoData and Error.")


class StepRecord(CamelModel):
    """A step as it happened."""

    step: int = Field(description="Index in spec.rollout.steps (the final promotion is one past the last).")
    traffic: int = Field(description="The candidate's share during the step.")
    started_at: str = Field(description="When its traffic was in force (RFC 3339).")
    ended_at: str | None = Field(None, description="When it ended.")
    result: str | None = Field(None, description="`Passed`, `Failed`, `Aborted`, `Promoted` or `Superseded`.")


class RolloutStatus(CamelModel):
    """Where the rollout is: phase, step, the traffic in force, the last analysis and the steps so far."""

    phase: RolloutPhase = Field(description="Progressing, Paused, Promoting, Succeeded, RolledBack or Failed.")
    revision: str = Field(description="Hash of the candidate's spec (traffic and rollout aside) being rolled out.")
    baseline: str = Field(description="The baseline named when the rollout started.")
    step: int = Field(0, description="Index of the current step; the number of steps while promoting.")
    traffic: int = Field(0, description="The candidate's share the operator puts in force.")
    target: int = Field(0, description="The candidate's share once promoted (its spec.traffic).")
    step_started_at: str | None = Field(None, description="When the current step's traffic was in force.")
    checks_passed_in_step: int = Field(0, description="Checks passed since the step started.")
    failed_checks: int = Field(0, description="Failed checks over the rollout.")
    last_analysis_at: str | None = Field(None, description="When the gates were last checked.")
    analysis: list[GateResult] = Field(default_factory=list, description="The last check, per gate.")
    history: list[StepRecord] = Field(default_factory=list, description="Steps so far (the last 30).")
    message: str = Field("", description="What the rollout is doing or why it stopped.")

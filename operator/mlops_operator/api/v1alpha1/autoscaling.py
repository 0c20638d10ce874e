"""`scaleSettings.metric`: scaling on what a model server is busy with, through KEDA's Prometheus scaler."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from mlops_operator.api.v1alpha1.common import CamelModel, cel

ScalingMetricName = Literal["requestsPerSecond", "inFlightRequests", "p99LatencyMs", "gpuUtilization"]


class ScalingPrometheus(CamelModel):
    """The Prometheus KEDA queries."""

    address: str = Field(
        pattern=r"^https?://[^\s]+$",
        max_length=2000,
        description="Base URL of the Prometheus HTTP API as KEDA reaches it, e.g. `http://prometheus.monitoring:9090`.",
    )


class MetricScaling(CamelModel):
    """The metric, its target, and how fast to follow it."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    "has(self.name) != has(self.query)",
                    "scaleSettings.metric has either name (built in) or query (PromQL), not both",
                    ".name",
                )
            ]
        }
    )

    name: ScalingMetricName | None = Field(
        None,
        description=(
            "Built in: `requestsPerSecond` and `inFlightRequests` (target per pod), `p99LatencyMs` (the p99 to hold), "
            "`gpuUtilization` (the average DCGM_FI_DEV_GPU_UTIL of the pods' GPUs to hold, NVIDIA DCGM exporter)."
        ),
    )
    query: str | None = Field(
        None,
        min_length=1,
        max_length=4000,
        description="PromQL returning one number; `{{namespace}}`, `{{deployment}}` and `{{window}}` are filled in.",
    )
    query_target: Literal["perPod", "total"] = Field(
        "perPod",
        description="For `query`: `perPod` divides the value by the pods (AverageValue), `total` holds it (Value).",
    )
    target: float = Field(gt=0, le=1_000_000, description="The target value (see name and queryTarget).")
    window_seconds: int = Field(60, ge=10, le=3600, description="Range of the rates in the built-in queries.")
    scale_up_stabilization_seconds: int = Field(
        0, ge=0, le=3600, description="The HPA's scale-up stabilisation window."
    )
    scale_down_stabilization_seconds: int = Field(
        300, ge=0, le=3600, description="The HPA's scale-down stabilisation window."
    )
    prometheus: ScalingPrometheus | None = Field(
        None, description="Prometheus KEDA queries; defaults to the operator's `MLOPS_PROMETHEUS_URL`."
    )

    @model_validator(mode="after")
    def _one_source(self) -> MetricScaling:
        if (self.name is None) == (self.query is None):
            raise ValueError("scaleSettings.metric: set either name (built in) or query (PromQL), not both")
        return self

"""Metric-based autoscaling as a KEDA ScaledObject with its Prometheus scaler (pure).

KEDA is what most clusters that scale on application metrics run (AKS ships it as an add-on), and its
ScaledObject creates and owns the HorizontalPodAutoscaler (`keda-hpa-<name>`), fed through KEDA's external
metrics adapter: the real HPA controller makes the decisions, with the behaviour set here.
"""

from __future__ import annotations

from typing import Any

from mlops_operator import naming
from mlops_operator.api.v1alpha1 import ModelDeployment
from mlops_operator.api.v1alpha1.autoscaling import MetricScaling
from mlops_operator.render.workload import child_metadata

KEDA_API_VERSION = "keda.sh/v1alpha1"
SCALED_OBJECT_CRD = "scaledobjects.keda.sh"
_PODS = 'namespace="{{namespace}}", deployment="{{deployment}}"'
# name -> (PromQL, KEDA metricType): AverageValue divides by the pods, Value holds the number itself.
BUILTIN_SCALING = {
    "requestsPerSecond": (
        f'sum(rate(mlops_scoring_requests_total{{{_PODS}, route="score"}}[{{{{window}}}}]))',
        "AverageValue",
    ),
    "inFlightRequests": (f"sum(mlops_scoring_inflight_requests{{{_PODS}}})", "AverageValue"),
    "p99LatencyMs": (
        "1000 * histogram_quantile(0.99, sum by (le) "
        f"(rate(mlops_scoring_request_duration_seconds_bucket{{{_PODS}}}[{{{{window}}}}])))",
        "Value",
    ),
    # The NVIDIA DCGM exporter (GPU operator) labels each GPU's series with the pod using it.
    "gpuUtilization": (
        'avg(DCGM_FI_DEV_GPU_UTIL{namespace="{{namespace}}", pod=~"{{deployment}}-[a-z0-9]+-[a-z0-9]+"})',
        "Value",
    ),
}


def scaling_query(md: ModelDeployment, metric: MetricScaling) -> tuple[str, str]:
    """The PromQL KEDA runs for this deployment and its metricType."""
    if metric.name is not None:
        template, metric_type = BUILTIN_SCALING[metric.name]
    else:
        template = str(metric.query)
        metric_type = "AverageValue" if metric.query_target == "perPod" else "Value"
    values = {
        "namespace": str(md.metadata.namespace),
        "deployment": str(md.metadata.name),
        "window": f"{metric.window_seconds}s",
    }
    for key, value in values.items():
        template = template.replace("{{" + key + "}}", value)
    return template, metric_type


def render_scaled_object(md: ModelDeployment, default_prometheus: str | None) -> dict[str, Any] | None:
    """The ScaledObject of a deployment with `scaleSettings.type: metric`; None otherwise."""
    scale = md.spec.scale_settings
    metric = scale.metric
    if scale.type != "metric" or metric is None:
        return None
    query, metric_type = scaling_query(md, metric)
    address = metric.prometheus.address if metric.prometheus else default_prometheus
    name = str(md.metadata.name)
    return {
        "apiVersion": KEDA_API_VERSION,
        "kind": "ScaledObject",
        "metadata": child_metadata(md, naming.deployment_name(name)),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "pollingInterval": scale.polling_interval,
            "minReplicaCount": max(scale.min_instances, 1),
            "maxReplicaCount": scale.max_instances,
            "advanced": {"horizontalPodAutoscalerConfig": {"behavior": _behavior(metric)}},
            "triggers": [
                {
                    "type": "prometheus",
                    "metricType": metric_type,
                    "metadata": {"serverAddress": str(address), "query": query, "threshold": f"{metric.target:g}"},
                }
            ],
        },
    }


def _behavior(metric: MetricScaling) -> dict[str, Any]:
    return {
        "scaleUp": {"stabilizationWindowSeconds": metric.scale_up_stabilization_seconds},
        "scaleDown": {"stabilizationWindowSeconds": metric.scale_down_stabilization_seconds},
    }

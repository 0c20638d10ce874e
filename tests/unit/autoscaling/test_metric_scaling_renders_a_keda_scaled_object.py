"""scaleSettings.type metric: the KEDA ScaledObject (Prometheus scaler) it renders, and what is refused."""

from __future__ import annotations

from typing import Any

import pytest
from exposition import exported_labels, unexported_selectors

from mlops_operator.api.v1alpha1 import InstanceType, ModelDeployment
from mlops_operator.render.autoscaling import BUILTIN_SCALING, render_scaled_object
from mlops_operator.render.workload import WorkloadInputs, render_deployment, render_hpa


def md(**scale: Any) -> ModelDeployment:
    return ModelDeployment.model_validate(
        {
            "metadata": {"name": "green", "namespace": "models", "uid": "u1"},
            "spec": {
                "platformRef": {"name": "p"},
                "endpoint": {"name": "diabetes"},
                "model": {"name": "m", "version": "1"},
                "scaleSettings": scale,
            },
        }
    )


RPS = {"type": "metric", "minInstances": 1, "maxInstances": 5, "pollingInterval": 5,
       "metric": {"name": "requestsPerSecond", "target": 20, "windowSeconds": 30,
                  "scaleUpStabilizationSeconds": 0, "scaleDownStabilizationSeconds": 30}}  # fmt: skip


def test_requests_per_second_become_a_prometheus_trigger_per_pod() -> None:
    scaled = render_scaled_object(md(**RPS), "http://prometheus:9090")
    assert scaled is not None
    spec = scaled["spec"]
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["metadata"]["ownerReferences"][0]["name"] == "green"
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "green"}
    assert (spec["minReplicaCount"], spec["maxReplicaCount"], spec["pollingInterval"]) == (1, 5, 5)
    [trigger] = spec["triggers"]
    assert (trigger["type"], trigger["metricType"]) == ("prometheus", "AverageValue")
    assert trigger["metadata"] == {
        "serverAddress": "http://prometheus:9090",
        "query": 'sum(rate(mlops_scoring_requests_total{namespace="models", deployment="green", route="score"}[30s]))',
        "threshold": "20",
    }
    behavior = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert behavior == {"scaleUp": {"stabilizationWindowSeconds": 0}, "scaleDown": {"stabilizationWindowSeconds": 30}}


def test_the_deployment_leaves_replicas_to_the_autoscaler_and_no_cpu_hpa_is_rendered() -> None:
    scaled = md(**RPS)
    assert render_hpa(scaled) is None
    limits = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
    instance_type = InstanceType.model_validate({"name": "small", "resources": limits})
    inputs = WorkloadInputs(instance_type=instance_type, image="i", fetcher_image="i")
    assert "replicas" not in render_deployment(scaled, inputs)["spec"]


def test_gpu_utilisation_holds_the_average_of_the_pods_gpus_from_dcgm() -> None:
    gpu = {**RPS, "metric": {"name": "gpuUtilization", "target": 70}}
    [trigger] = render_scaled_object(md(**gpu), "http://p:9090")["spec"]["triggers"]  # type: ignore[index]
    assert trigger["metricType"] == "Value"
    assert trigger["metadata"]["query"] == (
        'avg(DCGM_FI_DEV_GPU_UTIL{namespace="models", pod=~"green-[a-z0-9]+-[a-z0-9]+"})'
    )


def test_a_custom_query_is_per_pod_or_total_and_its_own_prometheus_wins() -> None:
    custom = {**RPS, "metric": {"query": 'sum(queue{d="{{deployment}}"})', "queryTarget": "total", "target": 10,
                                "prometheus": {"address": "http://mine:9090"}}}  # fmt: skip
    [trigger] = render_scaled_object(md(**custom), "http://default:9090")["spec"]["triggers"]  # type: ignore[index]
    assert (trigger["metricType"], trigger["metadata"]["serverAddress"]) == ("Value", "http://mine:9090")
    assert trigger["metadata"]["query"] == 'sum(queue{d="green"})'
    assert render_scaled_object(md(type="default"), "http://p:9090") is None


def test_metric_and_type_go_together_and_one_source_is_named() -> None:
    with pytest.raises(ValueError, match=r"exactly when scaleSettings\.type is metric"):
        md(type="metric", maxInstances=3)
    with pytest.raises(ValueError, match="either name"):
        md(**{**RPS, "metric": {"name": "requestsPerSecond", "query": "up", "target": 1}})


def test_builtin_scaling_queries_select_series_the_scoring_server_exports() -> None:
    exported = exported_labels()
    for metric, (query, _) in BUILTIN_SCALING.items():
        assert unexported_selectors(query, exported) == [], metric

"""scaleSettings.type metric end to end on the control plane: the operator renders the ScaledObject, KEDA
(built from its Go module) makes its HPA, and the real HPA controller scales the ModelDeployment's pods.

Only the metric source is a double (tests/integration/prometheus_double.py, answering the operator's built-in
requests-per-second query by `deployment="blue"`); pods run on kwok nodes and nothing connects to a pod IP.
The real-node version with real load and the real Prometheus is issue 18's remaining work.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from native_backend.conftest import crds, kube, kubeconfig_env, operator
from native_backend.helpers import create_model_files, model_deployment, wait_condition
from polling import wait_for
from prometheus_double import PrometheusDouble

from mlops_operator.kube import Kube

from .keda_support import KedaProcesses

__all__ = ["crds", "kube", "kubeconfig_env", "operator"]
TARGET, MAX = 10, 4
SCALE_TIMEOUT_S = 90.0  # the HPA controller syncs every 15 s (kube-controller-manager's default)


@pytest.fixture
def metrics() -> Iterator[PrometheusDouble]:
    with PrometheusDouble() as double:
        double.values["blue"] = 0.0
        yield double


def _scaling(metrics: PrometheusDouble) -> dict[str, Any]:
    return {
        "type": "metric",
        "minInstances": 1,
        "maxInstances": MAX,
        "pollingInterval": 2,
        "metric": {
            "name": "requestsPerSecond",
            "target": TARGET,
            "windowSeconds": 30,
            "scaleUpStabilizationSeconds": 0,
            "scaleDownStabilizationSeconds": 0,
            "prometheus": {"address": metrics.url},
        },
    }


def _replicas(kube: Kube, namespace: str) -> dict[str, Any]:
    body = kube.get("mlops.dev/v1alpha1", "ModelDeployment", "blue", namespace) or {}
    return dict((body.get("status") or {}).get("replicas") or {})


def test_requests_per_second_above_the_target_scale_the_pods_up_and_back_down(
    keda: KedaProcesses, operator: Any, kube: Kube, namespace: str, metrics: PrometheusDouble
) -> None:
    create_model_files(kube, namespace)
    kube.create(model_deployment(namespace, "blue", traffic=100, scaleSettings=_scaling(metrics)))
    wait_condition(kube, namespace, "blue", "Ready", "True", timeout=60)
    scaled = kube.get("keda.sh/v1alpha1", "ScaledObject", "blue", namespace)
    assert scaled is not None
    assert scaled["metadata"]["ownerReferences"][0]["name"] == "blue"

    metrics.values["blue"] = 35.0  # 3.5 pods' worth: the HPA wants ceil(35 / 10) = 4
    wait_for(lambda: _replicas(kube, namespace) == {"desired": 4, "ready": 4, "updated": 4}, SCALE_TIMEOUT_S, "4 pods")
    hpa = kube.get("autoscaling/v2", "HorizontalPodAutoscaler", "keda-hpa-blue", namespace) or {}
    assert hpa["spec"]["maxReplicas"] == MAX

    metrics.values["blue"] = 4.0
    wait_for(lambda: _replicas(kube, namespace).get("desired") == 1, SCALE_TIMEOUT_S, "back to 1 pod")
    assert any('deployment="blue"' in q and "mlops_scoring_requests_total" in q for q in metrics.queries)

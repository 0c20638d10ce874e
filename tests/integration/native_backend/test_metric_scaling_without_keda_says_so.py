"""scaleSettings.type metric on a cluster without KEDA: the deployment says what to install, and serves."""

from __future__ import annotations

import pytest

from mlops_operator.kube import Kube

from .helpers import create_model_files, model_deployment, wait_condition

pytestmark = pytest.mark.usefixtures("operator")
PROMETHEUS = {"address": "http://prometheus:9090"}
METRIC = {
    "type": "metric",
    "minInstances": 1,
    "maxInstances": 4,
    "metric": {"name": "requestsPerSecond", "target": 20, "prometheus": PROMETHEUS},
}


def test_metric_scaling_without_keda_is_autoscaler_not_installed(kube: Kube, namespace: str) -> None:
    create_model_files(kube, namespace)
    kube.create(model_deployment(namespace, "blue", traffic=100, scaleSettings=METRIC))

    ready = wait_condition(kube, namespace, "blue", "Ready", "False", reason="AutoscalerNotInstalled")

    assert "scaledobjects.keda.sh is not installed" in ready["message"]
    assert kube.get("apps/v1", "Deployment", "blue", namespace) is not None  # the pods still run
    assert kube.get("autoscaling/v2", "HorizontalPodAutoscaler", "blue", namespace) is None

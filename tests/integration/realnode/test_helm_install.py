"""The operator installed for real: `helm install` of charts/ with the image built from our Dockerfile.

The operator then runs in-cluster on the real node as the chart's ServiceAccount, reaches the apiserver
through the `kubernetes` Service (kube-proxy), and reconciles a ModelDeployment to Ready.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from native_backend.helpers import apply_platform, wait_condition
from polling import wait_for
from prometheus_server import Prometheus, prometheus_bin

from mlops_operator.devcluster import LocalCluster
from mlops_operator.devcluster.nodeconfig import NODE_NAME
from mlops_operator.kube import Kube
from mlops_operator.render.prometheus import operator_pods_scrape_config, prometheus_config

from .test_model_deployments_run_real_pods import _deployment, _model_files

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "charts" / "mlops-operator"
RELEASE, NAMESPACE = "mlops", "mlops-system"
ML_POOL_TOLERATION = [{"key": "workload", "operator": "Equal", "value": "ml", "effect": "NoSchedule"}]


def _helm(cluster: LocalCluster, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    argv = [str(cluster.assets.binary("helm")), f"--kubeconfig={cluster.kubeconfig_path}", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture
def installed(real_cluster: LocalCluster, real_kube: Kube) -> Iterator[str]:
    images = real_cluster.images
    assert images is not None
    values = [
        f"--set=image.repository={images.operator_repository}",
        f"--set=image.tag={images.tag}",
        f"--set=scoringImage.repository={images.scoring.rsplit(':', 1)[0]}",
        f"--set=scoringImage.tag={images.tag}",
        f"--set-json=tolerations={json.dumps(ML_POOL_TOLERATION)}",
    ]
    result = _helm(real_cluster, "install", RELEASE, str(CHART), "-n", NAMESPACE, "--create-namespace",
                   *values, "--wait", "--timeout=4m")  # fmt: skip
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        yield f"app.kubernetes.io/instance={RELEASE}"
    finally:
        _helm(real_cluster, "uninstall", RELEASE, "-n", NAMESPACE, "--wait", "--timeout=2m")


def test_helm_install_runs_the_operator_image_on_the_real_node_and_it_reconciles(
    real_cluster: LocalCluster, real_kube: Kube, real_namespace: str, installed: str, tmp_path: Path
) -> None:
    [pod] = real_kube.list("v1", "Pod", NAMESPACE, installed)
    assert pod["spec"]["nodeName"] == NODE_NAME
    assert pod["spec"]["serviceAccountName"] == "mlops-operator"  # the chart's, with only the chart's RBAC
    apply_platform(real_kube)
    _model_files(real_kube, real_namespace)
    real_kube.create(_deployment(real_namespace, "helm-blue"))

    wait_condition(real_kube, real_namespace, "helm-blue", "Ready", "True", timeout=240)

    logs = real_cluster.kubectl("logs", "-n", NAMESPACE, pod["metadata"]["name"]).stdout
    assert "Forbidden" not in logs, logs[-2000:]
    lines = [json.loads(line) for line in logs.splitlines() if line.strip()]  # the chart's logFormat: json
    about_it = [line for line in lines if line.get("name") == "helm-blue" and line.get("namespace") == real_namespace]
    assert "ModelDeployment" in {line.get("kind") for line in about_it}, lines[-5:]
    _prometheus_finds_and_scrapes_the_operator(real_cluster, tmp_path)


def _prometheus_finds_and_scrapes_the_operator(cluster: LocalCluster, tmp_path: Path) -> None:
    """Kubernetes service discovery finds the operator pod by the chart's prometheus.io annotations."""
    job = operator_pods_scrape_config(str(cluster.kubeconfig_path), NODE_NAME, interval="1s")
    server = Prometheus(prometheus_bin(), tmp_path / "prometheus", prometheus_config([job])).start()
    try:
        query = 'sum(mlops_operator_reconciles_total{job="mlops-operator", kind="ModelDeployment"})'
        wait_for(lambda: (server.value(query) or 0) > 0, 60, "Prometheus to scrape the operator's reconciles")
    finally:
        server.stop()


def test_bad_chart_values_fail_at_install_naming_the_value(real_cluster: LocalCluster) -> None:
    result = _helm(real_cluster, "template", RELEASE, str(CHART), "--set=replicaCount=two",
                   "--set=image.pullPolicy=Sometimes")  # fmt: skip

    assert result.returncode != 0
    assert "replicaCount" in result.stderr, result.stderr
    assert "pullPolicy" in result.stderr, result.stderr

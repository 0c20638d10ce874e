"""A real Prometheus finds the scoring pods through Kubernetes service discovery and counts what they serve.

Only pods on the real node are kept (render/prometheus.py); the deployment and endpoint labels come from
the pods' labels, not from the scoring server.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from polling import wait_for
from prometheus_server import Prometheus, prometheus_bin

from mlops_operator.devcluster import LocalCluster
from mlops_operator.devcluster.nodeconfig import NODE_NAME
from mlops_operator.devcluster.nodenet import NODE_SUBNET
from mlops_operator.kube import Kube
from mlops_operator.render.prometheus import prometheus_config, scoring_pods_scrape_config

from .test_model_deployments_run_real_pods import ROW, _score, _serving_blue

REQUESTS = 30
pytestmark = [pytest.mark.metrics, pytest.mark.usefixtures("real_operator")]


@pytest.fixture
def prometheus(real_cluster: LocalCluster, tmp_path: Path) -> Iterator[Prometheus]:
    job = scoring_pods_scrape_config(str(real_cluster.kubeconfig_path), NODE_NAME, interval="1s")
    server = Prometheus(prometheus_bin(), tmp_path / "prometheus", prometheus_config([job]))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_prometheus_counts_the_requests_a_real_pod_served_under_its_deployment_label(
    real_kube: Kube, real_namespace: str, prometheus: Prometheus
) -> None:
    pod, _ = _serving_blue(real_kube, real_namespace)
    secret = real_kube.get("v1", "Secret", "diabetes-endpoint-keys", real_namespace) or {}
    key = base64.b64decode(secret["data"]["primaryKey"]).decode()
    selector = f'namespace="{real_namespace}", deployment="blue", endpoint="diabetes"'
    wait_for(lambda: prometheus.value(f"up{{{selector}}}") == 1, 60, "Prometheus to discover and scrape the pod")

    for _ in range(REQUESTS):
        assert _score(pod["status"]["podIP"], key, {"data": [ROW]})[0] == 200

    query = f'sum(mlops_scoring_requests_total{{{selector}, route="score", code="2xx"}})'
    wait_for(lambda: prometheus.value(query) == REQUESTS, 30, f"Prometheus to count {REQUESTS} requests")
    scraped = [target["scrapeUrl"] for target in prometheus.api("targets")["activeTargets"]]
    assert scraped
    assert all(url.startswith(f"http://{NODE_SUBNET.rsplit('.', 1)[0]}.") for url in scraped), scraped

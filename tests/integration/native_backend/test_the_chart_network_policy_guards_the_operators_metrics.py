"""The chart's optional NetworkPolicy: off by default; when on, the operator pod admits ingress only to its
metrics port and only from the configured peers (the Prometheus namespace by default), and the API server
accepts the rendered policy."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from mlops_operator.devcluster import LocalCluster

REPO = Path(__file__).resolve().parents[3]
ENABLED = "--set=networkPolicy.enabled=true"
PROMETHEUS_NAMESPACE = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}


def network_policies(cluster: LocalCluster, namespace: str, *values: str) -> list[dict[str, Any]]:
    helm = cluster.assets.binary("helm")
    chart = str(REPO / "charts" / "mlops-operator")
    rendered = subprocess.run(
        [str(helm), "template", "mlops", chart, "--namespace", namespace, *values],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    return [o for o in yaml.safe_load_all(rendered) if o and o["kind"] == "NetworkPolicy"]


def test_no_network_policy_is_rendered_by_default(crds: LocalCluster) -> None:
    assert network_policies(crds, "mlops-system") == []


def test_the_policy_admits_only_the_metrics_port_from_the_prometheus_namespace(crds: LocalCluster) -> None:
    [policy] = network_policies(crds, "mlops-system", ENABLED)
    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "mlops-operator"
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    assert policy["spec"]["ingress"] == [{"ports": [{"protocol": "TCP", "port": 8081}], "from": [PROMETHEUS_NAMESPACE]}]


def test_without_peers_or_metrics_the_policy_admits_nothing(crds: LocalCluster) -> None:
    [no_peers] = network_policies(crds, "mlops-system", ENABLED, "--set=networkPolicy.metricsFrom=null")
    [no_metrics] = network_policies(crds, "mlops-system", ENABLED, "--set=metrics.port=0")
    assert no_peers["spec"]["ingress"] == no_metrics["spec"]["ingress"] == []


def test_the_api_server_accepts_the_policy(crds: LocalCluster, namespace: str) -> None:
    [policy] = network_policies(crds, namespace, ENABLED)
    answer = crds.kubectl(
        "apply", "--server-side", "--dry-run=server", "-o", "yaml", "-f", "-", stdin=yaml.safe_dump(policy)
    )
    accepted = yaml.safe_load(answer.stdout)
    assert accepted["kind"] == "NetworkPolicy"
    assert accepted["spec"]["ingress"] == policy["spec"]["ingress"]

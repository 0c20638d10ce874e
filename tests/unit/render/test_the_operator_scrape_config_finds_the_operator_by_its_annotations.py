"""The kubernetes_sd job for the operator keeps only the operator pod that the chart annotated for scraping,
on the real node, and scrapes the pod IP at the annotated port and path."""

from __future__ import annotations

import re
from typing import Any

from mlops_operator.render.prometheus import operator_pods_scrape_config

REAL_NODE = "mlops-node-0"


def operator_pod(node: str = REAL_NODE, scrape: str = "true", app: str = "mlops-operator") -> dict[str, str]:
    return {
        "__address__": "10.245.0.9:8080",
        "__meta_kubernetes_namespace": "mlops-system",
        "__meta_kubernetes_pod_name": "mlops-mlops-operator-abc",
        "__meta_kubernetes_pod_node_name": node,
        "__meta_kubernetes_pod_phase": "Running",
        "__meta_kubernetes_pod_ip": "10.245.0.9",
        "__meta_kubernetes_pod_label_app_kubernetes_io_name": app,
        "__meta_kubernetes_pod_annotation_prometheus_io_scrape": scrape,
        "__meta_kubernetes_pod_annotation_prometheus_io_port": "8081",
        "__meta_kubernetes_pod_annotation_prometheus_io_path": "/metrics",
    }


def relabel(target: dict[str, str], rules: list[dict[str, Any]]) -> dict[str, str] | None:
    """Prometheus's relabelling for keep and replace: joined source labels, anchored regex, $N groups."""
    labels = dict(target)
    for rule in rules:
        value = ";".join(labels.get(name, "") for name in rule["source_labels"])
        match = re.fullmatch(rule.get("regex", "(.*)"), value)
        if rule.get("action", "replace") == "keep":
            if match is None:
                return None
            continue
        if match is not None:
            labels[rule["target_label"]] = match.expand(re.sub(r"\$(\d)", r"\\\1", rule.get("replacement", "$1")))
    return {k: v for k, v in labels.items() if not k.startswith("__meta_")}


def rules() -> list[dict[str, Any]]:
    return operator_pods_scrape_config("/tmp/admin.kubeconfig", REAL_NODE)["relabel_configs"]


def test_the_annotated_operator_pod_is_scraped_at_its_metrics_port_and_path() -> None:
    kept = relabel(operator_pod(), rules())

    assert kept is not None
    assert kept["__address__"] == "10.245.0.9:8081"
    assert kept["__metrics_path__"] == "/metrics"
    assert (kept["namespace"], kept["pod"]) == ("mlops-system", "mlops-mlops-operator-abc")


def test_pods_that_are_not_the_annotated_operator_on_the_real_node_are_left_alone() -> None:
    assert relabel(operator_pod(scrape="false"), rules()) is None
    assert relabel(operator_pod(app="mlops-scoring"), rules()) is None
    assert relabel(operator_pod(node="kwok-general-0"), rules()) is None

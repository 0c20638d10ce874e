"""Prometheus configuration for scraping the operator and the scoring pods (docs/observability.md).

Pure: the test fixtures and `hack/` write what these return. In a cluster with the Prometheus Operator the
chart's PodMonitors do the same job with the same relabelling; these are for a plain Prometheus, such as
the one the metrics tests run out of cluster against the local control plane.

Scoring pods are found through Kubernetes service discovery (role pod, the `http` container port, the pod
label app.kubernetes.io/name=mlops-scoring) and get `deployment` and `endpoint` labels from their
`mlops.dev/deployment` and `mlops.dev/endpoint` pod labels, so the server itself never hard-codes them.
On the dev cluster only pods on the real node are kept: kwok's pods have made-up IPs that must never be
contacted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlops_operator import naming

SCORING_JOB = "mlops-scoring"
OPERATOR_JOB = "mlops-operator"
SCORING_APP = "mlops-scoring"


def _meta_label(label: str) -> str:
    """The SD meta label Prometheus derives from a pod label (non-alphanumerics become `_`)."""
    return "__meta_kubernetes_pod_label_" + "".join(c if c.isalnum() else "_" for c in label)


def scoring_relabel_configs(node_name: str | None = None) -> list[dict[str, Any]]:
    """Keep scoring pods' `http` port (only those on `node_name` when given); label deployment/endpoint."""
    keep_node = [
        {"source_labels": ["__meta_kubernetes_pod_node_name"], "regex": node_name, "action": "keep"},
    ]
    return [
        *(keep_node if node_name else []),
        {"source_labels": [_meta_label(naming.LABEL_NAME)], "regex": SCORING_APP, "action": "keep"},
        {"source_labels": ["__meta_kubernetes_pod_container_port_name"], "regex": "http", "action": "keep"},
        {"source_labels": ["__meta_kubernetes_pod_phase"], "regex": "Running", "action": "keep"},
        {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
        {"source_labels": [_meta_label(naming.LABEL_DEPLOYMENT)], "target_label": "deployment"},
        {"source_labels": [_meta_label(naming.LABEL_ENDPOINT)], "target_label": "endpoint"},
    ]


def operator_relabel_configs(node_name: str | None = None) -> list[dict[str, Any]]:
    """The operator pod by its `prometheus.io/*` annotations (the chart sets them with metrics.port)."""
    keep_node = [{"source_labels": ["__meta_kubernetes_pod_node_name"], "regex": node_name, "action": "keep"}]
    annotation = "__meta_kubernetes_pod_annotation_prometheus_io_"
    return [
        *(keep_node if node_name else []),
        {"source_labels": [_meta_label(naming.LABEL_NAME)], "regex": OPERATOR_JOB, "action": "keep"},
        {"source_labels": [annotation + "scrape"], "regex": "true", "action": "keep"},
        {"source_labels": ["__meta_kubernetes_pod_phase"], "regex": "Running", "action": "keep"},
        {
            "source_labels": ["__meta_kubernetes_pod_ip", annotation + "port"],
            "regex": "(.+);(\\d+)",
            "replacement": "$1:$2",
            "target_label": "__address__",
        },
        {"source_labels": [annotation + "path"], "regex": "(.+)", "target_label": "__metrics_path__"},
        {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
    ]


def operator_pods_scrape_config(
    kubeconfig_file: str | None, node_name: str | None, interval: str = "15s", job: str = OPERATOR_JOB
) -> dict[str, Any]:
    """A kubernetes_sd (role pod) job for the operator pod, found by its annotations."""
    sd: dict[str, Any] = {"role": "pod"}
    if kubeconfig_file:
        sd["kubeconfig_file"] = kubeconfig_file
    return {"job_name": job, "scrape_interval": interval, "kubernetes_sd_configs": [sd],
            "relabel_configs": operator_relabel_configs(node_name)}  # fmt: skip


def scoring_pods_scrape_config(
    kubeconfig_file: str | None, node_name: str | None, interval: str = "15s", job: str = SCORING_JOB
) -> dict[str, Any]:
    """A kubernetes_sd (role pod) job for the scoring pods; `kubeconfig_file` when out of cluster."""
    sd: dict[str, Any] = {"role": "pod"}
    if kubeconfig_file:
        sd["kubeconfig_file"] = kubeconfig_file
    return {
        "job_name": job,
        "scrape_interval": interval,
        "metrics_path": "/metrics",
        "kubernetes_sd_configs": [sd],
        "relabel_configs": scoring_relabel_configs(node_name),
    }


def static_scrape_config(job: str, targets: Sequence[str], interval: str = "15s", **labels: str) -> dict[str, Any]:
    """A job for fixed host:port targets (the operator or a scoring server on 127.0.0.1 in tests)."""
    group: dict[str, Any] = {"targets": list(targets)}
    if labels:
        group["labels"] = dict(labels)
    return {"job_name": job, "scrape_interval": interval, "static_configs": [group]}


def prometheus_config(
    scrape_configs: Sequence[dict[str, Any]], rule_files: Sequence[str] = (), evaluation_interval: str = "15s"
) -> dict[str, Any]:
    """A whole prometheus.yml."""
    config: dict[str, Any] = {
        "global": {"scrape_interval": "15s", "evaluation_interval": evaluation_interval},
        "scrape_configs": list(scrape_configs),
    }
    if rule_files:
        config["rule_files"] = list(rule_files)
    return config

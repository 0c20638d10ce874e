"""The kubernetes_sd scrape config keeps only scoring pods on the real node (never kwok's fake IPs) and
labels their series with the deployment and endpoint from the pod labels.

Relabelling is applied here the way Prometheus applies it (source labels joined by `;`, fully anchored
regex, `keep` drops non-matches, the default action copies into `target_label`); promtool checks the
same config in tests/prometheus."""

from __future__ import annotations

import re
from typing import Any

from mlops_operator.render.prometheus import prometheus_config, scoring_pods_scrape_config, static_scrape_config

REAL_NODE = "mlops-node-0"
KUBECONFIG = "/tmp/admin.kubeconfig"


def pod_target(node: str, app: str = "mlops-scoring", port_name: str = "http") -> dict[str, str]:
    """The meta labels service discovery gives one container port of one pod."""
    return {
        "__address__": "10.0.0.7:5001",
        "__meta_kubernetes_namespace": "ml",
        "__meta_kubernetes_pod_name": "blue-abc",
        "__meta_kubernetes_pod_node_name": node,
        "__meta_kubernetes_pod_phase": "Running",
        "__meta_kubernetes_pod_container_port_name": port_name,
        "__meta_kubernetes_pod_label_app_kubernetes_io_name": app,
        "__meta_kubernetes_pod_label_mlops_dev_deployment": "blue",
        "__meta_kubernetes_pod_label_mlops_dev_endpoint": "scoring",
    }


def relabel(target: dict[str, str], rules: list[dict[str, Any]]) -> dict[str, str] | None:
    labels = dict(target)
    for rule in rules:
        value = ";".join(labels.get(name, "") for name in rule["source_labels"])
        match = re.fullmatch(rule.get("regex", "(.*)"), value)
        action = rule.get("action", "replace")
        if action == "keep" and match is None:
            return None
        if action == "replace" and match is not None:
            labels[rule["target_label"]] = match.expand(rule.get("replacement", r"\1").replace("$1", r"\1"))
    return {k: v for k, v in labels.items() if not k.startswith("__meta_")}


def rules() -> list[dict[str, Any]]:
    return scoring_pods_scrape_config(KUBECONFIG, REAL_NODE)["relabel_configs"]


def test_a_scoring_pod_on_the_real_node_is_scraped_with_deployment_and_endpoint_labels() -> None:
    kept = relabel(pod_target(REAL_NODE), rules())

    assert kept is not None
    assert (kept["deployment"], kept["endpoint"], kept["namespace"]) == ("blue", "scoring", "ml")
    assert kept["__address__"] == "10.0.0.7:5001"


def test_a_pod_on_a_kwok_node_is_never_a_target() -> None:
    assert relabel(pod_target("kwok-node-0"), rules()) is None
    assert relabel(pod_target(REAL_NODE + "1"), rules()) is None  # the node regex is anchored


def test_other_pods_and_other_ports_on_the_real_node_are_left_alone() -> None:
    assert relabel(pod_target(REAL_NODE, app="traefik"), rules()) is None
    assert relabel(pod_target(REAL_NODE, port_name="debug"), rules()) is None


def test_the_node_filter_comes_first_so_nothing_else_is_evaluated_for_kwok_pods() -> None:
    first = rules()[0]

    assert first == {"source_labels": ["__meta_kubernetes_pod_node_name"], "regex": REAL_NODE, "action": "keep"}


def test_service_discovery_reads_the_cluster_from_the_kubeconfig_file() -> None:
    job = scoring_pods_scrape_config(KUBECONFIG, REAL_NODE)

    assert job["kubernetes_sd_configs"] == [{"role": "pod", "kubeconfig_file": KUBECONFIG}]


def test_a_whole_config_lists_the_jobs_and_rule_files() -> None:
    operator = static_scrape_config("mlops-operator", ["127.0.0.1:8081"], interval="1s")
    config = prometheus_config([operator], rule_files=["rules.yaml"])

    assert config["scrape_configs"][0]["static_configs"] == [{"targets": ["127.0.0.1:8081"]}]
    assert config["rule_files"] == ["rules.yaml"]

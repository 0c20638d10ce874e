"""Rollouts on the azureml backend: each step is an endpoint traffic update on the (fake) ARM server, and
the gates read a metrics provider (a Prometheus API double here: no pods produce metrics on the fake)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kopf.testing import KopfRunner
from prometheus_double import PrometheusDouble

from fake_arm import FakeArm
from mlops_operator.kube import Kube

from .helpers import create_ready_platform, md_body, status_of, wait_condition, wait_for

MD = "ModelDeployment"
V2 = {"name": "sample-model", "version": "2", "uri": "azureml://datastores/workspaceblobstore/paths/models/v2/"}


@pytest.fixture
def metrics() -> Iterator[PrometheusDouble]:
    with PrometheusDouble() as double:
        yield double


def _rollout(metrics: PrometheusDouble) -> dict[str, object]:
    return {
        "baseline": "blue",
        "steps": [{"traffic": 20, "pauseSeconds": 1}, {"traffic": 50, "pauseSeconds": 1}],
        "analysis": {
            "intervalSeconds": 1,
            "failureLimit": 0,
            "gates": [{"name": "error-ratio", "metric": "errorRatio", "max": 0.05}],
            "prometheus": {"address": metrics.url},
        },
    }


def _traffic_puts(fake: FakeArm) -> list[dict[str, int]]:
    puts = [r for r in fake.requests("PUT", "/onlineEndpoints/") if "/deployments/" not in r.path and r.status < 300]
    return [{k: v for k, v in (r.body["properties"].get("traffic") or {}).items() if v} for r in puts]


def _release_green(kube: Kube, namespace: str, metrics: PrometheusDouble) -> None:
    create_ready_platform(kube)
    kube.create(md_body(namespace, "blue", traffic=100))
    wait_condition(kube, MD, "blue", "Ready", "True", namespace)
    kube.create(md_body(namespace, "green", traffic=100, model=V2, rollout=_rollout(metrics)))
    kube.patch_merge("mlops.dev/v1alpha1", MD, "blue", namespace, {"spec": {"traffic": 0}})


def _phase(kube: Kube, namespace: str) -> str | None:
    return (status_of(kube, MD, "green", namespace).get("rollout") or {}).get("phase")


def test_a_healthy_candidate_reaches_its_traffic_through_one_endpoint_update_per_step(
    operator: KopfRunner, azure_env: FakeArm, kube: Kube, namespace: str, metrics: PrometheusDouble
) -> None:
    metrics.values.update(green=0.0, blue=0.0)
    _release_green(kube, namespace, metrics)

    wait_for(lambda: _phase(kube, namespace) == "Succeeded", timeout=90, what="green promoted")

    assert _traffic_puts(azure_env)[-4:] == [
        {"blue": 100},
        {"blue": 80, "green": 20},
        {"blue": 50, "green": 50},
        {"green": 100},
    ]
    wait_condition(kube, MD, "green", "Ready", "True", namespace)
    assert any('deployment="green"' in q for q in metrics.queries)


def test_a_failing_candidate_gets_its_traffic_back_to_the_baseline_on_azure(
    operator: KopfRunner, azure_env: FakeArm, kube: Kube, namespace: str, metrics: PrometheusDouble
) -> None:
    metrics.values.update(green=0.3, blue=0.0)
    _release_green(kube, namespace, metrics)

    wait_for(lambda: _phase(kube, namespace) == "RolledBack", timeout=90, what="green rolled back")
    wait_for(lambda: _traffic_puts(azure_env)[-1] == {"blue": 100}, timeout=60, what="the endpoint back on blue")

    assert {"blue": 80, "green": 20} in _traffic_puts(azure_env)
    assert {"blue": 50, "green": 50} not in _traffic_puts(azure_env)
    ready = wait_condition(kube, MD, "green", "Ready", "False", namespace)
    assert ready["reason"] == "RolledBack"
    assert "error-ratio=0.3 (<= 0.05) Fail" in ready["message"]

"""The drift monitor with a fake API server and a fake Prometheus, and a real CloudEvents receiver on
loopback: checks only when due, one CloudEvent and one Job per episode, across operator restarts."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cloudevent_receiver import CloudEventReceiver
from drift_fixtures import PROFILE, after, deployment, window
from mlops_operator.api.v1alpha1 import ModelDeployment
from mlops_operator.conditions import ConditionType
from mlops_operator.metrics import OperatorMetrics
from mlops_operator.monitoring.drift_driver import DriftMonitor
from mlops_operator.rollouts.prometheus import ProviderError

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
JOB = {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "train", "image": "t:1"}]}}}}


class FakeKube:
    def __init__(self) -> None:
        profile = {"metadata": {"name": "profile", "resourceVersion": "7"}, "data": {"profile.json": PROFILE.to_json()}}
        key = base64.b64encode(b"s3cret").decode()
        self.objects: dict[tuple[str, str], dict[str, Any]] = {
            ("ConfigMap", "profile"): profile,
            ("Secret", "topic"): {"metadata": {"name": "topic"}, "data": {"key": key}},
        }
        self.created: list[dict[str, Any]] = []

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        return self.objects.get((kind, name))

    def create(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        key = (obj["kind"], obj["metadata"]["name"])
        if key in self.objects:
            return None
        self.objects[key] = obj
        self.created.append(obj)
        return obj


class FakePrometheus:
    def __init__(self) -> None:
        self.counts: dict[str, list[float]] = {}
        self.queries: list[str] = []
        self.down = False

    def series(self, expression: str) -> list[tuple[dict[str, str], float]]:
        self.queries.append(expression)
        if self.down:
            raise ProviderError("Prometheus http://prom unreachable: connection refused")
        labels = {f.name: f.bin_labels() for f in PROFILE.features}
        return [
            ({"feature": name, "bin": labels[name][i]}, value)
            for name, values in self.counts.items()
            for i, value in enumerate(values)
        ]


@pytest.fixture
def receiver():
    with CloudEventReceiver(key="s3cret") as webhook:
        yield webhook


def monitored(url: str) -> ModelDeployment:
    return deployment(
        {
            "prometheus": {"address": "http://prom:9090"},
            "actions": {
                "cloudEvent": {"url": url, "keySecretRef": {"name": "topic", "key": "key"}},
                "job": {"template": {"metadata": {"labels": {"team": "risk"}}, **JOB}},
            },
        }
    )


def test_one_cloud_event_and_one_job_per_episode_even_across_restarts(receiver: CloudEventReceiver) -> None:
    kube, prometheus = FakeKube(), FakePrometheus()
    md = monitored(receiver.url)
    prometheus.counts = window(shift=1.5)
    first = DriftMonitor(kube, None, lambda address: prometheus).run(md, T0)
    assert (first.verdict.status, first.verdict.reason, first.requeue_after) == ("True", "DriftDetected", 30.0)
    assert 'namespace="ml", deployment="blue"}[60s]' in prometheus.queries[0]
    [event] = receiver.events
    assert (event.get_type(), event.get_id(), event.get_source()) == (
        "dev.mlops.drift.detected",
        "u-1-drift-1",
        "/apis/mlops.dev/v1alpha1/namespaces/ml/modeldeployments/blue",
    )
    assert event.get_data()["driftedFeatures"] == ["x"]
    assert event.get_data()["model"]["version"] == "3"
    [job] = kube.created
    assert job["metadata"]["name"] == "blue-drift-1"
    assert job["metadata"]["labels"]["team"] == "risk"
    assert job["metadata"]["labels"]["mlops.dev/drift-episode"] == "1"
    assert {"name": "MLOPS_DRIFT_FEATURES", "value": "x"} in job["spec"]["template"]["spec"]["containers"][0]["env"]
    assert [e.reason for e in first.events] == ["DriftActionsRun"]

    # A restarted operator (a new monitor, no memory) reads the episode from status: nothing runs again.
    restarted = DriftMonitor(kube, None, lambda address: prometheus)
    md = after(md, first)
    assert restarted.run(md, T0 + timedelta(seconds=10)).requeue_after == pytest.approx(20.0)
    still = restarted.run(md, T0 + timedelta(seconds=31))
    assert still.verdict.status == "True"
    assert len(receiver.events) == 1
    assert len(kube.created) == 1

    prometheus.counts = window()
    calm = restarted.run(after(md, still), T0 + timedelta(seconds=62))
    assert (calm.verdict.status, calm.verdict.reason) == ("False", "NoDrift")
    assert calm.status is not None
    assert calm.status.episode is not None
    assert calm.status.episode.ended_at


def test_a_refused_webhook_is_reported_and_retried_at_the_next_check(receiver: CloudEventReceiver) -> None:
    kube, prometheus = FakeKube(), FakePrometheus()
    kube.objects[("Secret", "topic")]["data"]["key"] = base64.b64encode(b"wrong").decode()
    prometheus.counts = window(shift=1.5)
    md = monitored(receiver.url)
    first = DriftMonitor(kube, None, lambda address: prometheus).run(md, T0)
    assert first.status is not None
    assert first.status.episode is not None
    assert first.status.episode.actions["cloudEvent"].startswith("Failed: ")
    assert "401" in first.status.episode.actions["cloudEvent"]
    assert first.status.episode.actions["job"] == "Created blue-drift-1"
    assert sorted(e.reason for e in first.events) == ["DriftActionFailed", "DriftActionsRun"]
    kube.objects[("Secret", "topic")]["data"]["key"] = base64.b64encode(b"s3cret").decode()
    second = DriftMonitor(kube, None, lambda address: prometheus).run(after(md, first), T0 + timedelta(seconds=30))
    assert second.status is not None
    assert second.status.episode is not None
    assert second.status.episode.actions["cloudEvent"] == "Sent (200)"
    assert len(receiver.events) == 1
    assert len(kube.created) == 1


def test_missing_profile_unreachable_prometheus_and_metrics() -> None:
    kube, prometheus, metrics = FakeKube(), FakePrometheus(), OperatorMetrics()
    md = deployment({"prometheus": {"address": "http://prom:9090"}})
    monitor = DriftMonitor(kube, None, lambda address: prometheus, metrics)
    prometheus.down = True
    down = monitor.run(md, T0)
    assert (down.verdict.status, down.verdict.reason) == ("Unknown", "DriftCheckFailed")
    assert "unreachable" in down.verdict.message
    prometheus.down, prometheus.counts = False, window()
    monitor.run(md, T0)
    exposition = metrics.registry.get_sample_value(
        "mlops_operator_drift_value", {"namespace": "ml", "name": "blue", "feature": "x", "statistic": "jensenShannon"}
    )
    assert exposition is not None
    assert 0 <= exposition < 0.1
    del kube.objects[("ConfigMap", "profile")]
    gone = DriftMonitor(kube, None, lambda address: prometheus).run(md, T0)
    assert (gone.verdict.reason, gone.verdict.type) == ("DriftBaselineInvalid", ConditionType.DATA_DRIFT)
    assert "mlopsctl profile DATA --configmap profile" in gone.verdict.message
    no_provider = DriftMonitor(FakeKube(), None).run(deployment(), T0)
    assert (no_provider.verdict.reason, no_provider.verdict.status) == ("DriftCheckFailed", "Unknown")
    assert "MLOPS_PROMETHEUS_URL" in no_provider.verdict.message

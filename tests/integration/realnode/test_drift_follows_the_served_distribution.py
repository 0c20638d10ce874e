"""Data drift end to end: the diabetes model on a real pod, requests through the real Gateway, the scoring
server's bin counters scraped by a real Prometheus, the operator judging them against the training profile.

Rows drawn from the training data keep DataDrift False; shifting `bmi` and `s5` turns it True within two
check intervals, with exactly one CloudEvent (validated by the CloudEvents SDK, with its key header) and one
retraining Job; going back clears it. Set MLOPS_DRIFT_TRACE=DIR to keep the run's trace (docs/drift.md).
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from native_backend.helpers import wait_condition
from polling import wait_for
from prometheus_server import Prometheus
from sklearn.datasets import load_diabetes

from cloudevent_receiver import CloudEventReceiver
from mlops_operator.devcluster.gateway import Traefik
from mlops_operator.drift.build import build_profile
from mlops_operator.kube import Kube

from .load import BoundedLoad, endpoint_callers
from .test_model_deployments_run_real_pods import _deployment, _model_files

pytestmark = [pytest.mark.drift, pytest.mark.traffic, pytest.mark.metrics]
# A 5 s window holds about a thousand rows here (the collector samples under load): Jensen-Shannon's noise
# floor for 10 bins is then about 0.05 per feature, a shift of a standard deviation about 0.5.
INTERVAL_S, MIN_SAMPLES, ROWS_PER_REQUEST, THRESHOLD = 5, 400, 10, 0.15
LOAD_SECONDS, LOAD_MAX = 120.0, 30_000
SHIFTED = {"bmi": 0.06, "s5": 0.05}  # about 1.3 and 1 standard deviations of the scaled features
TRAINING = load_diabetes(as_frame=True).data
KEY = "topic-key-123"


def _bodies(shifted: bool, count: int = 200) -> list[bytes]:
    """Request bodies of rows resampled from the training data, optionally with some features moved, rounded
    as clients send them (the profile's edges sit between training values, so rounding moves no row)."""
    rng = np.random.default_rng(1 if shifted else 0)
    frame = TRAINING.copy()
    if shifted:
        for feature, delta in SHIFTED.items():
            frame[feature] += delta
    rows = frame.to_numpy()
    picks = rng.integers(0, len(rows), (count, ROWS_PER_REQUEST))
    return [json.dumps({"data": rows[pick].round(5).tolist()}).encode() for pick in picks]


class Phases:
    """Which rows the load sends: rows from the training data, or shifted ones."""

    def __init__(self) -> None:
        self.bodies = {"training": _bodies(False), "shifted": _bodies(True)}
        self.current = "training"

    def body(self, sent: int) -> bytes:
        bodies = self.bodies[self.current]
        return bodies[sent % len(bodies)]


class Trace:
    """status.drift every half second, with the load's phase, for the plot in docs/drift.md."""

    def __init__(self, kube: Kube, namespace: str, phases: Phases) -> None:
        self.kube, self.namespace, self.phases, self.samples = kube, namespace, phases, []
        self.marks: list[float] = []  # when the phase changed, seconds from the start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.started = time.monotonic()
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            body = self.kube.get("mlops.dev/v1alpha1", "ModelDeployment", "blue", self.namespace) or {}
            status = body.get("status") or {}
            drift = {c["type"]: c for c in status.get("conditions", [])}.get("DataDrift") or {}
            checked = status.get("drift") or {}
            features = {f["name"]: f.get("value") for f in checked.get("features", [])}
            at = time.monotonic() - self.started
            sample = {"t": at, "phase": self.phases.current, "dataDrift": drift.get("status"), "values": features}
            self.samples.append({**sample, "reason": drift.get("reason"), "rows": checked.get("samples")})

    def save(self) -> None:
        self._stop.set()
        self._thread.join(5)
        if where := os.environ.get("MLOPS_DRIFT_TRACE"):
            Path(where).mkdir(parents=True, exist_ok=True)
            document = {"samples": self.samples, "events": self.marks, "interval": INTERVAL_S, "threshold": THRESHOLD}
            Path(where, "drift.json").write_text(json.dumps(document))


def _setup(kube: Kube, namespace: str, prometheus: Prometheus, receiver: CloudEventReceiver, image: str) -> None:
    profile = build_profile(TRAINING)
    kube.create(_object("ConfigMap", namespace, "diabetes-profile", data={"profile.json": profile.to_json()}))
    kube.create(_object("Secret", namespace, "topic", data={"key": base64.b64encode(KEY.encode()).decode()}))
    retrain = {
        "name": "retrain",
        "image": image,
        "command": ["python", "-c", "import os; print(os.environ['MLOPS_DRIFT_FEATURES'])"],
    }
    drift = {
        "baseline": {"configMapKeyRef": {"name": "diabetes-profile"}},
        "minSamples": MIN_SAMPLES,
        "threshold": THRESHOLD,
        "checkIntervalSeconds": INTERVAL_S,
        "windowSeconds": INTERVAL_S,
        "prometheus": {"address": prometheus.url},
        "actions": {
            "cloudEvent": {"url": receiver.url, "keySecretRef": {"name": "topic", "key": "key"}},
            "job": {
                "template": {
                    "spec": {
                        "backoffLimit": 0,
                        "template": {"spec": {"restartPolicy": "Never", "containers": [retrain]}},
                    }
                }
            },
        },
    }
    _model_files(kube, namespace)
    kube.create(_deployment(namespace, "blue", monitoring={"drift": drift}))


def _object(kind: str, namespace: str, name: str, **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": namespace}, **fields}


def _drift_until(kube: Kube, namespace: str, status: str, timeout: float) -> dict[str, Any]:
    try:
        return wait_condition(kube, namespace, "blue", "DataDrift", status, timeout=timeout)
    except AssertionError as exc:  # say what the operator saw instead
        found = (kube.get("mlops.dev/v1alpha1", "ModelDeployment", "blue", namespace) or {}).get("status") or {}
        drift = [c for c in found.get("conditions", []) if c["type"] == "DataDrift"]
        raise AssertionError(f"{exc}; DataDrift: {drift}; status.drift: {found.get('drift')}") from None


def _jobs(kube: Kube, namespace: str) -> list[dict[str, Any]]:
    return kube.list("batch/v1", "Job", namespace, label_selector="mlops.dev/deployment=blue")


def _phases(
    kube: Kube, namespace: str, phases: Phases, trace: Trace
) -> tuple[dict[str, Any], float, dict[str, Any], float]:
    """Calm on training rows, drift on shifted rows, calm again: the conditions and how long each change took."""
    calm = _drift_until(kube, namespace, "False", timeout=60)
    assert calm["reason"] == "NoDrift", calm
    time.sleep(2 * INTERVAL_S)  # stays calm over further checks
    assert _drift_until(kube, namespace, "False", timeout=1)["reason"] == "NoDrift"

    phases.current, shifted_at = "shifted", time.monotonic()
    trace.marks.append(shifted_at - trace.started)
    found = _drift_until(kube, namespace, "True", timeout=6 * INTERVAL_S)
    found_after = time.monotonic() - shifted_at
    time.sleep(2 * INTERVAL_S)  # the episode lasts: nothing is triggered twice

    phases.current, restored_at = "training", time.monotonic()
    trace.marks.append(restored_at - trace.started)
    cleared = _drift_until(kube, namespace, "False", timeout=6 * INTERVAL_S)
    return found, found_after, cleared, time.monotonic() - restored_at


def test_drift_is_found_acted_on_once_and_cleared(
    real_kube: Kube,
    real_namespace: str,
    real_cluster: Any,
    traefik: Traefik,
    prometheus: Prometheus,
    operator: Callable[[], Any],
) -> None:
    with CloudEventReceiver(key=KEY) as receiver, operator():
        _setup(real_kube, real_namespace, prometheus, receiver, real_cluster.images.scoring)
        wait_condition(real_kube, real_namespace, "blue", "Ready", "True", timeout=240)
        factory, phases = endpoint_callers(real_kube, real_namespace, traefik), Phases()
        wait_for(lambda: factory().call(body=_bodies(False, 1)[0]).status == 200, 60, "blue to answer")
        with BoundedLoad(factory, 2, LOAD_SECONDS, LOAD_MAX, body=phases.body) as load:
            trace = Trace(real_kube, real_namespace, phases)
            try:
                found, found_after, cleared, cleared_after = _phases(real_kube, real_namespace, phases, trace)
            finally:
                trace.save()
        assert load.statuses
        assert set(load.statuses) == {200}

    # Two check intervals, plus Prometheus' 1 s scrape and the test's polling.
    assert found_after <= 2 * INTERVAL_S + 3, found_after
    assert cleared_after <= 2 * INTERVAL_S + 3, cleared_after
    assert found["reason"] == "DriftDetected", found
    assert "bmi" in found["message"], found
    assert "age" not in found["message"]  # untouched features do not drift
    [event] = receiver.events
    assert receiver.refused == []
    assert (event.get_type(), event.get_data()["deployment"], event.get_data()["episode"]) == (
        "dev.mlops.drift.detected",
        "blue",
        1,
    )
    assert {"bmi", "s5"} <= set(event.get_data()["driftedFeatures"])
    [job] = _jobs(real_kube, real_namespace)
    assert job["metadata"]["name"] == "blue-drift-1"
    assert job["metadata"]["labels"]["mlops.dev/drift-episode"] == "1"
    assert job["metadata"]["labels"]["mlops.dev/model-version"] == "1"
    drift = (real_kube.get("mlops.dev/v1alpha1", "ModelDeployment", "blue", real_namespace) or {})["status"]["drift"]
    assert drift["episode"]["number"] == 1
    assert drift["episode"]["endedAt"]
    assert drift["episode"]["actions"] == {"cloudEvent": "Sent (200)", "job": "Created blue-drift-1"}
    assert cleared["reason"] == "NoDrift"
    reasons = [e.get("reason") for e in real_kube.list("v1", "Event", real_namespace)]
    assert "DriftDetected" in reasons
    assert "DriftActionsRun" in reasons
    print(f"drift found {found_after:.1f}s after the shift, cleared {cleared_after:.1f}s after the return")

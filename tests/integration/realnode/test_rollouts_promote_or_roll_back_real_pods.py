"""Progressive rollouts on real pods, through the real Gateway (Traefik), judged by a real Prometheus.

Each test serves blue, then commits what a GitOps user would: green with spec.traffic 100 and a rollout,
blue with spec.traffic 0. The operator walks green's steps under bounded load; the spec never changes.
Set MLOPS_ROLLOUT_TRACE=DIR to keep each run's traffic and error-ratio trace (docs/rollouts.md plots it).
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

import pytest
from gateway.traffic import Caller, Load, LoadResult
from native_backend.helpers import wait_condition
from polling import wait_for
from prometheus_server import Prometheus

from mlops_operator.api.v1alpha1.rollout import MetricGate
from mlops_operator.devcluster.gateway import Traefik
from mlops_operator.kube import Kube
from mlops_operator.rollouts.gates import Subjects, expression

from .test_model_deployments_run_real_pods import ROW, _deployment, _model_files

pytestmark = [pytest.mark.rollout, pytest.mark.traffic, pytest.mark.metrics]
BODY = json.dumps({"data": [ROW]}).encode()
LOAD_THREADS, LOAD_SECONDS, LOAD_MAX = 2, 150.0, 40_000
STEPS = [{"traffic": 10, "pauseSeconds": 5}, {"traffic": 25, "pauseSeconds": 5}, {"traffic": 50, "pauseSeconds": 5}]
INTERVAL_S, WINDOW_S, ERROR_LIMIT = 4, 12, 0.05
# run() fails every fifth request (20 %), deterministically; the slow one answers in 300 ms.
FAILING_SCORE = """
import json
calls = 0
def init():
    pass
def run(raw):
    global calls
    calls += 1
    if calls % 5 == 0:
        raise RuntimeError("candidate bug: every fifth request fails")
    return [1.0 for _ in json.loads(raw)["data"]]
"""
SLOW_SCORE = """
import json, time
def init():
    pass
def run(raw):
    time.sleep(0.3)
    return [1.0 for _ in json.loads(raw)["data"]]
"""


def _rollout(prometheus: Prometheus, gates: list[dict[str, Any]], failure_limit: int = 0) -> dict[str, Any]:
    analysis = {
        "intervalSeconds": INTERVAL_S,
        "windowSeconds": WINDOW_S,
        "failureLimit": failure_limit,
        "gates": gates,
        "prometheus": {"address": prometheus.url},
    }
    return {"baseline": "blue", "steps": STEPS, "analysis": analysis}


ERROR_GATE = {"name": "error-ratio", "metric": "errorRatio", "max": ERROR_LIMIT}
LATENCY_GATE = {"name": "p99-latency", "metric": "p99LatencyMs", "max": 150}


def _code(kube: Kube, namespace: str, name: str, score: str) -> str:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}}
    kube.create({**body, "data": {"score.py": score}})
    return name


def _serve_blue(kube: Kube, namespace: str, traefik: Traefik) -> Callable[[], Caller]:
    _model_files(kube, namespace)
    kube.create(_deployment(namespace, "blue", traffic=100))
    wait_condition(kube, namespace, "blue", "Ready", "True", timeout=240)
    secret = kube.get("v1", "Secret", "diabetes-endpoint-keys", namespace) or {}
    key = base64.b64decode(secret["data"]["primaryKey"]).decode()
    factory = lambda: Caller(traefik.web_port, namespace, "diabetes", key=key, body=BODY)  # noqa: E731
    wait_for(lambda: _answers(factory) == 200, 60, "blue to answer through the Gateway")
    return factory


def _answers(factory: Callable[[], Caller]) -> int:
    caller = factory()
    try:
        return caller.call().status
    finally:
        caller.close()


def _commit_green(kube: Kube, namespace: str, rollout: dict[str, Any], code: str = "sklearn-diabetes-code") -> None:
    """What a GitOps commit applies: green (100 %, with its rollout), then blue to 0 %."""
    kube.create(_deployment(namespace, "green", code=code, traffic=100, rollout=rollout))
    kube.patch_merge("mlops.dev/v1alpha1", "ModelDeployment", "blue", namespace, {"spec": {"traffic": 0}})


def _rollout_status(kube: Kube, namespace: str) -> dict[str, Any]:
    body = kube.get("mlops.dev/v1alpha1", "ModelDeployment", "green", namespace) or {}
    return dict((body.get("status") or {}).get("rollout") or {})


class Trace:
    """green's rollout as it happened: phase, step and share in force every half second, with the load."""

    def __init__(self, kube: Kube, namespace: str, load: Load) -> None:
        self.kube, self.namespace, self.load = kube, namespace, load
        self.samples: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Trace:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            body = self.kube.get("mlops.dev/v1alpha1", "ModelDeployment", "green", self.namespace) or {}
            status = body.get("status") or {}
            rollout = status.get("rollout") or {}
            self.samples.append(
                {
                    "t": time.monotonic(),
                    "phase": rollout.get("phase"),
                    "step": rollout.get("step"),
                    "green": (status.get("traffic") or {}).get("green", 0),
                }
            )

    def save(self, name: str, result: LoadResult) -> None:
        where = os.environ.get("MLOPS_ROLLOUT_TRACE")
        if not where:
            return
        answers = [{"t": t, "status": a.status, "deployment": a.deployment} for t, a in result.answers]
        Path(where).mkdir(parents=True, exist_ok=True)
        Path(where, f"{name}.json").write_text(json.dumps({"samples": self.samples, "answers": answers}))


def _until_phase(kube: Kube, namespace: str, phases: set[str], timeout: float) -> dict[str, Any]:
    return wait_for(
        lambda: (s := _rollout_status(kube, namespace)).get("phase") in phases and s,
        timeout,
        f"green's rollout to reach {phases}",
    )


def _first_crossing(prometheus: Prometheus, namespace: str, start: float, end: float) -> float:
    """When Prometheus first evaluated green's error ratio (the gate's own PromQL) above the limit."""
    gate = MetricGate.model_validate(ERROR_GATE)
    expr = expression(gate, Subjects(namespace, "diabetes", "green", "blue", WINDOW_S), "green")
    [series] = prometheus.series(expr, start, end + 1, step="500ms")
    return min(float(t) for t, v in series["values"] if float(v) > ERROR_LIMIT)


def _events(kube: Kube, namespace: str, reason: str) -> list[dict[str, Any]]:
    items = kube.list("v1", "Event", namespace)
    return [e for e in items if e.get("reason") == reason and e["involvedObject"]["name"] == "green"]


def test_a_healthy_candidate_is_promoted_through_every_step_without_failed_requests(
    real_kube: Kube, real_namespace: str, traefik: Traefik, prometheus: Prometheus, operator: Callable[[], Any]
) -> None:
    with operator():
        factory = _serve_blue(real_kube, real_namespace, traefik)
        with (
            Load(factory, LOAD_THREADS, LOAD_SECONDS, LOAD_MAX) as load,
            Trace(real_kube, real_namespace, load) as trace,
        ):
            started = time.monotonic()
            _commit_green(real_kube, real_namespace, _rollout(prometheus, [ERROR_GATE, LATENCY_GATE]))
            final = _until_phase(real_kube, real_namespace, {"Succeeded", "RolledBack", "Failed"}, 200)
            promoted_after = time.monotonic() - started
            time.sleep(2.0)
        result = load.merged()
        trace.save("promoted", result)
    assert final["phase"] == "Succeeded", final
    assert [(h["traffic"], h["result"]) for h in final["history"]] == [(10, "Passed"), (25, "Passed"), (50, "Passed")]
    assert result.non_2xx() == []
    assert result.served_by()["green"] > 0
    shares = sorted({s["green"] for s in trace.samples})
    assert {10, 25, 50, 100} <= set(shares), shares
    green = real_kube.get("mlops.dev/v1alpha1", "ModelDeployment", "green", real_namespace) or {}
    assert green["spec"]["traffic"] == 100  # the spec is never rewritten: GitOps sees no drift
    assert green["status"]["traffic"] == {"blue": 0, "green": 100}
    assert len(_events(real_kube, real_namespace, "RolloutStep")) == 3
    print(f"promoted after {promoted_after:.1f}s, {len(result.answers)} requests, 0 failed")


def test_a_candidate_failing_a_fifth_of_its_requests_is_rolled_back_at_its_first_failed_check(
    real_kube: Kube, real_namespace: str, traefik: Traefik, prometheus: Prometheus, operator: Callable[[], Any]
) -> None:
    with operator():
        factory = _serve_blue(real_kube, real_namespace, traefik)
        code = _code(real_kube, real_namespace, "failing-code", FAILING_SCORE)
        with (
            Load(factory, LOAD_THREADS, LOAD_SECONDS, LOAD_MAX) as load,
            Trace(real_kube, real_namespace, load) as trace,
        ):
            _commit_green(real_kube, real_namespace, _rollout(prometheus, [ERROR_GATE]), code=code)
            load_started_wall = time.time()
            final = _until_phase(real_kube, real_namespace, {"Succeeded", "RolledBack", "Failed"}, 200)
            rolled_back_at, rolled_back_wall = time.monotonic(), time.time()
            wait_condition(real_kube, real_namespace, "green", "TrafficApplied", "True", timeout=30)
            time.sleep(4.0)  # Traefik has the route back on blue
        result = load.merged()
        trace.save("rolled-back", result)
    assert final["phase"] == "RolledBack", final
    [gate] = final["analysis"]
    assert (gate["name"], gate["verdict"]) == ("error-ratio", "Fail")
    assert gate["value"] > ERROR_LIMIT
    entered = final["history"][0]
    assert (entered["traffic"], entered["result"]) == (10, "Failed")
    # Rolled back at the first check of the first step, within one analysis interval of Prometheus first
    # seeing the candidate's error ratio above the gate (plus the test's 0.2 s polling and 1 s scrape).
    assert len(final["history"]) == 1
    crossed = _first_crossing(prometheus, real_namespace, load_started_wall, rolled_back_wall)
    assert rolled_back_wall - crossed <= INTERVAL_S + 2.0, (crossed, rolled_back_wall)
    failed = result.non_2xx()
    assert len(failed) / len(result.answers) < ERROR_LIMIT  # fewer failures than the gate itself allows
    assert not [t for t, _ in failed if t > rolled_back_at + 3.0]  # none once the route is back on blue
    ready = wait_condition(real_kube, real_namespace, "green", "Ready", "False", reason="RolledBack")
    assert "error-ratio" in ready["message"]
    stalled = wait_condition(real_kube, real_namespace, "green", "Stalled", "True")
    assert stalled["reason"] == "RolledBack"
    print(f"rolled back {rolled_back_wall - crossed:.1f}s after the error ratio crossed {ERROR_LIMIT}")
    print(f"rolled back: {len(failed)} failed of {len(result.answers)} ({gate['value']:.3f} error ratio at the check)")


def test_a_slow_candidate_fails_the_latency_gate_and_a_restart_mid_rollout_resumes_at_the_same_step(
    real_kube: Kube, real_namespace: str, traefik: Traefik, prometheus: Prometheus, operator: Callable[[], Any]
) -> None:
    healthy_then_slow = _rollout(prometheus, [LATENCY_GATE], failure_limit=1)
    with operator():
        factory = _serve_blue(real_kube, real_namespace, traefik)
        code = _code(real_kube, real_namespace, "slow-code", SLOW_SCORE)
        with Load(factory, LOAD_THREADS, LOAD_SECONDS, LOAD_MAX):
            _commit_green(real_kube, real_namespace, healthy_then_slow, code=code)
            at_step = wait_for(
                lambda: (s := _rollout_status(real_kube, real_namespace)).get("stepStartedAt") and s,
                200,
                "green's first step to start",
            )
    # The operator is stopped mid-rollout: nothing moves while it is away.
    time.sleep(3.0)
    assert _rollout_status(real_kube, real_namespace)["stepStartedAt"] == at_step["stepStartedAt"]
    with operator(), Load(factory, LOAD_THREADS, LOAD_SECONDS, LOAD_MAX):
        final = _until_phase(real_kube, real_namespace, {"Succeeded", "RolledBack", "Failed"}, 200)
    assert final["phase"] == "RolledBack", final
    assert [h["startedAt"] for h in final["history"]] == [at_step["stepStartedAt"]]  # resumed, not restarted
    [gate] = final["analysis"]
    assert (gate["name"], gate["verdict"]) == ("p99-latency", "Fail")
    assert gate["value"] > 150
    assert final["failedChecks"] == 2

"""Our operator's rollout of the same scenarios as bench/flagger_canary.py, in the same run and cluster.

The same Gateway (Traefik), Prometheus, scoring image, pod template (render/workload.py), model, bad
score.py and load (threads x requests/s, bounded) as the Flagger half; the rollout mirrors the Canary:
steps at the same weights each held one interval, a check every interval over the same rate window, the
same error-ratio limit, and `failureLimit` = Flagger's `threshold` - 1 (Flagger rolls back when the
failed checks reach its threshold; we when they exceed our limit). What differs is the shape: Flagger
canaries one Deployment and promotes by copying the template into its `-primary`; we move traffic between
two ModelDeployments (blue serving, green committed with spec.traffic 100 and spec.rollout).
"""

from __future__ import annotations

import base64
import collections
import sys
import time
from pathlib import Path
from typing import Any

from gateway.traffic import Answer, Caller, Load
from polling import wait_for
from prometheus_server import Prometheus

from mlops_operator.cli.dev_resources import model_configmaps
from mlops_operator.devcluster import LocalCluster
from mlops_operator.devcluster.process import ManagedProcess, child_env
from mlops_operator.kube import Kube

REPO = Path(__file__).resolve().parents[1]
NAMESPACE, ENDPOINT, PLATFORM = "ours-bench", "diabetes", "bench"
GATEWAY, GATEWAY_NAMESPACE = "mlops-gateway", "mlops-system"
BAD_SCORE = Path(__file__).resolve().parent / "flagger" / "score_fails_one_in_five.py"
MD = "ModelDeployment"
TERMINAL = {"Succeeded", "RolledBack", "Failed"}
TAIL_SECONDS = 8.0
FAST_PROBE = {"initialDelay": 1, "period": 1, "timeout": 2, "successThreshold": 1, "failureThreshold": 30}
INSTANCE_TYPE = {
    "name": "small",
    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
    "nodeSelector": {"agentpool": "mlpool"},
    "tolerations": [{"key": "workload", "operator": "Equal", "value": "ml", "effect": "NoSchedule"}],
}


class PacedCaller(Caller):
    """Caller's keep-alive POST to an endpoint's path on the Gateway, paced to `rate` requests a second."""

    def __init__(self, port: int, key: str, body: bytes, rate: float, namespace: str = NAMESPACE) -> None:
        super().__init__(port, namespace, ENDPOINT, key=key, body=body)
        self.period, self.next_at = 1.0 / rate, time.monotonic()

    def call(self, pin: str | None = None, body: bytes | None = None) -> Answer:
        delay = self.next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self.next_at = max(self.next_at + self.period, time.monotonic() - self.period)
        return super().call(pin, body)


def seconds(duration: str) -> int:
    return int(duration.removesuffix("s"))


def rollout_spec(settings: Any, prometheus: Prometheus) -> dict[str, Any]:
    """spec.rollout equivalent to the Canary's analysis (module docstring)."""
    interval = seconds(settings.interval)
    return {
        "baseline": "blue",
        "steps": [{"traffic": w, "pauseSeconds": interval} for w in settings.step_weights if w < 100],
        "analysis": {
            "intervalSeconds": interval,
            "windowSeconds": seconds(settings.metric_interval),
            "failureLimit": settings.threshold - 1,
            "gates": [{"name": "error-ratio", "metric": "errorRatio", "max": settings.max_error_ratio}],
            "prometheus": {"address": prometheus.url},
        },
    }


def deployment(name: str, model: str, code: str, traffic: int, rollout: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "platformRef": {"name": PLATFORM},
        "endpoint": {"name": ENDPOINT},
        "model": {"name": "sklearn-diabetes", "version": model, "uri": f"configmap://sklearn-diabetes-model-v{model}"},
        "code": {"scoringScript": "score.py", "configMap": {"name": code}},
        "instanceType": "small",
        "instanceCount": 1,
        "traffic": traffic,
        "livenessProbe": {**FAST_PROBE, "initialDelay": 10},
        "readinessProbe": FAST_PROBE,
    }
    if rollout:
        spec["rollout"] = rollout
    return {
        "apiVersion": "mlops.dev/v1alpha1",
        "kind": MD,
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": spec,
    }


def start_operator(cluster: LocalCluster, image: str) -> ManagedProcess:
    env = child_env({
        "KUBECONFIG": str(cluster.kubeconfig_path), "MLOPS_SCORING_IMAGE": image,
        "MLOPS_PROGRESS_REQUEUE_SECONDS": "1", "PYTHONPATH": str(REPO / "operator"),
    })  # fmt: skip
    argv = [sys.executable, "-m", "mlops_operator.cli.main", "operator", "--liveness", ""]
    operator = ManagedProcess("mlops-operator", argv, cluster.logs_dir / "mlops-operator.log", env=env)
    operator.start(die_with_parent=True)
    cluster.adopt(operator)
    return operator


def _status(kube: Kube, name: str) -> dict[str, Any]:
    return dict((kube.get("mlops.dev/v1alpha1", MD, name, NAMESPACE) or {}).get("status") or {})


def _until(check: Any, timeout: float, what: str) -> Any:
    return wait_for(check, timeout, what)


def _ready(kube: Kube, name: str) -> bool:
    conditions = {c["type"]: c for c in _status(kube, name).get("conditions", [])}
    return bool(conditions.get("Ready", {}).get("status") == "True")


def prepare(cluster: LocalCluster, kube: Kube) -> str:
    """CRDs, the platform on the Gateway, the namespace with the model files and blue serving; the key."""
    cluster.install_crds(*sorted((REPO / "crds").glob("*.yaml")))
    platform = {"backend": "native", "defaultInstanceType": "small", "instanceTypes": [INSTANCE_TYPE],
                "native": {"gateway": {"name": GATEWAY, "namespace": GATEWAY_NAMESPACE}}}  # fmt: skip
    kube.apply({"apiVersion": "mlops.dev/v1alpha1", "kind": "MLOpsPlatform", "metadata": {"name": PLATFORM},
                "spec": platform}, "bench")  # fmt: skip
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    _until(lambda: kube.get("v1", "ServiceAccount", "default", NAMESPACE), 30, "the default ServiceAccount")
    for body in model_configmaps(REPO / "examples", NAMESPACE):
        kube.create(body)
    bad = {"name": "sklearn-diabetes-code-bad", "namespace": NAMESPACE}
    kube.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": bad, "data": {"score.py": BAD_SCORE.read_text()}})
    kube.create(deployment("blue", "1", "sklearn-diabetes-code", 100))
    _until(lambda: _ready(kube, "blue"), 240, "blue Ready")
    secret = kube.get("v1", "Secret", f"{ENDPOINT}-endpoint-keys", NAMESPACE) or {}
    return base64.b64decode(secret["data"]["primaryKey"]).decode()


def scenario(
    kube: Kube, settings: Any, prometheus: Prometheus, port: int, key: str, body: bytes, bad: bool
) -> dict[str, Any]:
    """Under bounded load: commit green (v2, or the bad score.py) with its rollout and blue at 0 %; until
    green's rollout is terminal. Counts the answers from the commit until then, and in the tail after."""
    code = "sklearn-diabetes-code-bad" if bad else "sklearn-diabetes-code"
    green = deployment("green", "2", code, 100, rollout_spec(settings, prometheus))
    phases: list[dict[str, Any]] = []
    factory = lambda: PacedCaller(port, key, body, settings.rate_per_thread)  # noqa: E731
    with Load(factory, settings.threads, settings.max_seconds, settings.max_requests_per_thread) as load:
        time.sleep(settings.warmup_seconds)
        t0 = time.monotonic()
        kube.create(green)
        kube.patch_merge("mlops.dev/v1alpha1", MD, "blue", NAMESPACE, {"spec": {"traffic": 0}})

        def terminal() -> str | None:
            rollout = _status(kube, "green").get("rollout") or {}
            seen = (rollout.get("phase"), rollout.get("traffic"), rollout.get("failedChecks"))
            if not phases or phases[-1]["state"] != seen:
                phases.append({"t": round(time.monotonic() - t0, 2), "state": seen})
            return rollout.get("phase") if rollout.get("phase") in TERMINAL else None

        phase = _until(terminal, settings.max_seconds - settings.warmup_seconds - 5, "green's rollout to end")
        done = time.monotonic() - t0
        time.sleep(TAIL_SECONDS)
    answers = load.merged().answers
    window = [a for at, a in answers if 0 <= at - t0 <= done]
    tail = [a for at, a in answers if at - t0 > done]
    codes = collections.Counter(a.status for a in window)
    return {
        "phase": phase,
        "seconds_to_terminal_phase": round(done, 2),
        "requests": len(window),
        "failed_requests": sum(n for c, n in codes.items() if not 200 <= c < 300),
        "status_codes": {str(c): n for c, n in sorted(codes.items())},
        "answers_by_deployment": dict(collections.Counter(f"{a.deployment}:{a.status}" for a in window)),
        "tail_requests": len(tail),
        "tail_failed_requests": sum(1 for a in tail if not 200 <= a.status < 300),
        "rollout_changes": [
            {"t": p["t"], "phase": p["state"][0], "traffic": p["state"][1], "failedChecks": p["state"][2]}
            for p in phases
        ],
        "history": (_status(kube, "green").get("rollout") or {}).get("history"),
    }


def reset(kube: Kube) -> None:
    """Green gone, blue back at 100 % and in force: the next scenario starts where the first did."""
    kube.delete("mlops.dev/v1alpha1", MD, "green", NAMESPACE)
    kube.patch_merge("mlops.dev/v1alpha1", MD, "blue", NAMESPACE, {"spec": {"traffic": 100}})
    _until(lambda: kube.get("mlops.dev/v1alpha1", MD, "green", NAMESPACE) is None, 120, "green deleted")
    _until(lambda: _status(kube, "blue").get("traffic") == {"blue": 100} and _ready(kube, "blue"), 60, "blue alone")


def run_ours(
    cluster: LocalCluster, kube: Kube, settings: Any, prometheus: Prometheus, port: int, body: bytes
) -> dict[str, Any]:
    assert cluster.images is not None
    operator = start_operator(cluster, cluster.images.scoring)
    try:
        key = prepare(cluster, kube)
        result: dict[str, Any] = {"rollout": rollout_spec(settings, prometheus)}
        result["healthy"] = scenario(kube, settings, prometheus, port, key, body, bad=False)
        reset(kube)
        result["bad"] = scenario(kube, settings, prometheus, port, key, body, bad=True)
        return result
    finally:
        operator.stop()

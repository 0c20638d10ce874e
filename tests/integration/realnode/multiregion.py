"""The multi-region rig: a hub control plane, two regional clusters (the session's real node and a second
one, node index 1), each with its own Gateway and operator, and a Traefik as the global router.

Every operator is a process of its own (kopf runs one operator per process), configured like the session's.
"""

from __future__ import annotations

import base64
import http.client
import json
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.global_router import GlobalRouter
from native_backend.helpers import PLATFORM, apply_platform

from mlops_operator.cli.dev_resources import model_configmaps
from mlops_operator.devcluster import LocalCluster
from mlops_operator.devcluster.gateway import Traefik, apply_gateway, apply_gateway_class, apply_manifest, find_traefik
from mlops_operator.devcluster.process import ManagedProcess, child_env
from mlops_operator.kube import Kube

REPO = Path(__file__).resolve().parents[3]
GATEWAY, GATEWAY_NAMESPACE = "mlops-gateway", "mlops-system"
NAMESPACE = "ml"
OPERATOR_ARGV = [
    sys.executable,
    "-m",
    "kopf",
    "run",
    "--all-namespaces",
    "--standalone",
    "-m",
    "mlops_operator.handlers",
]
# Answers with the region it runs in, so the caller sees where the global router sent each request.
REGION_SCORE = """import os


def init():
    if os.environ.get("FAIL_INIT"):
        raise RuntimeError("init failed on purpose (FAIL_INIT)")


def run(raw_data):
    return {"region": os.environ.get("REGION", "")}
"""
FAST_PROBE = {"initialDelay": 1, "period": 1, "timeout": 1, "successThreshold": 1, "failureThreshold": 2}


def operator_process(cluster: LocalCluster, name: str, logs: Path) -> ManagedProcess:
    env: dict[str, str] = {"KUBECONFIG": str(cluster.kubeconfig_path), "MLOPS_LIVENESS_PORT": "0"}
    env.update(MLOPS_PROGRESS_REQUEUE_SECONDS="1", PYTHONUNBUFFERED="1")
    if cluster.images is not None:
        env["MLOPS_SCORING_IMAGE"] = cluster.images.scoring
    process = ManagedProcess(f"operator-{name}", OPERATOR_ARGV, logs / f"operator-{name}.log", env=child_env(env))
    process.start(die_with_parent=True)
    return process


@dataclass
class RegionRig:
    name: str
    cluster: LocalCluster
    kube: Kube
    gateway: Traefik

    def restart_gateway(self) -> None:
        """A new Traefik on the same port: the regional scoring URI (and the global router's origin) stays."""
        self.gateway = Traefik(self.cluster, find_traefik(), web_port=self.gateway.web_port, middlewares=True)
        self.gateway.start()
        self.gateway.wait_gateway(self.cluster, GATEWAY, GATEWAY_NAMESPACE, timeout=30)


def start_region(name: str, cluster: LocalCluster, kube: Kube, stack: ExitStack, logs: Path) -> RegionRig:
    """The region's Gateway, platform (on that Gateway, with retries), namespace, code and model, operator."""
    gateway = Traefik(cluster, find_traefik(), middlewares=True).start()
    rig = RegionRig(name, cluster, kube, gateway)
    stack.callback(rig.gateway.stop)
    apply_manifest(cluster, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": GATEWAY_NAMESPACE}})
    apply_gateway_class(cluster)
    apply_gateway(cluster, gateway, GATEWAY, GATEWAY_NAMESPACE)
    gateway.wait_gateway(cluster, GATEWAY, GATEWAY_NAMESPACE, timeout=30)
    apply_platform(kube, native={"gateway": {"name": GATEWAY, "namespace": GATEWAY_NAMESPACE, "retry": {}}})
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    for body in model_configmaps(REPO / "examples", NAMESPACE)[1:2]:  # the model; the code is ours
        kube.create(body)
    code = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "region-code", "namespace": NAMESPACE}}
    kube.create({**code, "data": {"score.py": REGION_SCORE}})
    operator = operator_process(cluster, name, logs)
    stack.callback(operator.stop)
    return rig


def kubeconfig_secret(name: str, cluster: LocalCluster) -> dict[str, Any]:
    data = base64.b64encode(cluster.kubeconfig_path.read_bytes()).decode()
    meta = {"name": name, "namespace": NAMESPACE}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "data": {"kubeconfig": data}}


def global_endpoint(name: str, router: GlobalRouter, regions: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    template = {
        "model": {"name": "sklearn-diabetes", "version": "1", "uri": "configmap://sklearn-diabetes-model-v1"},
        "code": {"scoringScript": "score.py", "configMap": {"name": "region-code"}},
        "instanceType": "small",
        "instanceCount": 1,
        "traffic": 100,
        "livenessProbe": {**FAST_PROBE, "initialDelay": 10},
        "readinessProbe": FAST_PROBE,
    }
    return {
        "apiVersion": "mlops.dev/v1alpha1",
        "kind": "GlobalEndpoint",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "endpoint": {"name": name},
            "deployments": [{"name": f"{name}-blue", "spec": template}],
            "regions": regions,
            "healthProbe": {"intervalSeconds": 1, "timeoutSeconds": 1},
            "failover": {"failuresToRemove": 2, "successesToRestore": 3, "holdDownSeconds": 5},
            "router": {"traefik": {"configPath": str(router.directory / f"{name}.yaml"), "url": router.url}},
            **spec,
        },
    }


def region(name: str, secret: str, **fields: Any) -> dict[str, Any]:
    overrides = {"environmentVariables": {"REGION": name, **fields.pop("env", {})}}
    cluster = {"kubeconfigSecretRef": {"name": secret}}
    return {"name": name, "cluster": cluster, "platformRef": {"name": PLATFORM}, "overrides": overrides, **fields}


@dataclass
class GlobalLoad:
    """Bounded callers of the global URL; each answer kept as (monotonic time, status, region)."""

    port: int
    path: str
    key: str
    callers: int = 4
    max_seconds: float = 120.0
    max_requests: int = 60_000
    answers: list[tuple[float, int, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._deadline = time.monotonic() + self.max_seconds
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(self.callers)]

    def __enter__(self) -> GlobalLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        while not self._stop.is_set() and time.monotonic() < self._deadline and len(self.answers) < self.max_requests:
            status, where = call(connection, self.path, self.key)
            self.answers.append((time.monotonic(), status, where))
            if status == 0:
                connection.close()

    def regions_since(self, start: float) -> Counter[str]:
        return Counter(where for t, status, where in self.answers if t >= start and status == 200)


def call(connection: http.client.HTTPConnection, path: str, key: str) -> tuple[int, str]:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    try:
        connection.request("POST", path, b'{"data": [[0]]}', headers)
        response = connection.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException):
        return 0, ""
    if response.status != 200:
        return response.status, ""
    return 200, str(json.loads(body).get("region", ""))

"""Real requests through Traefik to real scoring pods, counted by the `azureml-model-deployment` header.

Bounded: every load loop stops after its seconds or its request count, whichever comes first.
"""

from __future__ import annotations

import base64
import functools
import http.client
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gateway.traffic import Caller, Load
from native_backend.helpers import wait_condition
from polling import wait_for

from mlops_operator.devcluster import LocalCluster
from mlops_operator.devcluster.gateway import (
    Traefik,
)
from mlops_operator.kube import Kube

from .test_model_deployments_run_real_pods import ROW, _deployment, _model_files

BODY = json.dumps({"data": [ROW]}).encode()
# Bounds, not targets: a score.py edit rolls real pods, which took over 20 s once in a full CI run (load ~5).
LOAD_SECONDS, LOAD_THREADS, LOAD_MAX = 60.0, 4, 60_000
pytestmark = [pytest.mark.traffic, pytest.mark.usefixtures("real_operator")]


def _blue_green(
    kube: Kube, namespace: str, traefik: Traefik, blue: int, green: int, **spec: Any
) -> Callable[[], Caller]:
    """Blue and green Ready behind one endpoint; returns a factory of keyed callers through the Gateway."""
    _model_files(kube, namespace)
    kube.create(_deployment(namespace, "blue", traffic=blue, **spec))
    kube.create(_deployment(namespace, "green", traffic=green, **spec))
    for name in ("blue", "green"):
        wait_condition(kube, namespace, name, "Ready", "True", timeout=240)
    secret = kube.get("v1", "Secret", "diabetes-endpoint-keys", namespace) or {}
    key = base64.b64decode(secret["data"]["primaryKey"]).decode()
    return lambda: Caller(traefik.web_port, namespace, "diabetes", key=key, body=BODY)


def _served(caller: Caller, requests: int, pin: str | None = None) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _ in range(requests):
        answer = caller.call(pin)
        assert answer.status == 200, answer
        counts[str(answer.deployment)] = counts.get(str(answer.deployment), 0) + 1
    return counts


def _route_serves(factory: Callable[[], Caller], expect: set[str]) -> bool:
    caller = factory()
    try:
        answers = [caller.call() for _ in range(20)]
    finally:
        caller.close()
    return all(a.status == 200 for a in answers) and {str(a.deployment) for a in answers} == expect


def test_a_90_10_split_lands_within_5_points_over_1000_requests(
    real_kube: Kube, real_namespace: str, traefik: Traefik
) -> None:
    factory = _blue_green(real_kube, real_namespace, traefik, 90, 10)
    wait_for(lambda: _route_serves(factory, {"blue", "green"}), 60, "the route to serve both deployments")

    caller = factory()
    counts = _served(caller, 1000)
    caller.close()

    assert abs(counts.get("blue", 0) / 10 - 90) <= 5, counts
    assert abs(counts.get("green", 0) / 10 - 10) <= 5, counts


def test_a_header_pin_reaches_the_named_deployment_even_at_zero_traffic(
    real_kube: Kube, real_namespace: str, traefik: Traefik
) -> None:
    factory = _blue_green(real_kube, real_namespace, traefik, 100, 0)
    wait_for(lambda: _route_serves(factory, {"blue"}), 60, "the route to serve blue")
    wait_for(lambda: _pin_serves(factory, "green"), 60, "Traefik to know green's pods")

    caller = factory()
    pinned = _served(caller, 200, pin="green")
    caller.close()

    assert pinned == {"green": 200}


def _pin_serves(factory: Callable[[], Caller], name: str) -> bool:
    """Ready pods reach Traefik through their EndpointSlice a moment after the ModelDeployment is Ready."""
    caller = factory()
    try:
        return caller.call(pin=name).status == 200
    finally:
        caller.close()


def _under_load(factory: Callable[[], Caller], change: Callable[[], None], settled: Callable[[], bool]) -> Load:
    """Run the bounded load, make the change, wait until `settled`, and keep the load on a few seconds more."""
    with Load(factory, LOAD_THREADS, LOAD_SECONDS, LOAD_MAX) as load:
        time.sleep(1.0)  # load is flowing before the change
        change()
        wait_for(settled, LOAD_SECONDS, "the change to settle under load")
        time.sleep(2.0)
    return load


def test_moving_all_traffic_from_blue_to_green_under_load_fails_no_request(
    real_kube: Kube, real_namespace: str, traefik: Traefik
) -> None:
    factory = _blue_green(real_kube, real_namespace, traefik, 100, 0)
    wait_for(lambda: _route_serves(factory, {"blue"}), 60, "the route to serve blue")

    def shift() -> None:
        _set_traffic(real_kube, real_namespace, green=100, blue=0)

    load = _under_load(factory, shift, lambda: _route_serves(factory, {"green"}))

    merged = load.merged()
    assert not merged.non_2xx(), merged.non_2xx()[:5]
    assert merged.served_by()["green"] > 0


def test_a_rolling_update_and_a_scale_down_fail_no_request(
    real_kube: Kube, real_namespace: str, traefik: Traefik
) -> None:
    factory = _blue_green(real_kube, real_namespace, traefik, 100, 0, instanceCount=2)
    wait_for(lambda: _route_serves(factory, {"blue"}), 60, "the route to serve blue")
    before = _replica_sets(real_kube, real_namespace)

    def roll() -> None:
        _patch(real_kube, real_namespace, "blue", {"environmentVariables": {"MODEL_REVISION": "2"}})

    load = _under_load(factory, roll, lambda: _rolled_out(real_kube, real_namespace, before))
    assert not load.merged().non_2xx(), load.merged().non_2xx()[:5]

    def scale_down() -> None:
        _patch(real_kube, real_namespace, "blue", {"instanceCount": 1})

    load = _under_load(factory, scale_down, lambda: len(_ready_pods(real_kube, real_namespace, "blue")) == 1)
    assert not load.merged().non_2xx(), load.merged().non_2xx()[:5]


def _patch(kube: Kube, namespace: str, name: str, spec: dict[str, Any]) -> None:
    kube.patch_merge("mlops.dev/v1alpha1", "ModelDeployment", name, namespace, {"spec": spec})


def _set_traffic(kube: Kube, namespace: str, **traffic: int) -> None:
    for name, percent in traffic.items():
        _patch(kube, namespace, name, {"traffic": percent})


def _replica_sets(kube: Kube, namespace: str) -> set[str]:
    return {rs["metadata"]["name"] for rs in kube.list("apps/v1", "ReplicaSet", namespace)}


def _ready_pods(kube: Kube, namespace: str, name: str) -> list[dict[str, Any]]:
    pods = kube.list("v1", "Pod", namespace, f"mlops.dev/deployment={name}")
    return [
        p
        for p in pods
        if not p["metadata"].get("deletionTimestamp")
        and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
    ]


def _rolled_out(kube: Kube, namespace: str, before: set[str]) -> bool:
    deployment = kube.get("apps/v1", "Deployment", "blue", namespace) or {}
    status = deployment.get("status", {})
    new_set = _replica_sets(kube, namespace) - before
    return bool(new_set) and status.get("updatedReplicas") == status.get("replicas") == status.get("readyReplicas")


def test_the_scoring_uri_in_status_is_the_gateway_url_clients_call(
    real_kube: Kube, real_namespace: str, traefik: Traefik
) -> None:
    factory = _blue_green(real_kube, real_namespace, traefik, 100, 0)
    wait_for(lambda: _route_serves(factory, {"blue"}), 60, "the route to serve blue")
    status = (real_kube.get("mlops.dev/v1alpha1", "ModelDeployment", "blue", real_namespace) or {})["status"]
    key = factory().headers["Authorization"]

    headers = {"Authorization": key, "Content-Type": "application/json"}
    request = urllib.request.Request(status["scoringUri"], data=BODY, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        assert response.headers["azureml-model-deployment"] == "blue"
    assert status["scoringUri"].startswith(traefik.url + "/")
    assert status["inClusterScoringUri"] == f"http://diabetes-endpoint.{real_namespace}.svc.cluster.local/score"


def test_mirroring_on_traefik_is_reported_unsupported_and_the_split_keeps_serving(
    real_kube: Kube, real_namespace: str, traefik: Traefik
) -> None:
    factory = _blue_green(real_kube, real_namespace, traefik, 100, 0)
    _patch(real_kube, real_namespace, "green", {"mirrorTraffic": 20})

    verdict = wait_condition(real_kube, real_namespace, "blue", "TrafficApplied", "False", "MirroringUnsupported")

    assert "green=20" in verdict["message"]
    wait_for(lambda: _route_serves(factory, {"blue"}), 60, "the split to keep serving blue")
    route = real_kube.get("gateway.networking.k8s.io/v1", "HTTPRoute", "diabetes-endpoint", real_namespace) or {}
    assert "RequestMirror" not in json.dumps(route["spec"])


def test_deleting_a_deployment_that_still_has_traffic_drains_it_without_failed_requests(
    real_kube: Kube, real_namespace: str, traefik: Traefik
) -> None:
    factory = _blue_green(real_kube, real_namespace, traefik, 50, 50)
    wait_for(lambda: _route_serves(factory, {"blue", "green"}), 60, "the route to serve both")

    def delete_green() -> None:
        real_kube.delete("mlops.dev/v1alpha1", "ModelDeployment", "green", real_namespace)

    load = _under_load(factory, delete_green, lambda: not _ready_pods(real_kube, real_namespace, "green"))

    merged = load.merged()
    assert not merged.non_2xx(), merged.non_2xx()[:5]
    assert merged.served_by()["blue"] > 0


VERSIONED_SCORE = """
import json
import os

import joblib

model = None


def init():
    global model
    model = joblib.load(os.path.join(os.getenv("AZUREML_MODEL_DIR"), "model.pkl"))


def run(raw_data):
    return {"code": "VERSION", "prediction": model.predict(json.loads(raw_data)["data"]).tolist()}
"""


def _code_versions(factory: Callable[[], Caller], requests: int = 20) -> set[str]:
    caller = factory()
    try:
        versions = set()
        for _ in range(requests):
            caller.conn.request("POST", caller.path, BODY, caller.headers)
            response = caller.conn.getresponse()
            body = response.read()
            answer = json.loads(body) if response.status == 200 else {}
            versions.add(str(answer.get("code", "?")) if isinstance(answer, dict) else "?")
        return versions
    except (OSError, ValueError, http.client.HTTPException):
        return {"error"}
    finally:
        caller.close()


def test_editing_score_py_rolls_the_pods_and_fails_no_request(
    real_kube: Kube, real_namespace: str, traefik: Traefik
) -> None:
    real_kube.create({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "versioned-code", "namespace": real_namespace},
        "data": {"score.py": VERSIONED_SCORE.replace("VERSION", "v1")},
    })  # fmt: skip
    factory = _blue_green(real_kube, real_namespace, traefik, 100, 0, code="versioned-code")
    wait_for(lambda: _code_versions(factory) == {"v1"}, 60, "v1 of score.py to answer")

    def edit() -> None:
        real_kube.patch_merge("v1", "ConfigMap", "versioned-code", real_namespace,
                              {"data": {"score.py": VERSIONED_SCORE.replace("VERSION", "v2")}})  # fmt: skip

    load = _under_load(factory, edit, lambda: _code_versions(factory) == {"v2"})

    assert not load.merged().non_2xx(), load.merged().non_2xx()[:5]
    status = (real_kube.get("mlops.dev/v1alpha1", "ModelDeployment", "blue", real_namespace) or {})["status"]
    assert status.get("revision"), status


def _mlopsctl(cluster: LocalCluster, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "mlops_operator.cli.main", *args, "--kubeconfig", str(cluster.kubeconfig_path)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def test_mlopsctl_smoke_gets_a_real_prediction_through_the_gateway(
    real_cluster: LocalCluster, real_kube: Kube, real_namespace: str, traefik: Traefik, tmp_path: Path
) -> None:
    factory = _blue_green(real_kube, real_namespace, traefik, 100, 0)
    wait_for(lambda: _route_serves(factory, {"blue"}), 60, "the route to serve blue")
    wait_for(lambda: _pin_serves(factory, "green"), 60, "Traefik to know green's pods")
    data = tmp_path / "request.json"
    data.write_bytes(BODY)

    smoke = _mlopsctl(real_cluster, "smoke", "mdep/blue", "-n", real_namespace, "--data", str(data),
                      "--requests", "20", "-o", "json")  # fmt: skip
    pinned = _mlopsctl(real_cluster, "smoke", "mdep/blue", "-n", real_namespace, "--data", str(data),
                       "--deployment", "green", "--requests", "5")  # fmt: skip

    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    assert "204.5" in smoke.stdout, smoke.stdout  # the diabetes model's prediction for ROW
    assert pinned.returncode == 0, pinned.stdout + pinned.stderr


def test_mlopsctl_promote_moves_the_requests_in_steps(
    real_cluster: LocalCluster, real_kube: Kube, real_namespace: str, traefik: Traefik
) -> None:
    factory = _blue_green(real_kube, real_namespace, traefik, 100, 0)
    wait_for(lambda: _route_serves(factory, {"blue"}), 60, "the route to serve blue")
    shares = []

    with Load(factory, 2, 120.0, LOAD_MAX) as load:
        for step in ("50", "100"):
            promoted = _mlopsctl(real_cluster, "promote", "diabetes", "--to", "green", "--steps", step,
                                 "--interval", "0", "-n", real_namespace)  # fmt: skip
            assert promoted.returncode == 0, promoted.stdout + promoted.stderr
            wait_for(functools.partial(_green_near, factory, int(step)), 30, f"green at {step}%")
            shares.append(_green_share(factory, requests=200))

    assert shares[0] == pytest.approx(50, abs=10)
    assert shares[1] == 100
    assert not load.merged().non_2xx(), load.merged().non_2xx()[:5]


def _green_near(factory: Callable[[], Caller], percent: int) -> bool:
    return abs(_green_share(factory) - percent) <= 10


def _green_share(factory: Callable[[], Caller], requests: int = 40) -> int:
    """Percentage of `requests` answered by green (Traefik's weighted round robin is deterministic)."""
    caller = factory()
    try:
        answers = [caller.call() for _ in range(requests)]
    finally:
        caller.close()
    return round(100 * sum(a.deployment == "green" for a in answers) / requests)

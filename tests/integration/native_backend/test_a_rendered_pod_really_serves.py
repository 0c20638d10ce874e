"""The contract between the renderer and the scoring server, end to end.

kwok only pretends to run pods, so this test plays kubelet for one: it reads the pod template the operator
applied, materialises its ConfigMap and Secret volumes under a temporary root, starts the container's
command with the container's environment on a loopback port, and then scores through it with the
endpoint key the operator generated.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlops_operator.cli.dev_resources import model_configmaps
from mlops_operator.kube import Kube

from .helpers import model_deployment, wait_condition

REPO = Path(__file__).resolve().parents[3]
ROW = [0.03, 0.05, 0.06, 0.02, -0.04, -0.03, -0.04, 0.0, 0.02, -0.02]
pytestmark = pytest.mark.usefixtures("operator")


def _materialise(kube: Kube, namespace: str, volume: dict[str, Any], target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    if "configMap" in volume:
        cm = kube.get("v1", "ConfigMap", volume["configMap"]["name"], namespace)
        for key, text in cm.get("data", {}).items():
            (target / key).write_text(text)
        for key, blob in cm.get("binaryData", {}).items():
            (target / key).write_bytes(base64.b64decode(blob))
    elif "secret" in volume:
        secret = kube.get("v1", "Secret", volume["secret"]["secretName"], namespace)
        for key, blob in secret.get("data", {}).items():
            (target / key).write_bytes(base64.b64decode(blob))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def pod(kube: Kube, namespace: str, tmp_path: Path) -> Iterator[tuple[int, str]]:
    for configmap in model_configmaps(REPO / "examples", namespace):
        kube.create(configmap)
    body = model_deployment(namespace, "blue", traffic=100)
    body["spec"]["model"] = {"name": "sklearn-diabetes", "version": "1", "uri": "configmap://sklearn-diabetes-model-v1"}
    body["spec"]["code"]["configMap"] = {"name": "sklearn-diabetes-code"}
    kube.create(body)
    wait_condition(kube, namespace, "blue", "Ready", "True")
    spec = kube.get("apps/v1", "Deployment", "blue", namespace)["spec"]["template"]["spec"]
    [container] = spec["containers"]
    root = tmp_path / "pod"
    volumes = {v["name"]: v for v in spec["volumes"]}
    for mount in container["volumeMounts"]:
        _materialise(kube, namespace, volumes[mount["name"]], root / mount["mountPath"].lstrip("/"))
    env = {e["name"]: e["value"] for e in container["env"]}
    for name in ("AZUREML_MODEL_DIR", "AML_APP_ROOT", "AZUREML_SOURCE_DIRECTORY", "MLOPS_KEYS_DIR"):
        env[name] = str(root / env[name].lstrip("/"))
    port = _free_port()
    command = [sys.executable if c == "python" else c for c in container["command"]]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--host", "127.0.0.1", "--workers", "1"],
        env={**env, "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    key = base64.b64decode(kube.get("v1", "Secret", "scoring-endpoint-keys", namespace)["data"]["primaryKey"])
    try:
        _wait_ready(port, container["readinessProbe"]["httpGet"]["path"], server)
        yield port, key.decode()
    finally:
        server.terminate()
        server.wait(timeout=20)


def _wait_ready(port: int, path: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"scoring server exited: {server.stdout.read().decode() if server.stdout else ''}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the scoring server never became ready")


def _score(port: int, key: str | None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/score", data=json.dumps({"data": [ROW]}).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_the_rendered_pod_scores_with_the_endpoint_key_and_refuses_without_it(pod: tuple[int, str]) -> None:
    port, key = pod
    status, prediction = _score(port, key)
    assert status == 200
    assert isinstance(prediction, list)
    assert len(prediction) == 1
    assert 0 < prediction[0] < 400
    assert _score(port, None)[0] == 401
    assert _score(port, "wrong")[0] == 401

"""On the real node: our scoring image (built from the Dockerfile) runs the model, and status tells the truth.

Every request here goes to a pod address on the node's bridge, inside a network namespace this cluster
created: the project's own test host.
"""

from __future__ import annotations

import base64
import io
import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import joblib
import pytest
from native_backend.helpers import condition, model_deployment, wait_condition
from polling import wait_for

from mlops_operator import naming
from mlops_operator.cli.dev_resources import model_configmaps
from mlops_operator.devcluster import LocalCluster
from mlops_operator.devcluster.nodeconfig import NODE_NAME
from mlops_operator.devcluster.nodenet import NODE_SUBNET
from mlops_operator.kube import Kube

REPO = Path(__file__).resolve().parents[3]
ROW = [0.03, 0.05, 0.06, 0.02, -0.04, -0.03, -0.04, 0.0, 0.02, -0.02]
FAST_PROBE = {"initialDelay": 1, "period": 1, "timeout": 2, "successThreshold": 1, "failureThreshold": 30}
BROKEN_SCORE = """
import sys

def init():
    print("loading the model from a path that does not exist", file=sys.stderr)
    raise FileNotFoundError("/models/missing.pkl")

def run(data):
    return data
"""
pytestmark = pytest.mark.usefixtures("real_operator")


def _deployment(namespace: str, name: str, code: str = "sklearn-diabetes-code", **spec: Any) -> dict[str, Any]:
    """The example's sklearn model and score.py (ConfigMaps from `_model_files`), fast probes."""
    return model_deployment(
        namespace,
        name,
        endpoint="diabetes",
        model={"name": "sklearn-diabetes", "version": "1", "uri": "configmap://sklearn-diabetes-model-v1"},
        code={"scoringScript": "score.py", "configMap": {"name": code}},
        instanceType="small",
        **{"instanceCount": 1, "traffic": 100, "livenessProbe": {**FAST_PROBE, "initialDelay": 10},
           "readinessProbe": FAST_PROBE, **spec},
    )  # fmt: skip


def _model_files(kube: Kube, namespace: str) -> bytes:
    """Create the example's code and model ConfigMaps; returns the pickled model."""
    maps = model_configmaps(REPO / "examples", namespace)
    for body in maps:
        kube.create(body)
    return base64.b64decode(maps[1]["binaryData"]["model.pkl"])


def _serving_blue(kube: Kube, namespace: str) -> tuple[dict[str, Any], bytes]:
    """ModelDeployment `blue` Ready on the real node: its one pod, and the pickled model it serves."""
    model = _model_files(kube, namespace)
    kube.create(_deployment(namespace, "blue"))
    wait_condition(kube, namespace, "blue", "Ready", "True", timeout=240)
    [pod] = _pods(kube, namespace, "blue")
    return pod, model


def _pods(kube: Kube, namespace: str, deployment: str) -> list[dict[str, Any]]:
    return kube.list("v1", "Pod", namespace, f"{naming.LABEL_DEPLOYMENT}={deployment}")


def _ready_since(conditions: list[dict[str, Any]]) -> str | None:
    ready = next((c for c in conditions if c["type"] == "Ready" and c["status"] == "True"), None)
    return None if ready is None else str(ready["lastTransitionTime"])


def _score(pod_ip: str, key: str, body: dict[str, Any]) -> tuple[int, Any]:
    assert pod_ip.startswith(NODE_SUBNET.rsplit(".", 1)[0] + "."), f"{pod_ip} is not on the node's bridge"
    request = urllib.request.Request(
        f"http://{pod_ip}:5001/score",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_a_model_deployment_is_ready_only_once_its_real_pod_passes_its_probe(
    real_kube: Kube, real_namespace: str
) -> None:
    _model_files(real_kube, real_namespace)
    real_kube.create(_deployment(real_namespace, "blue"))

    wait_condition(real_kube, real_namespace, "blue", "Ready", "True", timeout=240)
    ready = condition(real_kube, real_namespace, "blue", "Ready")
    pods = _pods(real_kube, real_namespace, "blue")
    assert len(pods) == 1
    pod = pods[0]
    assert pod["spec"]["nodeName"] == NODE_NAME
    [container] = pod["status"]["containerStatuses"]
    assert container["ready"] is True
    assert "running" in container["state"]
    assert container["imageID"], "the kubelet pulled a real image"
    pod_ready_at = _ready_since(pod["status"]["conditions"])
    assert pod_ready_at is not None
    assert ready is not None
    assert pod_ready_at <= ready["lastTransitionTime"], "Ready was claimed before the pod passed its probe"


def test_a_request_with_the_endpoint_key_gets_the_model_prediction(real_kube: Kube, real_namespace: str) -> None:
    pod, pickled = _serving_blue(real_kube, real_namespace)
    model = joblib.load(io.BytesIO(pickled))
    secret = real_kube.get("v1", "Secret", "diabetes-endpoint-keys", real_namespace)
    assert secret is not None
    key = base64.b64decode(secret["data"]["primaryKey"]).decode()

    status, prediction = _score(pod["status"]["podIP"], key, {"data": [ROW]})

    assert status == 200
    assert prediction == pytest.approx(model.predict([ROW]).tolist())


def test_kubectl_logs_reads_the_scoring_container(
    real_cluster: LocalCluster, real_kube: Kube, real_namespace: str
) -> None:
    pod, _ = _serving_blue(real_kube, real_namespace)

    logs = real_cluster.kubectl("logs", "-n", real_namespace, pod["metadata"]["name"], "-c", "scoring").stdout

    assert "Started server process" in logs, logs[-2000:]


def test_a_score_py_whose_init_raises_is_crash_looping_with_its_last_log_lines(
    real_kube: Kube, real_namespace: str
) -> None:
    _model_files(real_kube, real_namespace)
    real_kube.create({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "broken-code", "namespace": real_namespace},
        "data": {"score.py": BROKEN_SCORE},
    })  # fmt: skip
    real_kube.create(_deployment(real_namespace, "broken", code="broken-code"))

    ready = wait_condition(real_kube, real_namespace, "broken", "Ready", "False", "CrashLoopBackOff", timeout=240)

    body = real_kube.get("mlops.dev/v1alpha1", "ModelDeployment", "broken", real_namespace) or {}
    failure = json.dumps(body.get("status", {}).get("lastFailure", {})) + ready["message"]
    assert "/models/missing.pkl" in failure, failure


def test_deleting_the_model_deployment_removes_its_pods_and_their_containers(
    real_cluster: LocalCluster, real_kube: Kube, real_namespace: str
) -> None:
    pod, _ = _serving_blue(real_kube, real_namespace)
    uid = pod["metadata"]["uid"]
    assert _containers_of(real_cluster, uid), "the pod's containers run in containerd"

    real_kube.delete("mlops.dev/v1alpha1", "ModelDeployment", "blue", real_namespace)

    wait_for(lambda: not _pods(real_kube, real_namespace, "blue"), 90, "the pods to be deleted")
    wait_for(lambda: not _containers_of(real_cluster, uid), 90, "containerd to remove the pod's containers")


def _containers_of(cluster: LocalCluster, pod_uid: str) -> list[str]:
    """Running containerd tasks (containers) labelled with the pod's uid, asked of containerd itself."""
    node = cluster.real_node
    assert node is not None
    ctr = node.binaries.dataplane_bin / "ctr"
    argv = [str(ctr), "--address", str(node.layout.containerd_socket), "-n", "k8s.io", "containers", "list"]
    argv += ["--quiet", f"labels.io.kubernetes.pod.uid=={pod_uid}"]
    result = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30)
    return result.stdout.split()


def test_no_packet_tried_to_leave_the_machine(real_cluster: LocalCluster) -> None:
    """The guard drops and counts cluster addresses bound off this machine (kwok's fake pod IPs, ClusterIPs
    nobody rewrote, pod traffic off the bridge); after the tests above it has counted nothing."""
    assert real_cluster.guard_packets() == 0

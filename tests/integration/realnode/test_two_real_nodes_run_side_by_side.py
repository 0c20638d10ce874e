"""Two clusters, each with its own real node, on one machine: what multi-region serving tests stand on.

The session's cluster runs node 0; this module starts a second cluster with node index 1 (its own control
plane, bridge, pod and service ranges, guard, cgroups and lock file), runs a pod from our scoring image on
each node, serves node 1's through cluster 1's own Traefik Gateway, and stops cluster 1 again. Requests go
only to pod addresses inside the two bridges' subnets, or to the Gateway on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from polling import wait_for

from mlops_operator.devcluster import ClusterConfig, LocalCluster, nodenet
from mlops_operator.devcluster.gateway import Traefik, apply_gateway, apply_gateway_class, apply_manifest, find_traefik
from mlops_operator.devcluster.nodes import MLPOOL_TAINT
from mlops_operator.devcluster.nodeslot import NodeSlot

logger = logging.getLogger(__name__)

NODE_1 = NodeSlot(1)
HTTP_PORT = 8080
STARTUP_TIMEOUT_S = 180.0
POD_READY_TIMEOUT_S = 120
CGROUP_ROOT = Path("/sys/fs/cgroup")
# Only the standard library: the image's entrypoint (the scoring server) would need a model and score.py.
SERVE_HTTP = ["python", "-m", "http.server", str(HTTP_PORT), "--bind", "0.0.0.0"]
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
POD_LABELS = {"app": "side-by-side"}
GATEWAY, GATEWAY_NAMESPACE = "region-gateway", "default"

pytestmark = pytest.mark.timeout(900)


@dataclass
class SecondCluster:
    cluster: LocalCluster
    started_in_s: float
    work_dir: Path


@pytest.fixture(scope="module")
def second(real_cluster: LocalCluster) -> Iterator[SecondCluster]:
    """Cluster 1 with real node 1, beside the session's node 0, reusing the images node 0 built."""
    config = ClusterConfig(
        assets=real_cluster.assets,
        real_node=True,
        node_index=NODE_1.index,
        images=real_cluster.images,
        startup_timeout=STARTUP_TIMEOUT_S,
        controller_service_accounts=False,
    )
    cluster = LocalCluster(config)
    started = time.monotonic()
    cluster.start(controllers=True, scheduler=True, with_nodes=False)
    elapsed = time.monotonic() - started
    logger.warning("cluster 1 with real node 1 started in %.1f s", elapsed)
    try:
        yield SecondCluster(cluster, elapsed, cluster.work_dir)
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def pod_names() -> dict[int, str]:
    return {0: f"side-by-side-{uuid.uuid4().hex[:6]}", 1: f"side-by-side-{uuid.uuid4().hex[:6]}"}


@pytest.fixture(scope="module")
def pods_on_both(real_cluster: LocalCluster, second: SecondCluster, pod_names: dict[int, str]) -> Iterator[None]:
    """One HTTP pod on each node, created together so both start at once; node 0's is deleted afterwards."""
    assert real_cluster.images is not None
    clusters = {0: real_cluster, 1: second.cluster}
    for index, cluster in clusters.items():
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(_http_pod(pod_names[index], real_cluster.images.scoring)))
    for index, cluster in clusters.items():
        cluster.kubectl("wait", "--for=condition=Ready", f"pod/{pod_names[index]}", f"--timeout={POD_READY_TIMEOUT_S}s",
                        timeout=POD_READY_TIMEOUT_S + 10)  # fmt: skip
    yield
    real_cluster.kubectl("delete", "pod", pod_names[0], "--wait=false", check=False)


def _http_pod(name: str, image: str) -> dict[str, Any]:
    """A pod for the ML pool's real node: its taint tolerated, a readiness probe on the served port."""
    toleration = {**MLPOOL_TAINT, "operator": "Equal"}
    container = {
        "name": "http",
        "image": image,
        "command": SERVE_HTTP,
        "ports": [{"containerPort": HTTP_PORT}],
        "readinessProbe": {"httpGet": {"path": "/", "port": HTTP_PORT}, "periodSeconds": 1},
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": POD_LABELS},
        "spec": {
            "nodeSelector": {"dataplane": "real"},
            "tolerations": [toleration],
            "terminationGracePeriodSeconds": 1,
            "containers": [container],
        },
    }


def _service_and_route(name: str) -> list[dict[str, Any]]:
    """A Service over the pod (its EndpointSlice holds the pod IP) and an HTTPRoute on the region's Gateway."""
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"selector": POD_LABELS, "ports": [{"name": "http", "port": 80, "targetPort": HTTP_PORT}]},
    }
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "parentRefs": [{"name": GATEWAY, "namespace": GATEWAY_NAMESPACE}],
            "rules": [{"backendRefs": [{"name": name, "port": 80}]}],
        },
    }
    return [service, route]


def _status_through(url: str) -> int | None:
    try:
        with NO_PROXY.open(url, timeout=5) as response:
            return int(response.status)
    except OSError:  # Traefik answers 404 until it has read the route
        return None


def _pod(cluster: LocalCluster, name: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(cluster.kubectl("get", "pod", name, "-o", "json").stdout)
    return found


def _answers(pod_ip: str, slot: NodeSlot) -> int:
    """HTTP status of GET / on the pod, asked from this host; only addresses inside the node's bridge."""
    assert ipaddress.ip_address(pod_ip) in ipaddress.ip_network(slot.subnet), f"{pod_ip} is not on {slot.bridge}"
    with NO_PROXY.open(f"http://{pod_ip}:{HTTP_PORT}/", timeout=10) as response:
        return int(response.status)


def _cgroup_dirs(name: str) -> list[Path]:
    return [hierarchy / name for hierarchy in CGROUP_ROOT.iterdir() if (hierarchy / name).is_dir()]


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if proc.name.isdigit() and text in cmdline:
            found.append(f"{proc.name}: {cmdline[:200]}")
    return found


def test_node_1_starts_beside_node_0_with_its_own_bridge_guard_and_node(
    real_cluster: LocalCluster, second: SecondCluster
) -> None:
    cluster = second.cluster

    assert cluster.node_names == [NODE_1.node_name]
    assert cluster.node_slot == NODE_1
    assert nodenet.bridge_exists(NODE_1)
    assert nodenet.bridge_exists(real_cluster.node_slot), "node 1 did not replace node 0's bridge"
    assert cluster.guard_packets() == 0
    assert real_cluster.guard_packets() == 0
    assert NODE_1.lock_file.is_file()
    assert "kube-proxy" not in cluster.pids, "kube-proxy's nftables tables are node 0's alone"
    assert second.started_in_s < STARTUP_TIMEOUT_S


@pytest.mark.usefixtures("pods_on_both")
def test_a_pod_on_each_node_runs_and_answers_on_its_own_bridge(
    real_cluster: LocalCluster, second: SecondCluster, pod_names: dict[int, str]
) -> None:
    for index, cluster in ((0, real_cluster), (1, second.cluster)):
        pod = _pod(cluster, pod_names[index])

        assert pod["status"]["phase"] == "Running"
        assert pod["spec"]["nodeName"] == cluster.node_slot.node_name
        assert _answers(pod["status"]["podIP"], cluster.node_slot) == 200
    node_1_pods = [d for d in _cgroup_dirs(NODE_1.pod_cgroup) if any(d.rglob("cgroup.procs"))]
    assert node_1_pods, f"node 1's pods are not under its own cgroup root {NODE_1.cgroup_root}"


@pytest.mark.usefixtures("pods_on_both")
def test_cluster_1s_own_gateway_reaches_its_pod_without_kube_proxy(second: SecondCluster) -> None:
    """Traefik on the host dials the pod IP from the EndpointSlice: no ClusterIP, so node 1 needs no kube-proxy."""
    cluster = second.cluster
    cluster.install_gateway_api_crds()
    with Traefik(cluster, find_traefik()).start() as traefik:
        apply_gateway_class(cluster)
        apply_gateway(cluster, traefik, GATEWAY, GATEWAY_NAMESPACE)
        traefik.wait_gateway(cluster, GATEWAY, GATEWAY_NAMESPACE, timeout=30)
        for manifest in _service_and_route("region-http"):
            apply_manifest(cluster, manifest)

        status = wait_for(lambda: _status_through(f"{traefik.url}/"), 30, "the Gateway to route to node 1's pod")

    assert status == 200
    assert cluster.guard_packets() == 0


@pytest.mark.usefixtures("pods_on_both")
def test_stopping_cluster_1_leaves_node_0_serving_and_nothing_of_node_1(
    real_cluster: LocalCluster, second: SecondCluster, pod_names: dict[int, str]
) -> None:
    node_0_pod = _pod(real_cluster, pod_names[0])

    second.cluster.stop()

    assert second.cluster.dropped_packets == 0
    assert _answers(node_0_pod["status"]["podIP"], real_cluster.node_slot) == 200
    assert real_cluster.guard_packets() == 0
    assert nodenet.bridge_exists(real_cluster.node_slot)
    kube_proxy_table = subprocess.run(["nft", "list", "table", "ip", "kube-proxy"], capture_output=True, check=False)
    assert kube_proxy_table.returncode == 0, "stopping node 1 removed node 0's kube-proxy rules"
    assert not nodenet.bridge_exists(NODE_1)
    assert nodenet.guard_packets(NODE_1) is None
    assert _cgroup_dirs(NODE_1.pod_cgroup) == []
    assert not NODE_1.lock_file.exists()
    assert _processes_mentioning(str(second.work_dir)) == []
    assert not second.work_dir.exists()

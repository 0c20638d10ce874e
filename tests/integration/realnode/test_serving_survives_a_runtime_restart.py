"""Serving under faults (issue 17): the node's runtime restarted under load through the real Gateway.

containerd is stopped and started again, then the kubelet, as a service manager restarts them (SIGTERM, a
second down, the same command line). Running containers belong to their runc shims, not to containerd, and
the kubelet finds them again when it comes back: the pods keep their UIDs, no container restarts, the
operator changes nothing (the Deployment's generation holds), and the node and the ModelDeployment end Ready.
Every answer is counted; the test fails on any failure outside the restart windows and prints the count.
"""

from __future__ import annotations

import calendar
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from native_backend.helpers import wait_condition
from polling import wait_for

from mlops_operator.devcluster import LocalCluster
from mlops_operator.devcluster.gateway import Traefik
from mlops_operator.devcluster.nodeconfig import NODE_NAME
from mlops_operator.devcluster.process import probe_http
from mlops_operator.kube import Kube

from .load import BoundedLoad
from .test_serving_survives_a_killed_pod import _ready_pods, serve_two_replicas

pytestmark = [pytest.mark.faults, pytest.mark.traffic]
CALLERS, LOAD_MAX_S, LOAD_MAX_REQUESTS = 4, 120.0, 60_000
BEFORE_S, BETWEEN_S, AFTER_S, DOWN_S = 3.0, 5.0, 10.0, 1.0
BACK_WITHIN_S = 60.0


def _socket_answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def _node_heartbeat_after(kube: Kube, since: float) -> bool:
    """The node is Ready on a heartbeat the restarted kubelet posted (wall clock, seconds)."""
    node = kube.get("v1", "Node", NODE_NAME) or {}
    ready = next((c for c in node.get("status", {}).get("conditions", []) if c["type"] == "Ready"), {})
    beat = ready.get("lastHeartbeatTime", "1970-01-01T00:00:00Z")
    return ready.get("status") == "True" and calendar.timegm(time.strptime(beat, "%Y-%m-%dT%H:%M:%SZ")) >= int(since)


def _restart_runtime(cluster: LocalCluster, kube: Kube) -> list[tuple[str, float, float]]:
    """containerd, then the kubelet; returns (component, stopped at, back at) in monotonic time."""
    assert cluster.real_node is not None
    layout = cluster.real_node.layout
    healthz = int(yaml.safe_load(layout.kubelet_config.read_text())["healthzPort"])
    windows = []
    stopped = time.monotonic()
    cluster.restart_component("containerd", DOWN_S)
    wait_for(lambda: _socket_answers(layout.containerd_socket), BACK_WITHIN_S, "containerd's socket")
    windows.append(("containerd", stopped, time.monotonic()))
    time.sleep(BETWEEN_S)
    stopped, wall = time.monotonic(), time.time()
    cluster.restart_component("kubelet", DOWN_S)
    wait_for(lambda: probe_http(healthz, "/healthz"), BACK_WITHIN_S, "the kubelet's /healthz")
    wait_for(lambda: _node_heartbeat_after(kube, wall), BACK_WITHIN_S, "a Ready heartbeat from the new kubelet")
    windows.append(("kubelet", stopped, time.monotonic()))
    return windows


def _pod_state(kube: Kube, namespace: str) -> dict[str, int]:
    """Pod UID -> restarts of its scoring container."""
    return {
        p["metadata"]["uid"]: sum(c.get("restartCount", 0) for c in p["status"].get("containerStatuses", []))
        for p in _ready_pods(kube, namespace)
    }


def test_the_endpoint_keeps_serving_while_containerd_and_the_kubelet_restart(
    real_cluster: LocalCluster, real_kube: Kube, real_namespace: str, traefik: Traefik, operator: Callable[[], Any]
) -> None:
    with operator():
        factory = serve_two_replicas(real_kube, real_namespace, traefik)
        pods_before = _pod_state(real_kube, real_namespace)
        generation = real_kube.get("apps/v1", "Deployment", "blue", real_namespace)["metadata"]["generation"]
        with BoundedLoad(factory, CALLERS, LOAD_MAX_S, LOAD_MAX_REQUESTS) as load:
            time.sleep(BEFORE_S)
            windows = _restart_runtime(real_cluster, real_kube)
            time.sleep(AFTER_S)
        wait_for(lambda: _pod_state(real_kube, real_namespace) == pods_before or None, 60, "the same pods, Ready")
        wait_condition(real_kube, real_namespace, "blue", "Ready", "True", timeout=60)
        assert real_kube.get("apps/v1", "Deployment", "blue", real_namespace)["metadata"]["generation"] == generation

    failed = [(t, s) for t, s in load.answers if s != 200]
    outside = [(t, s) for t, s in failed if not any(start <= t <= end + 5 for _, start, end in windows)]
    last = [s for t, s in load.answers if t > windows[-1][2] + 5]
    assert last, "no answers after the runtime came back"
    assert set(last) == {200}, "still failing after the runtime came back"
    assert not outside, f"failures outside the restart windows: {outside[:10]}"
    spans = ", ".join(f"{name} down {end - start:.1f}s" for name, start, end in windows)
    print(f"runtime restart: {len(failed)} failed of {len(load.answers)}; {spans}; pods kept: {sorted(pods_before)}")

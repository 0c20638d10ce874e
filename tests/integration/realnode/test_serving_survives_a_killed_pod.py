"""Serving under faults (issue 17): a scoring pod's processes killed (SIGKILL, as the OOM killer or a crash
does) under load through the real Gateway. The endpoint keeps answering from the other replica, failures
are confined to the moments after the kill, the kubelet restarts the container and the pod is Ready again,
all without the operator doing anything. Before the kill it also checks, with the kernel's view of the
victim's processes, that the rendered securityContext holds on the real node: non-root, read-only `/`.

The failures are counted, not assumed. The Gateway keeps sending new requests to the dead pod until the
kubelet marks it unready and the EndpointSlice drops it; the refused connections would be 502s, and the
platform's `spec.native.gateway.retry` (a Traefik retry Middleware) tries them on the other pod instead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gateway.traffic import Caller
from native_backend.helpers import apply_platform, wait_condition
from polling import wait_for

from mlops_operator import naming
from mlops_operator.devcluster.gateway import Traefik
from mlops_operator.kube import Kube

from .conftest import GATEWAY, GATEWAY_NAMESPACE
from .load import BoundedLoad, endpoint_callers
from .test_model_deployments_run_real_pods import _deployment, _model_files

pytestmark = [pytest.mark.faults, pytest.mark.traffic]
CALLERS, LOAD_MAX_S, LOAD_MAX_REQUESTS = 4, 60.0, 40_000
BEFORE_S, AFTER_S = 3.0, 20.0  # load before the kill, and after it
KILL_WINDOW_S = 0.5  # what the dead pod had already taken fails this soon (measured: within 0.09 s)
CGROUP_ROOT = Path("/sys/fs/cgroup")


def _container_pids(pod_uid: str) -> list[int]:
    """The pod's processes but its sandbox's (/pause): the scoring server and its workers."""
    pids: set[int] = set()
    for hierarchy in (CGROUP_ROOT / "pids", CGROUP_ROOT):
        for pod_dir in hierarchy.glob(f"kubepods*/**/pod{pod_uid}"):
            for procs in pod_dir.rglob("cgroup.procs"):
                with contextlib.suppress(OSError, ValueError):
                    pids.update(int(pid) for pid in procs.read_text().split())
        if pids:
            break
    return sorted(pid for pid in pids if not _is_pause(pid))


def _is_pause(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].endswith(b"/pause")
    except OSError:
        return True  # gone already: nothing to kill


def _pods(kube: Kube, namespace: str) -> list[dict[str, Any]]:
    return kube.list("v1", "Pod", namespace, f"{naming.LABEL_DEPLOYMENT}=blue")


def _ready_pods(kube: Kube, namespace: str) -> list[dict[str, Any]]:
    def ready(pod: dict[str, Any]) -> bool:
        conditions = (pod.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    return [p for p in _pods(kube, namespace) if ready(p)]


def _runs_unprivileged_on_a_read_only_root(pid: int) -> bool:
    """What the rendered securityContext asks for, as the kernel sees the process: a non-root uid, and `/`
    mounted read-only in its mount namespace."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        mounts = Path(f"/proc/{pid}/mounts").read_text().splitlines()
    except OSError:
        return False
    uids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
    root = [line.split() for line in mounts if line.split()[1] == "/"][-1]
    return "0" not in uids and "ro" in root[3].split(",")


def _kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def serve_two_replicas(kube: Kube, namespace: str, traefik: Traefik) -> Callable[[], Caller]:
    """Deployment `blue` with 2 Ready pods answering through the Gateway; returns a factory of its callers."""
    _model_files(kube, namespace)
    kube.create(_deployment(namespace, "blue", instanceCount=2))
    wait_condition(kube, namespace, "blue", "Ready", "True", timeout=240)
    wait_for(lambda: len(_ready_pods(kube, namespace)) == 2 or None, 120, "2 ready pods")
    factory = endpoint_callers(kube, namespace, traefik)
    wait_for(lambda: factory().call().status == 200, 60, "blue to answer")
    return factory


def test_a_killed_scoring_pod_costs_only_the_moments_after_the_kill(
    real_kube: Kube, real_namespace: str, traefik: Traefik, operator: Callable[[], Any]
) -> None:
    retrying = {"name": GATEWAY, "namespace": GATEWAY_NAMESPACE, "retry": {}}  # the default, 10 tries
    apply_platform(real_kube, native={"gateway": retrying})  # the module's `traefik` fixture restores it
    with operator():
        factory = serve_two_replicas(real_kube, real_namespace, traefik)
        victim = _ready_pods(real_kube, real_namespace)[0]
        pids = _container_pids(victim["metadata"]["uid"])
        assert pids, f"no processes found for pod {victim['metadata']['name']} under {CGROUP_ROOT}"
        assert all(_runs_unprivileged_on_a_read_only_root(pid) for pid in pids), pids
        with BoundedLoad(factory, CALLERS, LOAD_MAX_S, LOAD_MAX_REQUESTS) as load:
            time.sleep(BEFORE_S)
            killed_at = time.monotonic()
            _kill(pids)
            time.sleep(AFTER_S)
        wait_for(lambda: len(_ready_pods(real_kube, real_namespace)) == 2 or None, 120, "the pod Ready again")
        restarted = next(
            p for p in _pods(real_kube, real_namespace) if p["metadata"]["uid"] == victim["metadata"]["uid"]
        )
        assert restarted["status"]["containerStatuses"][0]["restartCount"] >= 1  # the same pod, restarted
        wait_condition(real_kube, real_namespace, "blue", "Ready", "True", timeout=60)

    before = [s for t, s in load.answers if t < killed_at]
    failed = [(t - killed_at, s) for t, s in load.answers if s != 200]
    after = [s for t, s in load.answers if t > killed_at + AFTER_S - 5]
    assert before
    assert set(before) == {200}
    assert after
    assert set(after) == {200}, "still failing 15 s after the kill"
    assert all(0 <= t <= 15 for t, _ in failed), failed  # only the moments after the kill
    # The Gateway retries refused connections on the other pod (spec.native.gateway.retry): only requests
    # already written to the dead pod's sockets fail, right at the kill: one in flight per caller, and rarely
    # one more sent on a keep-alive connection Traefik had not yet seen closed (5 once, in a full CI run).
    # Without the retry, refused connections failed for 1-2.7 s (275-436 requests; docs/reliability.md).
    assert all(t < KILL_WINDOW_S for t, _ in failed), f"failures after the kill's moment: {failed}"
    assert len(failed) <= 2 * CALLERS, f"{len(failed)} failed, more than the sockets the dead pod held: {failed}"
    answered = [t for t, s in load.answers if s == 200 and killed_at < t < killed_at + 15]
    assert answered, "the other replica must keep answering"
    window = max((t for t, _ in failed), default=0.0)
    print(f"killed pod: {len(failed)} failed of {len(load.answers)} ({len(before)} before the kill); "
          f"{sum(1 for t, _ in failed if t < 0.25)} within 0.25 s of the kill; failures over {window:.1f}s after it; "
          f"{len(answered)} answered in the 15 s after")  # fmt: skip

"""Multi-region serving (issue 19) end to end: a hub, two regional clusters each with its real node, Gateway
and operator, and a Traefik as the global router that the hub's operator configures.

Requests through the global URL reach both regions by policy. Stopping one region's Gateway under bounded load
moves all traffic to the other within the probe interval, and the failed requests are counted: the global
router's passive check marks the region down on the first refused connection and its retry sends that
request again, so only requests already written to the dying Gateway can fail. A region whose
ModelDeployment stops being Ready (while its pods still answer) is taken out by the operator. Recovery
brings each back after the hysteresis. `MLOPS_MULTIREGION_TRACE=<file>` keeps the answers for the plot in
docs/multi-region.md (bench/multiregion_plot.py).
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from native_backend.helpers import apply_platform
from polling import wait_for

from mlops_operator.devcluster import ClusterConfig, LocalCluster
from mlops_operator.kube import Kube, load_api_client

from .multiregion import (
    NAMESPACE,
    REPO,
    GlobalLoad,
    GlobalRouter,
    RegionRig,
    global_endpoint,
    kubeconfig_secret,
    operator_process,
    region,
    start_region,
)

pytestmark = [pytest.mark.traffic, pytest.mark.multiregion, pytest.mark.timeout(900)]
PROBE_WINDOW_S = 2.0  # interval 1 s + timeout 1 s: the operator's view; the router's passive check is faster


class Rig:
    def __init__(self, hub: Kube, east: RegionRig, west: RegionRig, router: GlobalRouter) -> None:
        self.hub, self.east, self.west, self.router = hub, east, west, router


@pytest.fixture(scope="module")
def rig(real_cluster: LocalCluster, real_kube: Kube, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    logs = tmp_path_factory.mktemp("multiregion")
    with ExitStack() as stack:
        config = ClusterConfig(
            assets=real_cluster.assets, real_node=True, node_index=1, images=real_cluster.images, startup_timeout=180
        )
        west_cluster = stack.enter_context(
            LocalCluster(config).start(controllers=True, scheduler=True, with_nodes=False)
        )
        west_cluster.install_crds(*sorted((REPO / "crds").glob("*.yaml")))
        west_cluster.install_gateway_api_crds()
        west_kube = Kube(load_api_client(str(west_cluster.kubeconfig_path)))
        hub_cluster = stack.enter_context(
            LocalCluster(ClusterConfig(assets=real_cluster.assets)).start(
                controllers=False, scheduler=False, with_nodes=False
            )
        )
        hub_cluster.install_crds(*sorted((REPO / "crds").glob("*.yaml")))
        hub = Kube(load_api_client(str(hub_cluster.kubeconfig_path)))
        hub.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        hub.create(kubeconfig_secret("eastus-kubeconfig", real_cluster))
        hub.create(kubeconfig_secret("westus-kubeconfig", west_cluster))
        stack.callback(lambda: apply_platform(real_kube))  # the session's platform as other modules expect it
        east = start_region("eastus", real_cluster, real_kube, stack, logs)
        stack.callback(lambda: _delete_namespace(real_kube))
        west = start_region("westus", west_cluster, west_kube, stack, logs)
        directory = logs / "router"
        directory.mkdir()
        router = GlobalRouter(directory, logs).start()
        stack.callback(router.stop)
        hub_operator = operator_process(hub_cluster, "hub", logs)
        stack.callback(hub_operator.stop)
        yield Rig(hub, east, west, router)


def _delete_namespace(kube: Kube) -> None:
    """The session's node outlives this module: its pods here are gone before the next module's start."""
    kube.delete("v1", "Namespace", NAMESPACE)
    wait_for(lambda: kube.get("v1", "Namespace", NAMESPACE) is None or None, 120, f"namespace {NAMESPACE} gone")


def _status(hub: Kube, name: str) -> dict[str, Any]:
    return (hub.get("mlops.dev/v1alpha1", "GlobalEndpoint", name, NAMESPACE) or {}).get("status") or {}


def _serving(hub: Kube, name: str) -> set[str]:
    return {r["name"] for r in _status(hub, name).get("regions", []) if r.get("receivingTraffic")}


def _ready(hub: Kube, name: str) -> bool:
    status = _status(hub, name)
    return any(c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions", []))


def _load(rig: Rig, name: str) -> GlobalLoad:
    secret = rig.hub.get("v1", "Secret", f"{name}-global-keys", NAMESPACE) or {}
    key = base64.b64decode(secret["data"]["primaryKey"]).decode()
    return GlobalLoad(rig.router.port, f"/api/v1/namespaces/{NAMESPACE}/endpoints/{name}/score", key)


def _serve(rig: Rig, name: str, regions: list[dict[str, Any]], **spec: Any) -> None:
    rig.hub.apply(global_endpoint(name, rig.router, regions, **spec), "itest")
    try:
        wait_for(lambda: _serving(rig.hub, name) == {"eastus", "westus"} or None, 300, f"{name} in both regions")
        wait_for(lambda: _ready(rig.hub, name) or None, 30, f"{name} Ready")
    except AssertionError as error:
        raise AssertionError(f"{error}\n{_diagnosis(rig, name)}") from None


def _diagnosis(rig: Rig, name: str) -> str:
    """What the hub and each region say, for a failure message."""
    lines = [f"GlobalEndpoint status: {json.dumps(_status(rig.hub, name))[:3000]}"]
    for where in (rig.east, rig.west):
        for md in where.kube.list("mlops.dev/v1alpha1", "ModelDeployment", NAMESPACE):
            conditions = [
                (c["type"], c["status"], c["reason"], c.get("message", "")[:200])
                for c in md.get("status", {}).get("conditions", [])
            ]
            lines.append(
                f"{where.name} {md['metadata']['name']}: uri={md.get('status', {}).get('scoringUri')} {conditions}"
            )
        for pod in where.kube.list("v1", "Pod", NAMESPACE):
            lines.append(f"{where.name} pod {pod['metadata']['name']}: {pod.get('status', {}).get('phase')}")
    return "\n".join(lines)


def _trace(name: str, load: GlobalLoad, marks: dict[str, float]) -> None:
    target = os.environ.get("MLOPS_MULTIREGION_TRACE")
    if target:
        Path(f"{target}-{name}.json").write_text(json.dumps({"answers": load.answers, "marks": marks}))


def _events(hub: Kube, name: str) -> list[str]:
    events = hub.list("v1", "Event", NAMESPACE, field_selector=f"involvedObject.name={name}")
    return [e["reason"] for e in events]


def test_weighted_traffic_reaches_both_regions_and_fails_over_when_a_gateway_stops(rig: Rig) -> None:
    regions = [region("eastus", "eastus-kubeconfig"), region("westus", "westus-kubeconfig")]
    _serve(rig, "churn", regions, routing={"type": "weighted"})
    with _load(rig, "churn") as load:
        time.sleep(5)
        stopped = time.monotonic()
        rig.east.gateway.stop()
        wait_for(lambda: "eastus" not in _serving(rig.hub, "churn") or None, 30, "eastus taken out")
        removed = time.monotonic()
        time.sleep(5)
        rig.east.restart_gateway()
        restarted = time.monotonic()
        wait_for(lambda: "eastus" in _serving(rig.hub, "churn") or None, 60, "eastus restored")
        restored = time.monotonic()
        time.sleep(5)
    marks = {"stopped": stopped, "removed": removed, "restarted": restarted, "restored": restored}
    _trace("churn", load, marks)
    before = load.regions_since(0) - load.regions_since(stopped)
    assert min(before["eastus"], before["westus"]) > 50, before  # weighted 1:1 reaches both
    failed = [(t - stopped, s) for t, s, _ in load.answers if s != 200]
    after_window = _answered_between(load, stopped + PROBE_WINDOW_S, restarted)
    assert set(after_window) == {"westus"}, after_window  # all traffic on westus within the probe window
    assert all(0 <= t <= PROBE_WINDOW_S for t, _ in failed), failed
    assert len(failed) <= 2 * load.callers, f"{len(failed)} failed: more than the requests in flight: {failed}"
    assert load.regions_since(restored + 2)["eastus"] > 0, "eastus serves again after recovery"
    status = _status(rig.hub, "churn")
    assert status["lastFailover"]["region"] == "eastus"
    assert status["lastFailover"]["direction"] == "Restored"
    assert {"RegionRemoved", "RegionRestored"} <= set(_events(rig.hub, "churn"))
    print(
        f"gateway stop: {len(failed)} failed of {len(load.answers)}; taken out {removed - stopped:.1f}s after the stop "
        f"(status); restored {restored - restarted:.1f}s after the restart; before the stop {dict(before)}"
    )


def _answered_between(load: GlobalLoad, start: float, end: float) -> dict[str, int]:
    """Successful answers per region in [start, end)."""
    seen: dict[str, int] = {}
    for t, status, where in load.answers:
        if start <= t < end and status == 200:
            seen[where] = seen.get(where, 0) + 1
    return seen


def test_priority_moves_traffic_off_a_region_whose_deployment_is_not_ready(rig: Rig) -> None:
    regions = [
        region("eastus", "eastus-kubeconfig", priority=1),
        region("westus", "westus-kubeconfig", priority=2),
    ]
    _serve(rig, "fraud", regions, routing={"type": "priority"})
    with _load(rig, "fraud") as load:
        time.sleep(3)
        broken = time.monotonic()
        regions[0]["overrides"]["environmentVariables"]["FAIL_INIT"] = "1"  # a new pod that never gets Ready
        rig.hub.apply(global_endpoint("fraud", rig.router, regions, routing={"type": "priority"}), "itest")
        wait_for(lambda: "eastus" not in _serving(rig.hub, "fraud") or None, 60, "eastus taken out (not Ready)")
        removed = time.monotonic()
        time.sleep(3)
        del regions[0]["overrides"]["environmentVariables"]["FAIL_INIT"]
        rig.hub.apply(global_endpoint("fraud", rig.router, regions, routing={"type": "priority"}), "itest")
        mended = time.monotonic()
        wait_for(lambda: "eastus" in _serving(rig.hub, "fraud") or None, 120, "eastus restored")
        restored = time.monotonic()
        time.sleep(3)
    _trace("fraud", load, {"broken": broken, "removed": removed, "mended": mended, "restored": restored})
    # Priority: the passive region gets traffic only while Traefik's own check finds the active one down. On
    # 2 busy cores a 1 s probe can time out and send a second's traffic to westus: most stays on eastus.
    before, out, back = (
        _answered_between(load, 0, broken),
        _answered_between(load, removed + PROBE_WINDOW_S, mended),
        _answered_between(load, restored + PROBE_WINDOW_S, time.monotonic()),
    )
    assert before.get("eastus", 0) >= 0.9 * sum(before.values()), before
    assert set(out) == {"westus"}, out  # taken out by the operator: none at all
    assert back.get("eastus", 0) >= 0.9 * sum(back.values()), back
    failed = [t - broken for t, s, _ in load.answers if s != 200]
    assert not failed, f"the old pod kept serving while the region was taken out: {failed}"
    reason = next(r for r in _status(rig.hub, "fraud")["regions"] if r["name"] == "eastus")
    assert reason["receivingTraffic"]
    print(f"not Ready: taken out {removed - broken:.1f}s after the change; back {restored - mended:.1f}s after the fix")

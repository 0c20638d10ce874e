"""Moving all traffic from blue to green while requests keep coming answers every one of them with a 2xx."""

from __future__ import annotations

import time

from polling import wait_for

from mlops_operator.api.v1alpha1.platform import GatewayParentRef
from mlops_operator.devcluster import LocalCluster
from mlops_operator.devcluster.gateway import Traefik

from .traffic import Caller, Deployments, Load, apply_route, endpoint

THREADS = 4
MAX_SECONDS = 45.0
MAX_REQUESTS_PER_THREAD = 50_000
# At least this long and this many answers on each side of the shift (the issue asks for ~20 s of load).
PHASE_SECONDS = 8.0
PHASE_ANSWERS = 1000


def test_shifting_one_hundred_percent_from_blue_to_green_under_load_gives_no_errors(
    cluster: LocalCluster, traefik: Traefik, gateway: GatewayParentRef, deployments: Deployments, namespace: str
) -> None:
    deployments.add("blue", "green")
    apply_route(cluster, endpoint(namespace, "shift", {"blue": 100, "green": 0}), gateway)
    probe = Caller(traefik.web_port, namespace, "shift")
    wait_for(lambda: probe.count(20) == {(200, "blue"): 20}, timeout=30, what="all traffic on blue")

    def new_caller() -> Caller:
        return Caller(traefik.web_port, namespace, "shift")

    started = time.monotonic()
    with Load(new_caller, THREADS, MAX_SECONDS, MAX_REQUESTS_PER_THREAD) as load:
        wait_for(lambda: _phase_done(load, started), timeout=15, what="load on blue")
        shifted_at = time.monotonic()
        apply_route(cluster, endpoint(namespace, "shift", {"blue": 0, "green": 100}), gateway)
        wait_for(lambda: _green_only_since(load, shifted_at), timeout=20, what="green answering everything")
        settled_at = time.monotonic()
        wait_for(lambda: _phase_done(load, settled_at), timeout=15, what="load on green")
    result = load.merged()

    assert result.non_2xx() == []
    assert set(result.served_by()) == {"blue", "green"}
    assert {answer.deployment for _, answer in result.answers[-100:]} == {"green"}
    seconds = result.answers[-1][0] - result.answers[0][0]
    print(f"shift under load: {len(result.answers)} answers in {seconds:.1f}s, {len(result.answers) / seconds:.0f}/s")


def _phase_done(load: Load, since: float) -> bool:
    """PHASE_SECONDS have passed since `since` and PHASE_ANSWERS were answered after it."""
    return time.monotonic() - since >= PHASE_SECONDS and load.answered_since(since) >= PHASE_ANSWERS


def _green_only_since(load: Load, since: float) -> bool:
    """The 50 most recent answers, all after `since`, all from green."""
    tails = (pair for result in load.results for pair in result.answers[-50:] if pair[0] > since)
    recent = sorted(tails, key=lambda pair: pair[0])[-50:]
    return len(recent) == 50 and all(answer.deployment == "green" for _, answer in recent)

"""When a region leaves and rejoins the global rotation: a pure state machine, one step per observation.

The router's own health checks (Traefik's active and passive checks, Front Door's probes) react within one
probe; they have no memory, so a flapping region would flap the traffic with it. This machine adds the
memory: a region is taken out after `failuresToRemove` failed probes in a row (at once when its
ModelDeployments are not Ready, a level signal Kubernetes already debounced), and comes back only after
`successesToRestore` good probes in a row and `holdDownSeconds` out. Its state lives on the object's status,
so an operator restart forgets nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mlops_operator.api.v1alpha1.globalendpoint import FailoverPolicy, FailoverRecord, RegionStatus
from mlops_operator.conditions import Reason


@dataclass(frozen=True)
class Observation:
    """What one pass saw of a region: its ModelDeployments' readiness, and the probe's result (None: no
    probe ran, e.g. Front Door probes by itself)."""

    ready: bool
    deployments_ready: str
    probe_ok: bool | None
    latency_ms: int | None = None
    enabled: bool = True
    message: str = ""


def step(
    name: str, previous: RegionStatus | None, seen: Observation, policy: FailoverPolicy, now: datetime
) -> tuple[RegionStatus, FailoverRecord | None]:
    """The region's next state, and the failover record when it left or rejoined the rotation."""
    good = seen.probe_ok is not False and (seen.ready or not policy.require_ready)
    before = previous or RegionStatus(name=name, receiving_traffic=False)
    successes = min(before.consecutive_successes + 1, policy.successes_to_restore) if good else 0
    failures = 0 if good else min(before.consecutive_failures + 1, policy.failures_to_remove)
    state = RegionStatus(
        name=name,
        ready=seen.ready,
        deployments_ready=seen.deployments_ready,
        health=_health(seen.probe_ok, failures, policy),
        consecutive_successes=successes,
        consecutive_failures=failures,
        probe_latency_ms=_steady_latency(before.probe_latency_ms, seen.latency_ms),
        receiving_traffic=before.receiving_traffic,
        out_since=before.out_since,
        origin=before.origin,
        message=seen.message,
    )
    if previous is None:  # a new region joins as soon as it serves: nothing to be wary of yet
        joined = good and seen.enabled
        out_since = None if joined else _stamp(now)
        return state.model_copy(update={"receiving_traffic": joined, "out_since": out_since}), None
    if before.receiving_traffic:
        why = _why_remove(seen, failures, policy)
        if why is None:
            return state, None
        out = state.model_copy(update={"receiving_traffic": False, "out_since": _stamp(now)})
        return out, FailoverRecord(time=_stamp(now), region=name, direction="Removed", reason=why[0], message=why[1])
    if not (good and seen.enabled and _may_return(before, successes, policy, now)):
        return state, None
    back = state.model_copy(update={"receiving_traffic": True, "out_since": None})
    message = f"{successes} good probes in a row" + (" and Ready" if seen.ready else "")
    record = FailoverRecord(
        time=_stamp(now), region=name, direction="Restored", reason=Reason.REGION_HEALTHY, message=message
    )
    return back, record


def _why_remove(seen: Observation, failures: int, policy: FailoverPolicy) -> tuple[str, str] | None:
    if not seen.enabled:
        return Reason.REGION_DISABLED, "regions[].enabled is false: drained on purpose"
    if policy.require_ready and not seen.ready:
        return Reason.DEPLOYMENTS_NOT_READY, f"ModelDeployments Ready {seen.deployments_ready}: {seen.message}"
    if failures >= policy.failures_to_remove:
        return Reason.PROBE_FAILED, f"{failures} failed probes in a row: {seen.message}"
    return None


def _may_return(before: RegionStatus, successes: int, policy: FailoverPolicy, now: datetime) -> bool:
    if successes < policy.successes_to_restore:
        return False
    if before.out_since is None:
        return True
    out_for = (now - datetime.fromisoformat(before.out_since.replace("Z", "+00:00"))).total_seconds()
    return out_for >= policy.hold_down_seconds


def _health(probe_ok: bool | None, failures: int, policy: FailoverPolicy) -> str:
    """After hysteresis: one failed probe is not yet Unhealthy."""
    if probe_ok is None:
        return "Unknown"
    return "Unhealthy" if failures >= policy.failures_to_remove else "Healthy"


def _steady_latency(recorded: int | None, measured: int | None) -> int | None:
    """The latency kept on status moves only when it changes by a quarter and 5 ms: every probe measures a
    slightly different number, and writing each would make every idle pass a status write."""
    if measured is None or recorded is None:
        return measured if recorded is None else recorded
    if abs(measured - recorded) > max(5, recorded // 4):
        return measured
    return recorded


def _stamp(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")

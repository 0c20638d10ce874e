"""The failover state machine: out after N failed probes (at once when not Ready), back after M good probes
and the hold-down, and nothing written when nothing changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mlops_operator.api.v1alpha1.globalendpoint import FailoverPolicy, RegionStatus
from mlops_operator.globalendpoint.hysteresis import Observation, step

T0 = datetime(2026, 12, 2, 10, 0, 0, tzinfo=UTC)
POLICY = FailoverPolicy(failures_to_remove=2, successes_to_restore=3, hold_down_seconds=30)
GOOD = Observation(ready=True, deployments_ready="1/1", probe_ok=True, latency_ms=12)
REFUSED = Observation(ready=True, deployments_ready="1/1", probe_ok=False, message="connection refused")
NOT_READY = Observation(ready=False, deployments_ready="0/1", probe_ok=True, message="blue: CrashLoopBackOff")


def run(observations: list[Observation], start: RegionStatus | None = None, every: float = 5.0):
    state, records = start, []
    for index, seen in enumerate(observations):
        state, record = step("eastus", state, seen, POLICY, T0 + timedelta(seconds=index * every))
        records.append(record)
    assert state is not None
    return state, records


def test_a_new_region_joins_once_it_serves_and_a_new_unready_one_waits() -> None:
    joined, records = run([GOOD])
    assert joined.receiving_traffic
    assert joined.health == "Healthy"
    assert records == [None]
    waiting, _ = run([NOT_READY])
    assert not waiting.receiving_traffic
    assert waiting.out_since == "2026-12-02T10:00:00Z"


def test_one_failed_probe_is_tolerated_and_the_second_takes_the_region_out() -> None:
    state, records = run([GOOD, REFUSED])
    assert state.receiving_traffic
    assert state.health == "Healthy"
    assert state.consecutive_failures == 1
    state, records = run([GOOD, REFUSED, REFUSED])
    assert not state.receiving_traffic
    assert state.health == "Unhealthy"
    removed = records[-1]
    assert removed is not None
    assert removed.direction == "Removed"
    assert removed.reason == "ProbeFailed"
    assert "connection refused" in removed.message


def test_a_region_whose_deployments_are_not_ready_is_taken_out_at_once() -> None:
    state, records = run([GOOD, NOT_READY])
    assert not state.receiving_traffic
    assert records[-1] is not None
    assert records[-1].reason == "DeploymentsNotReady"
    assert "CrashLoopBackOff" in records[-1].message


def test_readiness_is_ignored_when_the_policy_says_so() -> None:
    state, _ = step("eastus", None, NOT_READY, FailoverPolicy(require_ready=False), T0)
    assert state.receiving_traffic


def test_a_removed_region_returns_after_enough_good_probes_and_the_hold_down() -> None:
    out, _ = run([GOOD, REFUSED, REFUSED])
    # three good probes 5 s apart: enough successes, but only 15 s of the 30 s hold-down
    early, records = run([GOOD, GOOD, GOOD], start=out)
    assert not early.receiving_traffic
    assert early.consecutive_successes == 3
    assert records == [None, None, None]
    back, records = run([GOOD] * 8, start=out, every=10)
    assert back.receiving_traffic
    assert back.out_since is None
    restored = [r for r in records if r is not None]
    assert len(restored) == 1
    assert restored[0].direction == "Restored"
    assert restored[0].reason == "RegionHealthy"


def test_a_flapping_region_stays_out() -> None:
    out, _ = run([GOOD, REFUSED, REFUSED])
    flapping, records = run([GOOD, GOOD, REFUSED] * 10, start=out, every=10)
    assert not flapping.receiving_traffic
    assert records == [None] * 30


def test_a_disabled_region_is_drained_and_an_idle_region_does_not_change() -> None:
    serving, _ = run([GOOD])
    drained, record = step("eastus", serving, Observation(True, "1/1", True, 12, enabled=False), POLICY, T0)
    assert not drained.receiving_traffic
    assert record is not None
    assert record.reason == "RegionDisabled"
    steady, _ = run([GOOD] * 5)
    again, record = step("eastus", steady, Observation(True, "1/1", True, latency_ms=13), POLICY, T0)
    assert record is None
    assert again == steady


def test_probe_latency_on_status_moves_only_on_a_real_change() -> None:
    steady, _ = run([GOOD])
    slower, _ = step("eastus", steady, Observation(True, "1/1", True, latency_ms=14), POLICY, T0)
    assert slower.probe_latency_ms == 12
    much_slower, _ = step("eastus", steady, Observation(True, "1/1", True, latency_ms=80), POLICY, T0)
    assert much_slower.probe_latency_ms == 80

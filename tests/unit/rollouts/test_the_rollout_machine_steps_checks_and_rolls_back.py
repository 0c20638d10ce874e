"""The rollout state machine, pass by pass, with a clock and gates under the test's control."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from mlops_operator.api.v1alpha1.rollout import GateResult, RolloutSpec, RolloutStatus
from mlops_operator.rollouts.machine import RolloutInputs, advance, next_look

T0 = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
SPEC = RolloutSpec.model_validate(
    {
        "baseline": "blue",
        "steps": [{"traffic": 10, "pauseSeconds": 20}, {"traffic": 50, "pauseSeconds": 20}],
        "analysis": {
            "intervalSeconds": 10,
            "failureLimit": 1,
            "gates": [{"name": "errors", "metric": "errorRatio", "max": 0.05}],
        },
    }
)


def passing() -> list[GateResult]:
    return [GateResult(name="errors", verdict="Pass", value=0.0, threshold="<= 0.05")]


def failing() -> list[GateResult]:
    return [GateResult(name="errors", verdict="Fail", value=0.2, threshold="<= 0.05")]


def inputs(previous: RolloutStatus | None, seconds: float, in_force: int | None = None, **kw: object) -> RolloutInputs:
    base = RolloutInputs(
        name="green",
        spec=SPEC,
        target=100,
        revision="r1",
        previous=previous,
        start_share=0,
        in_force=in_force,
        candidate_ready=True,
        baseline_problem=None,
        action=None,
        now=T0 + timedelta(seconds=seconds),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def run(previous, seconds, in_force=None, check=passing, **kw):  # type: ignore[no-untyped-def]
    return advance(inputs(previous, seconds, in_force, **kw), check).status


def test_a_healthy_candidate_goes_through_every_step_and_is_promoted() -> None:
    state = run(None, 0)
    assert (state.phase, state.step, state.traffic, state.step_started_at) == ("Progressing", 0, 10, None)
    state = run(state, 1, in_force=10)  # the share is in force: the clock starts
    assert state.step_started_at is not None
    assert len(state.history) == 1
    state = run(state, 11, in_force=10)  # first check passes, pause not over
    assert (state.checks_passed_in_step, state.step) == (1, 0)
    state = run(state, 21, in_force=10)  # pause over, a check passed: next step
    assert (state.step, state.traffic, state.history[0].result) == (1, 50, "Passed")
    state = run(state, 22, in_force=50)
    state = run(state, 32, in_force=50)
    state = run(state, 42, in_force=50)
    assert (state.phase, state.traffic) == ("Promoting", 100)
    state = run(state, 43, in_force=100)
    assert state.phase == "Succeeded"
    assert [h.traffic for h in state.history] == [10, 50]


def test_a_failing_candidate_is_rolled_back_once_failures_exceed_the_limit() -> None:
    state = run(run(None, 0), 1, in_force=10)
    state = run(state, 11, in_force=10, check=failing)
    assert (state.phase, state.failed_checks, state.traffic) == ("Progressing", 1, 10)  # one tolerated
    decision = advance(inputs(state, 21, in_force=10), failing)
    assert (decision.status.phase, decision.status.traffic) == ("RolledBack", 0)
    assert decision.verdict.reason == "RolledBack"
    assert decision.verdict.severity == "Error"
    assert "errors=0.2 (<= 0.05) Fail" in decision.verdict.message
    assert [e.reason for e in decision.events] == ["RolloutCheckFailed"]
    assert decision.status.history[-1].result == "Failed"


def test_no_data_is_no_evidence_while_the_window_fills_and_a_failure_after() -> None:
    state = run(run(None, 0), 1, in_force=10)
    nodata = [GateResult(name="errors", verdict="NoData", threshold="<= 0.05", message="no samples")]
    early = run(state, 11, in_force=10, check=lambda: nodata)  # 10 s into a step with a 60 s window
    assert (early.failed_checks, early.checks_passed_in_step) == (0, 0)
    late = run(early, 62, in_force=10, check=lambda: nodata)
    assert (late.failed_checks, late.checks_passed_in_step) == (1, 0)


def test_the_first_step_waits_for_the_candidates_pods() -> None:
    state = run(None, 0, candidate_ready=False)
    assert (state.traffic, state.phase) == (0, "Progressing")
    assert "waiting for green's pods" in state.message


def test_the_clock_waits_until_the_share_is_in_force() -> None:
    state = run(run(None, 0), 30, in_force=0)
    assert state.step_started_at is None
    assert state.last_analysis_at is None


def test_a_new_revision_starts_over_and_a_first_seen_rollout_keeps_what_was_served() -> None:
    done = run(run(None, 0), 1, in_force=10).model_copy(update={"phase": "Succeeded", "traffic": 100})
    restarted = run(done, 5, revision="r2", candidate_ready=False)  # its pods roll first
    assert (restarted.revision, restarted.phase, restarted.traffic) == ("r2", "Progressing", 0)
    already = run(None, 0, start_share=100)
    assert already.phase == "Succeeded"
    assert "nothing to roll out" in already.message


def test_abort_promote_and_retry_by_annotation() -> None:
    running = run(run(None, 0), 1, in_force=10)
    assert run(running, 2, in_force=10, action="abort").phase == "RolledBack"
    promoted = run(running, 2, in_force=10, action="promote")
    assert (promoted.phase, promoted.traffic) == ("Promoting", 100)
    rolled_back = run(running, 2, in_force=10, action="abort")
    assert (run(rolled_back, 3, action="retry").phase, run(rolled_back, 3).phase) == ("Progressing", "RolledBack")


def test_a_step_without_a_pause_waits_for_resume_after_its_checks() -> None:
    spec = SPEC.model_copy(update={"steps": [SPEC.steps[0].model_copy(update={"pause_seconds": None}), SPEC.steps[1]]})
    state = run(run(None, 0, spec=spec), 1, in_force=10, spec=spec)
    state = run(state, 11, in_force=10, spec=spec)
    assert state.phase == "Paused"
    resumed = run(state, 12, in_force=10, spec=spec, action="resume")
    assert (resumed.phase, resumed.step, resumed.traffic) == ("Progressing", 1, 50)


def test_on_failure_pause_holds_the_traffic_in_force() -> None:
    spec = SPEC.model_copy(update={"on_failure": "pause"})
    state = run(run(None, 0, spec=spec), 1, in_force=10, spec=spec)
    state = run(run(state, 11, in_force=10, spec=spec, check=failing), 21, in_force=10, spec=spec, check=failing)
    assert (state.phase, state.traffic) == ("Paused", 10)


def test_a_missing_baseline_fails_the_rollout() -> None:
    decision = advance(inputs(None, 0, baseline_problem="baseline ModelDeployment ns/blue does not exist"), passing)
    assert (decision.status.phase, decision.verdict.reason) == ("Failed", "RolloutFailed")


def test_the_next_look_is_the_next_check_or_the_end_of_the_pause() -> None:
    state = run(run(None, 0), 1, in_force=10)
    assert next_look(SPEC, state, T0 + timedelta(seconds=1)) == 10
    assert next_look(SPEC, run(None, 0), T0) == 1.0
    assert next_look(SPEC, state.model_copy(update={"phase": "Succeeded"}), T0) is None

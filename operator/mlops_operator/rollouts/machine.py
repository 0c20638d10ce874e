"""The rollout state machine: one pure step per pass, from the candidate's last status to its next.

Level-based like every pass: everything it needs is in the spec, the last `status.rollout` and what the
last pass put in force, so an operator restart resumes at the same step with the same clock.

A step is *entered* when its share is written into `status.rollout.traffic` (the route follows in the
same pass), and *started* when a later pass sees that share in force (`TrafficApplied=True` with it in
`status.traffic`): only then does its pause run and are its checks counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mlops_operator.api.v1alpha1.rollout import (
    TERMINAL_PHASES,
    GateResult,
    RolloutAction,
    RolloutSpec,
    RolloutStatus,
    StepRecord,
)
from mlops_operator.conditions import Announcement, ConditionType, Reason, Verdict
from mlops_operator.rollouts.gates import summary

HISTORY_KEPT = 30
SHIFT_RECHECK_SECONDS = 1.0  # how soon to look again while a share is being put in force


@dataclass(frozen=True)
class RolloutInputs:
    """What one pass knows about the candidate."""

    name: str
    spec: RolloutSpec
    target: int
    revision: str
    previous: RolloutStatus | None
    start_share: int  # the candidate's share before this rollout (what it served, or 0 for a new revision)
    in_force: int | None  # the candidate's share the last pass saw applied; None when not applied
    candidate_ready: bool
    baseline_problem: str | None
    action: RolloutAction | None
    now: datetime


@dataclass
class RolloutDecision:
    status: RolloutStatus
    verdict: Verdict
    events: list[Announcement] = field(default_factory=list)
    requeue_after: float | None = None


Checker = Callable[[], list[GateResult]]


def advance(inputs: RolloutInputs, check: Checker) -> RolloutDecision:
    """The next state of the rollout, running the gates when a check is due."""
    state, decision = _current(inputs)
    if inputs.action is not None and state.phase not in TERMINAL_PHASES:
        _act(inputs, state, decision, inputs.action)
    if state.phase in TERMINAL_PHASES:
        return _finish(decision, state)
    if inputs.baseline_problem is not None:
        _stop(state, "Failed", inputs, inputs.baseline_problem, result="Failed")
        return _finish(decision, state)
    if state.phase == "Promoting":
        _promote_when_in_force(inputs, state)
    else:
        _progress(inputs, state, decision, check)
    return _finish(decision, state)


def _current(inputs: RolloutInputs) -> tuple[RolloutStatus, RolloutDecision]:
    previous = inputs.previous
    fresh = previous is None or previous.revision != inputs.revision
    retry = inputs.action == "retry" and previous is not None and previous.phase in ("RolledBack", "Failed")
    state = _start(inputs) if previous is None or fresh or retry else previous.model_copy(deep=True)
    return state, RolloutDecision(state, _verdict(state))


def _start(inputs: RolloutInputs) -> RolloutStatus:
    """A new rollout from the candidate's share now, at the first step above it."""
    start = 0 if inputs.action == "retry" else inputs.start_share
    state = RolloutStatus(phase="Progressing", revision=inputs.revision, baseline=inputs.spec.baseline)
    state.traffic, state.target = start, inputs.target
    if inputs.target == 0 or start >= inputs.target:
        state.phase, state.traffic = "Succeeded", inputs.target
        state.message = f"nothing to roll out: {inputs.name} already has its spec.traffic ({inputs.target}%)"
        return state
    state.step = next((i for i, s in enumerate(inputs.spec.steps) if s.traffic > start), len(inputs.spec.steps))
    if state.step >= len(inputs.spec.steps) or inputs.spec.steps[state.step].traffic >= inputs.target:
        state.phase, state.traffic = "Promoting", inputs.target
    return state


def _act(inputs: RolloutInputs, state: RolloutStatus, decision: RolloutDecision, action: RolloutAction) -> None:
    """A command from the `rollout.mlops.dev/action` annotation (`mlopsctl promote` / `abort`)."""
    if action == "abort":
        _stop(state, "RolledBack", inputs, "aborted by request (rollout.mlops.dev/action=abort)", result="Aborted")
    elif action == "promote":
        _end_step(state, inputs, "Promoted")
        state.phase, state.traffic, state.step = "Promoting", inputs.target, len(inputs.spec.steps)
        state.message = "promoting by request (rollout.mlops.dev/action=promote)"
    elif action == "resume" and _entered(inputs.spec, state):
        _next_step(inputs, state, decision)


def _progress(inputs: RolloutInputs, state: RolloutStatus, decision: RolloutDecision, check: Checker) -> None:
    spec, step = inputs.spec, inputs.spec.steps[state.step]
    if not _entered(spec, state):
        if not inputs.candidate_ready:
            state.message = f"waiting for {inputs.name}'s pods to be ready before step {state.step + 1}"
            return
        state.traffic, state.step_started_at, state.checks_passed_in_step = step.traffic, None, 0
    if state.step_started_at is None:
        if inputs.in_force != state.traffic:
            state.message = f"step {state.step + 1}/{len(spec.steps)}: putting {state.traffic}% in force"
            return
        _begin_step(inputs, state, decision)
    if _check_due(spec, state, inputs.now):
        _run_checks(inputs, state, decision, check)
    if state.phase in ("Progressing", "Paused") and _step_done(spec, state, inputs.now):
        _next_step(inputs, state, decision)


def _entered(spec: RolloutSpec, state: RolloutStatus) -> bool:
    return state.step < len(spec.steps) and state.traffic == spec.steps[state.step].traffic


def _begin_step(inputs: RolloutInputs, state: RolloutStatus, decision: RolloutDecision) -> None:
    stamp = _stamp(inputs.now)
    state.step_started_at = stamp
    state.history = [*state.history, StepRecord(step=state.step, traffic=state.traffic, started_at=stamp)][
        -HISTORY_KEPT:
    ]
    rest = f"{inputs.spec.baseline} {inputs.target - state.traffic}%" if inputs.target == 100 else "baseline the rest"
    message = f"step {state.step + 1}/{len(inputs.spec.steps)}: {inputs.name} {state.traffic}% in force ({rest})"
    state.message = message
    decision.events.append(Announcement("Normal", Reason.ROLLOUT_STEP, message))


def _check_due(spec: RolloutSpec, state: RolloutStatus, now: datetime) -> bool:
    if state.step_started_at is None or (state.phase == "Paused" and state.failed_checks > spec.analysis.failure_limit):
        return False
    since = max(_parse(state.step_started_at), _parse(state.last_analysis_at) if state.last_analysis_at else _EPOCH)
    return (now - since).total_seconds() >= spec.analysis.interval_seconds


def _run_checks(inputs: RolloutInputs, state: RolloutStatus, decision: RolloutDecision, check: Checker) -> None:
    results = check() if inputs.spec.analysis.gates else []
    state.analysis, state.last_analysis_at = results, _stamp(inputs.now)
    if all(r.verdict == "Pass" for r in results):
        state.checks_passed_in_step += 1
        return
    if _window_filling(inputs, state, results):
        return  # no evidence yet either way: neither a pass nor a failure
    state.failed_checks += 1
    limit = inputs.spec.analysis.failure_limit
    failed = summary([r for r in results if r.verdict != "Pass"])
    message = f"check failed ({state.failed_checks} of {limit} tolerated): {failed}"
    decision.events.append(Announcement("Warning", Reason.ROLLOUT_CHECK_FAILED, message))
    if state.failed_checks <= limit:
        return
    if inputs.spec.on_failure == "pause":
        state.phase, state.message = "Paused", f"paused at {state.traffic}% after {message}"
    else:
        _stop(state, "RolledBack", inputs, f"rolled back after {message}", result="Failed")


def _window_filling(inputs: RolloutInputs, state: RolloutStatus, results: list[GateResult]) -> bool:
    """No data only, while the step has run for less than one window: a new pod is discovered and scraped
    a few seconds after it is Ready, and a rate needs two samples. After a full window, no data fails."""
    if any(r.verdict not in ("Pass", "NoData") for r in results) or state.step_started_at is None:
        return False
    running = (inputs.now - _parse(state.step_started_at)).total_seconds()
    return running < inputs.spec.analysis.window_seconds


def _step_done(spec: RolloutSpec, state: RolloutStatus, now: datetime) -> bool:
    if state.step_started_at is None or (spec.analysis.gates and state.checks_passed_in_step < 1):
        return False
    pause = spec.steps[state.step].pause_seconds
    if pause is None:
        if state.phase == "Progressing":
            state.phase = "Paused"
            state.message = f"step {state.step + 1} passed its checks; waiting for `mlopsctl promote --step`"
        return False
    return (now - _parse(state.step_started_at)).total_seconds() >= pause


def _next_step(inputs: RolloutInputs, state: RolloutStatus, decision: RolloutDecision) -> None:
    _end_step(state, inputs, "Passed")
    nxt = state.step + 1
    state.phase, state.step, state.checks_passed_in_step, state.step_started_at = "Progressing", nxt, 0, None
    if nxt >= len(inputs.spec.steps) or inputs.spec.steps[nxt].traffic >= inputs.target:
        state.phase, state.traffic, state.step = "Promoting", inputs.target, len(inputs.spec.steps)
        state.message = f"promoting: {inputs.name} to its spec.traffic ({inputs.target}%)"
        return
    state.traffic = inputs.spec.steps[nxt].traffic
    state.message = f"step {nxt + 1}/{len(inputs.spec.steps)}: putting {state.traffic}% in force"


def _promote_when_in_force(inputs: RolloutInputs, state: RolloutStatus) -> None:
    if inputs.in_force == inputs.target:
        _end_step(state, inputs, "Promoted")
        state.phase = "Succeeded"
        state.message = f"promoted: {inputs.name} serves {inputs.target}% after {len(state.history)} step(s)"


def _stop(state: RolloutStatus, phase: str, inputs: RolloutInputs, message: str, result: str) -> None:
    _end_step(state, inputs, result)
    state.phase = "RolledBack" if phase == "RolledBack" else "Failed"
    state.message = message
    if phase == "RolledBack":
        state.traffic, state.step_started_at = 0, None


def _end_step(state: RolloutStatus, inputs: RolloutInputs, result: str) -> None:
    if state.history and state.history[-1].ended_at is None:
        state.history[-1].ended_at, state.history[-1].result = _stamp(inputs.now), result


def _finish(decision: RolloutDecision, state: RolloutStatus) -> RolloutDecision:
    decision.status, decision.verdict = state, _verdict(state)
    return decision


_PHASE_VERDICTS = {
    "Progressing": ("False", Reason.ROLLOUT_PROGRESSING, "Info"),
    "Paused": ("False", Reason.ROLLOUT_PAUSED, "Info"),
    "Promoting": ("False", Reason.ROLLOUT_PROMOTING, "Info"),
    "Succeeded": ("True", Reason.ROLLOUT_SUCCEEDED, ""),
    "RolledBack": ("False", Reason.ROLLED_BACK, "Error"),
    "Failed": ("False", Reason.ROLLOUT_FAILED, "Error"),
}


def _verdict(state: RolloutStatus) -> Verdict:
    status, reason, severity = _PHASE_VERDICTS[state.phase]
    message = state.message or f"{state.phase}: step {state.step + 1}, {state.traffic}%"
    return Verdict(ConditionType.ROLLED_OUT, status, reason, message, severity)  # type: ignore[arg-type]


def no_rollout_verdict() -> Verdict:
    return Verdict(ConditionType.ROLLED_OUT, "True", Reason.NO_ROLLOUT, "no spec.rollout: traffic follows spec.traffic")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def next_look(spec: RolloutSpec, state: RolloutStatus, now: datetime) -> float | None:
    """Seconds until the rollout needs another pass (the next check or the end of the pause); None when done."""
    if state.phase in TERMINAL_PHASES:
        return None
    if state.phase == "Promoting" or state.step_started_at is None:
        return SHIFT_RECHECK_SECONDS
    started = _parse(state.step_started_at)
    last = _parse(state.last_analysis_at) if state.last_analysis_at else started
    due = [(max(started, last) - now).total_seconds() + spec.analysis.interval_seconds]
    pause = spec.steps[state.step].pause_seconds if state.step < len(spec.steps) else None
    if pause is not None:
        due.append((started - now).total_seconds() + pause)
    return max(SHIFT_RECHECK_SECONDS, min(due))

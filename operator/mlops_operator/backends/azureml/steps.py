"""What every step of a platform or deployment pass returns, and the guard that classifies its errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlops_operator.backends.base import FatalError, RetryableError
from mlops_operator.conditions import ConditionType, Reason, Verdict


@dataclass
class StepResult:
    """One step's verdict; `done` lets the next step run, `requeue` asks for another look."""

    verdict: Verdict
    done: bool
    requeue: float | None = None
    status: dict[str, Any] = field(default_factory=dict)


def ready(condition: ConditionType, reason: str, message: str, **status: Any) -> StepResult:
    return StepResult(Verdict(condition, "True", reason, message), True, status=status)


def waiting(
    condition: ConditionType, message: str, poll: float, reason: str = Reason.AZURE_OPERATION_IN_PROGRESS
) -> StepResult:
    return StepResult(Verdict(condition, "False", reason, message, "Info"), False, poll)


def failed(condition: ConditionType, reason: str, message: str) -> StepResult:
    return StepResult(Verdict(condition, "False", reason, message, "Error"), False)


def guarded(condition: ConditionType, step: Callable[[], StepResult]) -> StepResult:
    """Classified errors become this step's verdict; anything unexpected keeps its traceback."""
    try:
        return step()
    except RetryableError as exc:
        return StepResult(Verdict(condition, "False", exc.reason, str(exc), "Warning"), False, exc.delay)
    except FatalError as exc:
        return failed(condition, exc.reason, str(exc))


def run_chain(
    steps: list[tuple[ConditionType, Callable[[], StepResult]]],
) -> tuple[list[Verdict], dict[str, Any], float | None]:
    """Run steps in order; once one is not done, the rest report Unknown (waiting for it)."""
    verdicts: list[Verdict] = []
    status: dict[str, Any] = {}
    requeue: float | None = None
    blocker: str | None = None
    for condition, step in steps:
        if blocker is not None:
            verdicts.append(Verdict(condition, "Unknown", Reason.WAITING_FOR_DEPENDENCY, f"waiting for {blocker}"))
            continue
        result = guarded(condition, step)
        verdicts.append(result.verdict)
        status.update(result.status)
        if result.requeue is not None:
            requeue = result.requeue if requeue is None else min(requeue, result.requeue)
        if not result.done:
            blocker = condition
    return verdicts, status, requeue

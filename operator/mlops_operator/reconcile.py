"""One level-based reconcile for each kind, shared by create, update, resume and the drift timer.

Handlers parse the object, call these functions, and write back the status they return. Nothing here
knows about kopf; backends are chosen by the platform's `spec.backend`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_operator.api.v1alpha1 import MLOpsPlatform, ModelDeployment
from mlops_operator.api.v1alpha1.common import Condition, FailureRecord
from mlops_operator.backends.base import Backend, FatalError, Outcome, RetryableError
from mlops_operator.backends.resolve import blocked, blocked_outcome, check_resources_fit, resolve_instance_type
from mlops_operator.conditions import Reason, Verdict, apply_verdicts, now_rfc3339, summarize, transitions


@dataclass(frozen=True)
class StatusUpdate:
    """The status to write and the condition transitions to announce as Events."""

    status: dict[str, Any]
    transitions: list[Condition]
    requeue_after: float | None


def status_patch(current: Mapping[str, Any] | None, desired: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON merge patch from `current` to `desired` status; empty when nothing changed (no write)."""
    current = current or {}
    return {k: v for k, v in desired.items() if current.get(k) != v and not (v is None and k not in current)}


def reconcile_deployment(
    md: ModelDeployment, platform: MLOpsPlatform | None, backends: Mapping[str, Backend]
) -> Outcome:
    """Desired vs observed for one ModelDeployment, through its platform's backend."""
    if platform is None:
        return blocked_outcome(
            blocked(
                Reason.PLATFORM_NOT_FOUND,
                f"MLOpsPlatform {md.spec.platform_ref.name!r} does not exist; create it or fix spec.platformRef.name",
            )
        )
    backend = backends.get(platform.spec.backend)
    if backend is None:
        return blocked_outcome(
            blocked(
                Reason.BACKEND_UNSUPPORTED,
                f"platform {platform.metadata.name} uses backend {platform.spec.backend!r}, "
                "which this operator build does not run",
            )
        )
    instance_type = resolve_instance_type(md, platform)
    if isinstance(instance_type, Verdict):
        return blocked_outcome(instance_type)
    too_big = check_resources_fit(md, instance_type)
    if too_big is not None:
        return blocked_outcome(too_big)
    return _guarded(lambda: backend.reconcile_deployment(md, platform))


def reconcile_platform(platform: MLOpsPlatform, backends: Mapping[str, Backend]) -> Outcome:
    backend = backends.get(platform.spec.backend)
    if backend is None:
        return Outcome(
            [
                Verdict(
                    "InstanceTypesReady",
                    "False",
                    Reason.BACKEND_UNSUPPORTED,
                    f"backend {platform.spec.backend!r} is not available in this operator build",
                    "Error",
                )
            ]
        )
    return _guarded(lambda: backend.reconcile_platform(platform), condition="InstanceTypesReady")


def _guarded(step: Callable[[], Outcome], condition: str = "DeploymentReady") -> Outcome:
    """Classified backend errors become a verdict on `condition`; anything unexpected keeps its traceback."""
    try:
        return step()
    except RetryableError as exc:
        return Outcome([Verdict(condition, "False", exc.reason, str(exc), "Warning")], requeue_after=exc.delay)
    except FatalError as exc:
        return Outcome([Verdict(condition, "False", exc.reason, str(exc), "Error")])


def build_status(
    current: Mapping[str, Any] | None,
    outcome: Outcome,
    generation: int | None,
    ready_message: str,
    now: str | None = None,
) -> StatusUpdate:
    """The full status to write: verdicts become conditions (Ready summarised), plus the backend's fields."""
    now = now or now_rfc3339()
    before = [Condition.model_validate(c) for c in (current or {}).get("conditions", [])]
    ready = summarize(outcome.verdicts, ready_message)
    conditions = apply_verdicts(before, [ready, *outcome.verdicts], generation, now)
    status = {**{k: v for k, v in (current or {}).items() if k in _KEPT_FIELDS}, **outcome.status}
    status["observedGeneration"] = generation
    status["conditions"] = [c.to_wire() for c in conditions]
    status["lastFailure"] = _last_failure(current, ready, now)
    return StatusUpdate(status, transitions(before, conditions), outcome.requeue_after)


_KEPT_FIELDS = ("operations", "lastFailure")


def _last_failure(current: Mapping[str, Any] | None, ready: Verdict, now: str) -> dict[str, Any] | None:
    if ready.is_true or ready.severity == "Info":
        return None if ready.is_true else (current or {}).get("lastFailure")
    previous = (current or {}).get("lastFailure") or {}
    if previous.get("reason") == ready.reason and previous.get("message") == ready.message:
        return dict(previous)
    return FailureRecord(reason=ready.reason, message=ready.message, time=now).to_wire()

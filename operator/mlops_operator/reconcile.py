"""One level-based reconcile for each kind, and the one function that turns its outcome into status.

Handlers parse the object, call these functions, and write back the patch `build_status` returns.
Nothing here knows about kopf; backends are chosen by the platform's `spec.backend`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from mlops_operator import naming
from mlops_operator.api.v1alpha1 import MLOpsPlatform, ModelDeployment, ModelDeploymentStatus
from mlops_operator.api.v1alpha1.common import Condition, FailureRecord
from mlops_operator.backends.base import Backend, FatalError, Outcome, PartialStatus, RetryableError
from mlops_operator.backends.resolve import blocked, check_resources_fit, resolve_instance_type
from mlops_operator.conditions import (
    ConditionType,
    Reason,
    Verdict,
    apply_verdicts,
    condition_set,
    derived_verdicts,
    now_rfc3339,
    stalled,
    summarize,
    transitions,
    worth_an_event,
)
from mlops_operator.monitoring.drift_driver import DriftPass
from mlops_operator.monitoring.drift_machine import not_monitored
from mlops_operator.rollouts.driver import RolloutPass, with_rollout
from mlops_operator.rollouts.machine import no_rollout_verdict


@dataclass(frozen=True)
class StatusUpdate:
    """The merge patch to write (empty: no write), the condition transitions and those announced as Events."""

    patch: dict[str, Any]
    transitions: list[Condition]
    requeue_after: float | None
    conditions: tuple[Condition, ...] = ()  # the full set after this pass (objects-by-condition metric)
    announced: tuple[Condition, ...] = ()


RolloutRunner = Callable[[ModelDeployment], RolloutPass]
# Drift counts come from our scoring server (scoring/drift.py); Azure ML's inference server keeps none.
DRIFT_COUNTING_BACKENDS = frozenset({"native"})
DriftRunner = Callable[[ModelDeployment], DriftPass]


def reconcile_deployment(
    md: ModelDeployment,
    platform: MLOpsPlatform | None,
    backends: Mapping[str, Backend],
    rollouts: RolloutRunner | None = None,
    drift: DriftRunner | None = None,
) -> Outcome:
    """Desired vs observed for one ModelDeployment, through its platform's backend; a rollout's state is
    decided first, so the endpoint this pass renders already carries its traffic. Drift is checked last,
    and only once the deployment is served: it is news about the inputs, not a reason to stop serving."""
    problem = _platform_problem(md, platform, backends)
    if problem is not None:
        return Outcome([problem])
    assert platform is not None  # a missing platform is a problem reported above
    backend = backends[platform.spec.backend]
    instance_type = resolve_instance_type(md, platform)
    if isinstance(instance_type, Verdict):
        return Outcome([instance_type])
    too_big = check_resources_fit(md, instance_type)
    if too_big is not None:
        return Outcome([too_big])
    rollout = (rollouts or _without_rollouts)(md)
    served = with_rollout(md, rollout.status) if rollout.status else md
    outcome = _with_rollout(guarded(lambda: backend.reconcile_deployment(served, platform)), rollout)
    if md.spec.monitoring.drift is not None and platform.spec.backend not in DRIFT_COUNTING_BACKENDS:
        return _with_drift(outcome, _drift_unsupported(platform.spec.backend))
    return _with_drift(outcome, (drift or _without_drift)(md))


def _drift_unsupported(backend: str) -> DriftPass:
    message = (
        f"spec.monitoring.drift needs the native backend's scoring server, which counts inputs against the "
        f"profile; the {backend} backend's server does not. Remove it, or use Azure ML model monitoring"
    )
    return DriftPass(Verdict(ConditionType.DATA_DRIFT, "Unknown", Reason.FEATURE_UNSUPPORTED, message, "Warning"))


def _without_drift(md: ModelDeployment) -> DriftPass:
    if md.spec.monitoring.drift is None:
        return DriftPass(not_monitored())
    return DriftPass(Verdict(ConditionType.DATA_DRIFT, "Unknown", Reason.DRIFT_CHECK_FAILED, "no drift monitor"))


def _with_drift(outcome: Outcome, drift: DriftPass) -> Outcome:
    """The outcome plus the DataDrift verdict, status.drift when checked (or cleared), Events and next look."""
    status = outcome.status
    if drift.status is not None or drift.clear:
        base = status if isinstance(status, ModelDeploymentStatus) else ModelDeploymentStatus()
        status = base.model_copy()
        status.drift = drift.status
    requeue = outcome.requeue_after
    if drift.requeue_after is not None:
        requeue = min(requeue or drift.requeue_after, drift.requeue_after)
    verdicts = [*outcome.verdicts, drift.verdict]
    return replace(
        outcome, verdicts=verdicts, status=status, requeue_after=requeue, events=[*outcome.events, *drift.events]
    )


def _without_rollouts(md: ModelDeployment) -> RolloutPass:
    """For callers with no rollout driver (scripts, tests): a spec.rollout cannot progress without one."""
    if md.spec.rollout is None:
        return RolloutPass(no_rollout_verdict(), None, [], None, False)
    verdict = Verdict(ConditionType.ROLLED_OUT, "False", Reason.ROLLOUT_FAILED, "no rollout driver", "Error")
    return RolloutPass(verdict, None, [], None, False)


def _with_rollout(outcome: Outcome, rollout: RolloutPass) -> Outcome:
    """The backend's outcome plus the rollout's verdict, status, Events and next look (a new Outcome)."""
    status = outcome.status
    if rollout.status is not None or rollout.verdict.reason == Reason.NO_ROLLOUT:
        base = status if isinstance(status, ModelDeploymentStatus) else ModelDeploymentStatus()
        status = base.model_copy()
        status.rollout = rollout.status  # None clears a rollout whose spec.rollout was removed
    requeue = outcome.requeue_after
    if rollout.requeue_after is not None:
        requeue = min(requeue or rollout.requeue_after, rollout.requeue_after)
    consumed = [naming.ANNOTATION_ROLLOUT_ACTION] if rollout.consumed_action else []
    return replace(
        outcome,
        verdicts=[*outcome.verdicts, rollout.verdict],
        status=status,
        requeue_after=requeue,
        events=[*outcome.events, *rollout.events],
        consumed_annotations=[*outcome.consumed_annotations, *consumed],
    )


def _platform_problem(
    md: ModelDeployment, platform: MLOpsPlatform | None, backends: Mapping[str, Backend]
) -> Verdict | None:
    """Why the platform cannot serve this deployment: missing, being deleted, or on a backend not built in."""
    ref = md.spec.platform_ref.name
    if platform is None:
        return blocked(
            Reason.PLATFORM_NOT_FOUND, f"MLOpsPlatform {ref!r} does not exist; create it or fix spec.platformRef.name"
        )
    if platform.metadata.deletion_timestamp:
        return blocked(
            Reason.PLATFORM_TERMINATING,
            f"MLOpsPlatform {ref!r} is being deleted; move this deployment to another platform or delete it",
        )
    if platform.spec.backend not in backends:
        return blocked(
            Reason.BACKEND_UNSUPPORTED,
            f"platform {ref} uses backend {platform.spec.backend!r}, which this operator build does not run",
        )
    return None


def reconcile_platform(platform: MLOpsPlatform, backends: Mapping[str, Backend]) -> Outcome:
    backend = backends.get(platform.spec.backend)
    if backend is None:
        message = f"backend {platform.spec.backend!r} is not available in this operator build"
        return Outcome([blocked(Reason.BACKEND_UNSUPPORTED, message, ConditionType.INSTANCE_TYPES_READY)])
    return guarded(lambda: backend.reconcile_platform(platform), ConditionType.INSTANCE_TYPES_READY)


def guarded(step: Callable[[], Outcome], condition: ConditionType = ConditionType.DEPLOYMENT_READY) -> Outcome:
    """Classified backend errors become a verdict on `condition`; anything unexpected keeps its traceback."""
    try:
        return step()
    except RetryableError as exc:
        return Outcome([Verdict(condition, "False", exc.reason, str(exc), "Warning")], requeue_after=exc.delay)
    except FatalError as exc:
        return Outcome([Verdict(condition, "False", exc.reason, str(exc), "Error")])


def build_status(
    body: Mapping[str, Any], backend: str, outcome: Outcome, ready_message: str, now: str | None = None
) -> StatusUpdate:
    """The one place an outcome becomes status: the kind's conditions (stale ones dropped), `Ready`
    summarised, the backend's typed fields, `observedGeneration` and `lastFailure`, as a merge patch."""
    now = now or now_rfc3339()
    current: Mapping[str, Any] = body.get("status") or {}
    wanted = condition_set(str(body["kind"]), backend)
    before = [Condition.model_validate(c) for c in current.get("conditions", []) if c.get("type") in wanted]
    verdicts = derived_verdicts(wanted, outcome.verdicts)
    ready = summarize(verdicts, ready_message)
    conditions = apply_verdicts(before, [ready, *verdicts, stalled(ready)], body["metadata"].get("generation"), now)
    desired = _fields_set(outcome.status) if outcome.status else {}
    if {"conditions", "observedGeneration", "lastFailure"} & set(desired):
        raise ValueError("backends report verdicts; conditions, observedGeneration and lastFailure are derived")
    desired["observedGeneration"] = body["metadata"].get("generation")
    desired["conditions"] = [c.to_wire() for c in conditions]
    desired["lastFailure"] = _last_failure(current, ready, now)
    all_before = [Condition.model_validate(c) for c in current.get("conditions", [])]
    changed = transitions(all_before, conditions)
    return StatusUpdate(
        merge_patch(current, desired),
        changed,
        outcome.requeue_after,
        tuple(conditions),
        tuple(worth_an_event(all_before, changed)),
    )


def _fields_set(status: PartialStatus) -> dict[str, Any]:
    """The top-level fields the backend set, each in full (nested defaults included, so they compare)."""
    full = status.model_dump(by_alias=True, mode="json")
    aliases = {name: info.alias or name for name, info in type(status).model_fields.items()}
    return {aliases[name]: full[aliases[name]] for name in status.model_fields_set}


def merge_patch(current: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON merge patch from `current` to `desired` (top-level fields named in `desired` only); maps
    get nulls for the keys they lost. Empty when nothing changed, so an idle pass writes nothing."""
    patch: dict[str, Any] = {}
    for key, wanted in desired.items():
        old, value = current.get(key), wanted
        if old == wanted or (wanted is None and key not in current):
            continue
        if isinstance(value, dict) and isinstance(old, dict):
            value = {**{k: None for k in old if k not in value}, **{k: v for k, v in value.items() if old.get(k) != v}}
        patch[key] = value
    return patch


def _last_failure(current: Mapping[str, Any], ready: Verdict, now: str) -> dict[str, Any] | None:
    if ready.is_true or ready.severity == "Info":
        return None if ready.is_true else current.get("lastFailure")
    previous = current.get("lastFailure") or {}
    if previous.get("reason") == ready.reason and previous.get("message") == ready.message:
        return dict(previous)
    return FailureRecord(reason=ready.reason, message=ready.message, time=now).to_wire()

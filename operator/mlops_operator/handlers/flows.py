"""Parse -> reconcile -> status -> Events, for one object. Every handler and every wake-up comes here.

A pass never raises to its caller: a failure is written on the object (its kind's main condition,
reason `ReconcileError`, and an Event) and the object is woken again after a pause, whether the pass
ran in a kopf handler or was woken later.
"""

from __future__ import annotations

import contextvars
import logging
from typing import Any, cast

import kopf

from mlops_operator.api.problems import InvalidResourceError, parse_resource
from mlops_operator.api.v1alpha1 import API_VERSION, Condition, GlobalEndpoint, MLOpsPlatform, ModelDeployment
from mlops_operator.backends.base import ObjectKey, Outcome
from mlops_operator.backends.resolve import blocked
from mlops_operator.conditions import Announcement, ConditionType, Reason, Verdict
from mlops_operator.globalendpoint.reconcile import reconcile_global
from mlops_operator.handlers.context import OperatorContext
from mlops_operator.kube import KubeError
from mlops_operator.logs import reconcile_scope
from mlops_operator.reconcile import build_status, guarded, reconcile_deployment, reconcile_platform

log = logging.getLogger(__name__)
FAILURE_RETRY_SECONDS = 10.0
# The condition a failed or invalid pass is reported on, per kind.
MAIN_CONDITION = {
    "ModelDeployment": ConditionType.DEPLOYMENT_READY,
    "MLOpsPlatform": ConditionType.INSTANCE_TYPES_READY,
    "GlobalEndpoint": ConditionType.ROUTED,
}
DOING = {
    "ModelDeployment": "serving",
    "MLOpsPlatform": "offering instance types",
    "GlobalEndpoint": "serving from its regions",
}


def deployment_key(namespace: str | None, name: str) -> ObjectKey:
    return ObjectKey("ModelDeployment", namespace, name)


def global_endpoint_key(namespace: str | None, name: str) -> ObjectKey:
    return ObjectKey("GlobalEndpoint", namespace, name)


def platform_key(name: str) -> ObjectKey:
    return ObjectKey("MLOpsPlatform", None, name)


def look_now(ctx: OperatorContext, key: ObjectKey) -> None:
    """From a kopf handler: one pass in this thread (folded into a running one)."""
    ctx.waker.look_now(key, lambda: look(ctx, key))


def wake(ctx: OperatorContext, key: ObjectKey, delay: float = 0.0, cause: str = "sibling") -> None:
    """Look at `key` again soon: a sibling, a dependent or the object itself after a delay."""
    ctx.metrics.wakeups.labels(key.kind, cause).inc()
    ctx.waker.adopt_context(contextvars.copy_context())  # from the first kopf handler that wakes anything
    ctx.waker.wake(key, lambda: look(ctx, key), delay)


def wake_dependents(ctx: OperatorContext, key: ObjectKey, skip: ObjectKey | None = None) -> list[ObjectKey]:
    """Wake every ModelDeployment that references `key` (from the index: no listing)."""
    found = [d for d in ctx.dependents.of(key) if d != skip]
    for dependent in found:
        wake(ctx, dependent, cause="dependent")
    return found


def resync_seconds(ctx: OperatorContext, kind: str) -> float:
    """How long after a pass with nothing pending the object is looked at again (drift, expired things).

    The waker keeps one due time per object; kopf timers would keep an asyncio task, a live copy of the
    body and a minute-long wait on deletion per object (measured at 1,000 ModelDeployments)."""
    factor = 2 if kind == "MLOpsPlatform" else 1  # few, and their children are checked by every deployment
    return factor * ctx.settings.drift_interval_seconds


def look(ctx: OperatorContext, key: ObjectKey) -> float | None:
    """One pass over the object as the API server has it now; seconds until the next look, or None (gone)."""
    with reconcile_scope(key.kind, key.namespace, key.name), ctx.metrics.reconcile(key.kind) as outcome:
        try:
            body = ctx.kube.get(API_VERSION, key.kind, key.name, key.namespace)
        except Exception:  # the API server itself failed: no object to report it on, so try again soon
            log.exception("reading %s failed", key)
            outcome["result"] = "error"
            return FAILURE_RETRY_SECONDS
        if body is None or body["metadata"].get("deletionTimestamp"):
            outcome["result"] = "gone"
            ctx.metrics.objects.forget(key.kind, key.namespace, key.name)
            ctx.metrics.drift.forget(key.namespace, key.name)
            return None
        delay = _pass(ctx, key, body, outcome)
        if delay is None:
            return resync_seconds(ctx, key.kind)
        if outcome["result"] == "ok":
            outcome["result"] = "requeue"
        return delay


def _pass(ctx: OperatorContext, key: ObjectKey, body: dict[str, Any], outcome: dict[str, str]) -> float | None:
    try:
        if key.kind == "ModelDeployment":
            return _deployment_pass(ctx, body)
        if key.kind == "GlobalEndpoint":
            return _global_pass(ctx, body)
        return _platform_pass(ctx, body)
    except KubeError as exc:
        if _namespace_terminating(exc):
            log.debug("namespace of %s is terminating; nothing to reconcile", key)
            return None
        outcome["result"] = "error"
        return _surface_failure(ctx, body, exc)
    except Exception as exc:
        outcome["result"] = "error"
        return _surface_failure(ctx, body, exc)


def _surface_failure(ctx: OperatorContext, body: dict[str, Any], exc: Exception) -> float:
    """What a handler's failure would show: a condition with the error, and an Event; then retry."""
    log.exception("reconciling %s %s failed", body["kind"], body["metadata"]["name"])
    ctx.metrics.errors.labels(body["kind"], getattr(exc, "reason", None) or type(exc).__name__).inc()
    ctx.metrics.retries.labels(body["kind"]).inc()
    message = f"{type(exc).__name__}: {exc}; retrying in {FAILURE_RETRY_SECONDS:.0f}s"
    verdict = Verdict(MAIN_CONDITION[body["kind"]], "False", Reason.RECONCILE_ERROR, message[:2000], "Warning")
    try:
        write_outcome(ctx, body, backend_of(ctx, body), Outcome([verdict]))
    except Exception:  # the API server itself may be what failed; the retry will tell
        log.exception("could not record the failure on %s", body["metadata"]["name"])
    return FAILURE_RETRY_SECONDS


def _deployment_pass(ctx: OperatorContext, body: dict[str, Any]) -> float | None:
    try:
        md = parse_resource(body)
        assert isinstance(md, ModelDeployment)
    except InvalidResourceError as exc:
        return write_outcome(ctx, body, "native", Outcome([blocked(Reason.INVALID_SPEC, str(exc))]))
    platform = get_platform(ctx, md.spec.platform_ref.name)
    outcome = reconcile_deployment(
        md,
        platform,
        ctx.backends,
        ctx.rollouts.run if ctx.rollouts else None,
        ctx.drift.run if ctx.drift else None,
    )
    delay = write_outcome(ctx, body, platform.spec.backend if platform else "native", outcome)
    post_events(body, outcome.events)
    if outcome.consumed_annotations:
        patch = {"metadata": {"annotations": dict.fromkeys(outcome.consumed_annotations)}}
        ctx.kube.patch_merge(API_VERSION, "ModelDeployment", str(md.metadata.name), md.metadata.namespace, patch)
    for sibling in outcome.wake:
        wake(ctx, sibling)
    return delay


def _platform_pass(ctx: OperatorContext, body: dict[str, Any]) -> float | None:
    backend = backend_of(ctx, body)
    try:
        platform = parse_resource(body)
        assert isinstance(platform, MLOpsPlatform)
    except InvalidResourceError as exc:
        verdict = blocked(Reason.INVALID_SPEC, str(exc), ConditionType.INSTANCE_TYPES_READY)
        return write_outcome(ctx, body, backend, Outcome([verdict]))
    return write_outcome(ctx, body, backend, reconcile_platform(platform, ctx.backends))


def _global_pass(ctx: OperatorContext, body: dict[str, Any]) -> float | None:
    try:
        ge = parse_resource(body)
        assert isinstance(ge, GlobalEndpoint)
    except InvalidResourceError as exc:
        return write_outcome(
            ctx, body, "native", Outcome([blocked(Reason.INVALID_SPEC, str(exc), ConditionType.ROUTED)])
        )
    assert ctx.global_endpoints is not None
    deps = ctx.global_endpoints
    outcome = guarded(lambda: reconcile_global(ge, deps), ConditionType.ROUTED)
    delay = write_outcome(ctx, body, "native", outcome)
    post_events(body, outcome.events)
    return delay


def get_platform(ctx: OperatorContext, name: str) -> MLOpsPlatform | None:
    body = ctx.kube.get(API_VERSION, "MLOpsPlatform", name)
    if body is None:
        return None
    try:
        parsed = parse_resource(body)
    except InvalidResourceError:
        return None
    return parsed if isinstance(parsed, MLOpsPlatform) else None


def backend_of(ctx: OperatorContext, body: dict[str, Any]) -> str:
    """The backend whose condition set the object carries: a platform's own, a deployment's platform's."""
    if body["kind"] == "MLOpsPlatform":
        return str((body.get("spec") or {}).get("backend") or "native")
    ref = ((body.get("spec") or {}).get("platformRef") or {}).get("name")
    platform = ctx.kube.get(API_VERSION, "MLOpsPlatform", ref) if ref else None
    return str(((platform or {}).get("spec") or {}).get("backend") or "native")


def _namespace_terminating(exc: KubeError) -> bool:
    """Children cannot be created in a namespace being deleted; the parent is going away too."""
    return exc.status == 403 and "being terminated" in exc.message


def _announce(body: dict[str, Any], condition: Condition) -> None:
    """One Event per notable condition transition."""
    kind = "Warning" if condition.severity in ("Warning", "Error") else "Normal"
    message = f"{condition.type}={condition.status}: {condition.message}"
    post_events(body, [Announcement(kind, condition.reason, message)])


def post_events(body: dict[str, Any], events: list[Announcement]) -> None:
    """Events, queued to kopf's poster (best effort, never blocks)."""
    for event in events:
        message = event.message[:1000]
        try:
            kopf.event(cast(kopf.Body, body), type=event.type, reason=event.reason, message=message)
        except LookupError:  # a pass run outside a running operator (a script, a test) has no poster: log it
            log.info("%s %s: %s %s", body["kind"], body["metadata"]["name"], event.reason, message)


def write_outcome(ctx: OperatorContext, body: dict[str, Any], backend: str, outcome: Outcome) -> float | None:
    """Write the status patch (nothing when nothing changed) and an Event per notable condition transition."""
    meta = body["metadata"]
    update = build_status(body, backend, outcome, f"{body['kind']} is {DOING[body['kind']]}")
    conditions = {c.type: c.status for c in update.conditions}
    ctx.metrics.objects.record(body["kind"], meta.get("namespace"), meta["name"], conditions)
    if update.patch:
        ctx.kube.patch_merge(
            API_VERSION,
            body["kind"],
            meta["name"],
            meta.get("namespace"),
            {"status": update.patch},
            subresource="status",
        )
    for condition in update.announced:
        _announce(body, condition)
    if body["kind"] == "MLOpsPlatform" and update.transitions:
        wake_dependents(ctx, platform_key(meta["name"]))  # they re-check instance types, readiness, backend
    return update.requeue_after

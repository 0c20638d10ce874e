"""Finalizers: an object stays while its backend releases what it holds outside Kubernetes.

While ModelDeployments use a platform it waits (`DeletionBlocked`, `InUse`). When the cloud refuses a delete
(no permission, a lock, an operation that ends Failed), the object shows why (`DeletionBlocked`,
`AzureRefusedDeletion`, naming the resource, Azure's error and the fixes) and the finalizer retries slowly.
`mlops.dev/force-delete: "true"` releases a ModelDeployment at once, and a platform whose cleanup Azure
refused, without calling the cloud again; a Warning Event and a log line name what is left behind.

kopf does not re-run a deletion handler that is waiting out its retry delay when the object changes, so the
release is done by an event handler (`release_if_forced`), which sees every change: the annotation takes
effect as soon as it is written, not after the retry delay.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import kopf

from mlops_operator.api.problems import InvalidResourceError, parse_resource
from mlops_operator.api.v1alpha1 import API_VERSION, MLOpsPlatform, ModelDeployment
from mlops_operator.backends.base import DeletionRefusedError, FatalError, ObjectKey, Outcome, RetryableError
from mlops_operator.conditions import SUMMARIES, Announcement, ConditionType, Reason, Verdict, condition_set
from mlops_operator.handlers.context import OperatorContext
from mlops_operator.handlers.flows import (
    backend_of,
    deployment_key,
    get_platform,
    platform_key,
    post_events,
    wake_dependents,
    write_outcome,
)
from mlops_operator.kube import KubeError
from mlops_operator.naming import ANNOTATION_FORCE_DELETE, FINALIZER

log = logging.getLogger(__name__)
FATAL_FINALIZER_DELAY = 300.0
# What a human can do about a refusal, by how Azure's error was classified.
FIXES: Mapping[str, str] = {
    Reason.AZURE_AUTH_FAILED: "grant the operator's Azure identity permission to delete it",
    Reason.AZURE_RESOURCE_LOCKED: "remove the lock on it (or on its resource group)",
}
OTHER_FIX = "resolve the error in Azure (or delete the resource there)"


# ---- pure: messages and verdicts ---------------------------------------------------------------------------
def refusal_message(refused: DeletionRefusedError, retry_seconds: float) -> str:
    """Which resource Azure refused to delete, Azure's own error, and what releases the object."""
    fix = FIXES.get(refused.reason, OTHER_FIX)
    return (
        f"Azure refused to delete {refused.resource}: {refused.detail}; {fix}, or annotate this object "
        f'{ANNOTATION_FORCE_DELETE}="true" to release it and leave its Azure resources behind; '
        f"retrying every {retry_seconds:.0f}s"
    )


def leftovers_message(leftovers: list[str]) -> str:
    """The Event (and log line) of a forced release: exactly what stays outside Kubernetes."""
    if not leftovers:
        return f'released by {ANNOTATION_FORCE_DELETE}="true"; nothing was left behind outside Kubernetes'
    return (
        f'released by {ANNOTATION_FORCE_DELETE}="true" without deleting from Azure; left behind: '
        f"{'; '.join(leftovers)}. Delete them in Azure once it allows, or they keep costing"
    )


def deletion_blocked_message(users: list[ObjectKey], shown: int = 5) -> str:
    names = ", ".join(f"{u.namespace}/{u.name}" for u in users[:shown])
    more = f" and {len(users) - shown} more" if len(users) > shown else ""
    return (
        f"deletion waits for {len(users)} ModelDeployment(s) using this platform: {names}{more}; delete them "
        f"or move them to another platform, or annotate the platform {ANNOTATION_FORCE_DELETE}=true to delete "
        "it anyway"
    )


def with_kept_conditions(
    current: Iterable[Mapping[str, Any]], wanted: tuple[ConditionType, ...], verdict: Verdict
) -> list[Verdict]:
    """`verdict` and the object's other conditions as they were: a finalizer evaluates nothing else, so
    nothing else should turn Unknown while the object waits to go."""
    kept = [
        Verdict(ConditionType(c["type"]), c["status"], c["reason"], c.get("message", ""), c.get("severity", ""))
        for c in current
        if c.get("type") in wanted and c["type"] not in SUMMARIES and c["type"] != verdict.type
    ]
    return [verdict, *kept]


def is_forced(body: Mapping[str, Any]) -> bool:
    return (body["metadata"].get("annotations") or {}).get(ANNOTATION_FORCE_DELETE) == "true"


def azure_refused(body: Mapping[str, Any]) -> bool:
    """The object shows a refused deletion (what lets force-delete release a platform without cleanup)."""
    found = ((body.get("status") or {}).get("conditions")) or []
    return any(
        c.get("type") == ConditionType.DELETION_BLOCKED
        and c.get("status") == "True"
        and c.get("reason") == Reason.AZURE_REFUSED_DELETION
        for c in found
    )


# ---- finalizers --------------------------------------------------------------------------------------------
def finalize_deployment_body(ctx: OperatorContext, body: dict[str, Any]) -> None:
    """Re-route the endpoint without this deployment before it disappears, then wake who depended on it."""
    try:
        md = parse_resource(body)
    except InvalidResourceError:
        return
    assert isinstance(md, ModelDeployment)
    platform = get_platform(ctx, md.spec.platform_ref.name)
    backend = ctx.backends.get(platform.spec.backend if platform else "native")
    me = deployment_key(md.metadata.namespace, str(md.metadata.name))
    if backend is not None and not is_forced(body):  # forced: `release_if_forced` released it
        with ctx.waker.exclusive(me):  # no pass over this deployment may run while it is finalized
            _until_done(ctx, body, lambda: backend.finalize_deployment(md, platform))
    wake_dependents(ctx, ObjectKey("Endpoint", md.metadata.namespace, md.spec.endpoint.name), skip=me)


def finalize_platform_body(ctx: OperatorContext, body: dict[str, Any]) -> None:
    """Keep a platform while ModelDeployments use it (unless forced); then release what it holds outside."""
    name = body["metadata"]["name"]
    users = wake_dependents(ctx, platform_key(name))  # they show the platform is terminating at once
    if users and not is_forced(body):
        message = deletion_blocked_message(users)
        _show_blocked(ctx, body, Verdict(ConditionType.DELETION_BLOCKED, "True", Reason.IN_USE, message, "Warning"))
        raise kopf.TemporaryError(message, delay=ctx.settings.platform_deletion_recheck_seconds)
    if is_forced(body) and azure_refused(body):
        return  # `release_if_forced` released it
    try:
        platform = parse_resource(body)
    except InvalidResourceError:
        return
    assert isinstance(platform, MLOpsPlatform)
    backend = ctx.backends.get(platform.spec.backend)
    if backend is not None:
        _until_done(ctx, body, lambda: backend.finalize_platform(platform))


def _until_done(ctx: OperatorContext, body: dict[str, Any], step: Callable[[], None]) -> None:
    """Finalizers keep the object until the backend is done: "not yet" and failures are retried by kopf."""
    try:
        step()
    except RetryableError as exc:
        raise kopf.TemporaryError(f"{exc.reason}: {exc}", delay=exc.delay) from exc
    except FatalError as exc:  # needs a human, but giving up would leak cloud resources: retry slowly
        refused = (
            exc
            if isinstance(exc, DeletionRefusedError)
            else DeletionRefusedError("its Azure resources", str(exc), exc.reason)
        )
        message = refusal_message(refused, FATAL_FINALIZER_DELAY)
        log.warning("%s %s: %s", body["kind"], body["metadata"]["name"], message)
        blocked = Verdict(ConditionType.DELETION_BLOCKED, "True", Reason.AZURE_REFUSED_DELETION, message, "Error")
        _show_blocked(ctx, body, blocked)
        raise kopf.TemporaryError(f"{exc.reason}: {exc}", delay=FATAL_FINALIZER_DELAY) from exc


def _show_blocked(ctx: OperatorContext, body: dict[str, Any], verdict: Verdict) -> None:
    backend = backend_of(ctx, body)
    current = (body.get("status") or {}).get("conditions") or []
    write_outcome(
        ctx, body, backend, Outcome(with_kept_conditions(current, condition_set(body["kind"], backend), verdict))
    )


# ---- forced release ----------------------------------------------------------------------------------------
def release_if_forced(ctx: OperatorContext, body: dict[str, Any]) -> None:
    """Drop the finalizer of a forced object being deleted, naming what stays outside Kubernetes.

    A ModelDeployment is released whenever forced; a platform only once Azure refused its cleanup (before
    that, the annotation only skips the wait for its ModelDeployments, and the cleanup still runs)."""
    meta = body["metadata"]
    if not meta.get("deletionTimestamp") or FINALIZER not in (meta.get("finalizers") or []) or not is_forced(body):
        return
    if body["kind"] == "MLOpsPlatform" and not azure_refused(body):
        return
    leftovers = _leftovers(ctx, body)
    message = leftovers_message(leftovers)
    log.warning("%s %s/%s: %s", body["kind"], meta.get("namespace") or "", meta["name"], message)
    post_events(body, [Announcement("Warning" if leftovers else "Normal", Reason.FORCE_DELETED, message)])
    others = [f for f in meta["finalizers"] if f != FINALIZER]
    patch = {"metadata": {"finalizers": others, "resourceVersion": meta["resourceVersion"]}}
    try:
        ctx.kube.patch_merge(API_VERSION, body["kind"], meta["name"], meta.get("namespace"), patch)
    except KubeError as exc:
        if exc.status not in (404, 409):  # gone already, or changed: the next event looks again
            raise
    endpoint = ((body.get("spec") or {}).get("endpoint") or {}).get("name")
    if body["kind"] == "ModelDeployment" and endpoint:  # its siblings re-route the endpoint without it
        me = deployment_key(meta.get("namespace"), meta["name"])
        wake_dependents(ctx, ObjectKey("Endpoint", meta.get("namespace"), endpoint), skip=me)


def _leftovers(ctx: OperatorContext, body: dict[str, Any]) -> list[str]:
    try:
        parsed = parse_resource(body)
    except InvalidResourceError:
        return []
    if isinstance(parsed, ModelDeployment):
        platform = get_platform(ctx, parsed.spec.platform_ref.name)
        backend = ctx.backends.get(platform.spec.backend if platform else "native")
        return backend.deployment_leftovers(parsed, platform) if backend is not None else []
    assert isinstance(parsed, MLOpsPlatform)
    backend = ctx.backends.get(parsed.spec.backend)
    return backend.platform_leftovers(parsed) if backend is not None else []

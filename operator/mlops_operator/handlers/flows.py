"""Parse -> reconcile -> status -> Events, for one object. Handlers and child watches all come here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast

import kopf

from mlops_operator.api.problems import InvalidResourceError, parse_resource
from mlops_operator.api.v1alpha1 import API_VERSION, MLOpsPlatform, ModelDeployment
from mlops_operator.backends.base import FatalError, Outcome, RetryableError
from mlops_operator.backends.resolve import blocked, blocked_outcome
from mlops_operator.conditions import Reason
from mlops_operator.handlers.context import OperatorContext
from mlops_operator.kube import KubeError
from mlops_operator.reconcile import build_status, reconcile_deployment, reconcile_platform, status_patch

log = logging.getLogger(__name__)
FATAL_FINALIZER_DELAY = 300.0


def _invalid(exc: InvalidResourceError, condition: str = "DeploymentReady") -> Outcome:
    """Admission normally stops bad specs; this catches what only the full models can check."""
    return blocked_outcome(blocked(Reason.INVALID_SPEC, str(exc), condition))


def get_platform(ctx: OperatorContext, name: str) -> MLOpsPlatform | None:
    body = ctx.kube.get(API_VERSION, "MLOpsPlatform", name)
    if body is None:
        return None
    try:
        parsed = parse_resource(body)
    except InvalidResourceError:
        return None
    return parsed if isinstance(parsed, MLOpsPlatform) else None


def reconcile_deployment_body(ctx: OperatorContext, body: dict[str, Any]) -> float | None:
    """Reconcile one ModelDeployment body; returns seconds until it should be looked at again."""
    if body["metadata"].get("deletionTimestamp"):
        return None
    try:
        md = parse_resource(body)
        assert isinstance(md, ModelDeployment)
    except InvalidResourceError as exc:
        return _write(ctx, body, _invalid(exc), "serving")
    platform = get_platform(ctx, md.spec.platform_ref.name)
    outcome = reconcile_deployment(md, platform, ctx.backends)
    return _write(ctx, body, outcome, "serving")


def reconcile_deployment_by_name(ctx: OperatorContext, namespace: str, name: str) -> None:
    """Used by child watches: fetch the parent fresh and reconcile it (level-based, so always safe)."""

    key = f"{namespace}/{name}"

    def step() -> None:
        body = ctx.kube.get(API_VERSION, "ModelDeployment", name, namespace)
        if body is None:
            return
        try:
            delay = reconcile_deployment_body(ctx, body)
        except KubeError as exc:
            if not _namespace_terminating(exc):
                raise
            log.debug("namespace %s is terminating; nothing to reconcile for %s", namespace, name)
            return
        if delay is not None:
            ctx.requeuer.schedule(key, delay, lambda: reconcile_deployment_by_name(ctx, namespace, name))

    ctx.coalescer.run(key, step)


def _namespace_terminating(exc: KubeError) -> bool:
    """Children cannot be created in a namespace being deleted; the parent is going away too."""
    return exc.status == 403 and "being terminated" in exc.message


def finalize_deployment_body(ctx: OperatorContext, body: dict[str, Any]) -> None:
    """Re-route the endpoint without this deployment before it disappears."""
    try:
        md = parse_resource(body)
    except InvalidResourceError:
        return
    assert isinstance(md, ModelDeployment)
    platform = get_platform(ctx, md.spec.platform_ref.name)
    backend = ctx.backends.get(platform.spec.backend if platform else "native")
    if backend is not None:
        _until_done(lambda: backend.finalize_deployment(md, platform))


def finalize_platform_body(ctx: OperatorContext, body: dict[str, Any]) -> None:
    """Release the platform's resources outside Kubernetes (per its reconcile policy) before it goes."""
    try:
        platform = parse_resource(body)
    except InvalidResourceError:
        return
    assert isinstance(platform, MLOpsPlatform)
    backend = ctx.backends.get(platform.spec.backend)
    if backend is not None:
        _until_done(lambda: backend.finalize_platform(platform))


def _until_done(step: Callable[[], None]) -> None:
    """Finalizers keep the object until the backend is done: "not yet" and failures are retried by kopf."""
    try:
        step()
    except RetryableError as exc:
        raise kopf.TemporaryError(f"{exc.reason}: {exc}", delay=exc.delay) from exc
    except FatalError as exc:  # needs a human, but giving up would leak cloud resources: retry slowly
        raise kopf.TemporaryError(f"{exc.reason}: {exc}", delay=FATAL_FINALIZER_DELAY) from exc


def reconcile_platform_by_name(ctx: OperatorContext, name: str) -> None:
    """Fetch the platform fresh and reconcile it; requeue while the backend asks for another look."""
    key = f"MLOpsPlatform/{name}"

    def step() -> None:
        body = ctx.kube.get(API_VERSION, "MLOpsPlatform", name)
        if body is None or body["metadata"].get("deletionTimestamp"):
            return
        delay = reconcile_platform_body(ctx, body)
        if delay is not None:
            ctx.requeuer.schedule(key, delay, lambda: reconcile_platform_by_name(ctx, name))

    ctx.coalescer.run(key, step)


def reconcile_platform_body(ctx: OperatorContext, body: dict[str, Any]) -> float | None:
    try:
        platform = parse_resource(body)
        assert isinstance(platform, MLOpsPlatform)
    except InvalidResourceError as exc:
        return _write(ctx, body, _invalid(exc, "InstanceTypesReady"), "offering instance types")
    outcome = reconcile_platform(platform, ctx.backends)
    delay = _write(ctx, body, outcome, "offering instance types")
    _reconcile_dependents(ctx, platform)
    return delay


def _reconcile_dependents(ctx: OperatorContext, platform: MLOpsPlatform) -> None:
    """Deployments on this platform re-check instance types and backend whenever the platform changes."""
    for item in ctx.kube.list(API_VERSION, "ModelDeployment"):
        if item.get("spec", {}).get("platformRef", {}).get("name") == platform.metadata.name:
            reconcile_deployment_by_name(ctx, item["metadata"]["namespace"], item["metadata"]["name"])


def _write(ctx: OperatorContext, body: dict[str, Any], outcome: Outcome, doing: str) -> float | None:
    meta = body["metadata"]
    current = body.get("status") or {}
    update = build_status(current, outcome, meta.get("generation"), f"{body['kind']} is {doing}")
    patch = status_patch(current, update.status)
    if patch:
        ctx.kube.patch_merge(
            API_VERSION, body["kind"], meta["name"], meta.get("namespace"), {"status": patch}, subresource="status"
        )
    for condition in update.transitions:
        kopf.event(
            cast(kopf.Body, body),  # kopf reads only metadata and kind from it
            type="Warning" if condition.severity in ("Warning", "Error") else "Normal",
            reason=condition.reason,
            message=f"{condition.type}={condition.status}: {condition.message}"[:1000],
        )
    return update.requeue_after

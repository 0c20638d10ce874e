"""Reconcile passes, their failures and the objects' condition states show on the operator's own registry."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry

from mlops_operator.backends.base import Outcome
from mlops_operator.config import OperatorSettings
from mlops_operator.handlers.context import OperatorContext
from mlops_operator.handlers.flows import deployment_key, look
from mlops_operator.metrics import OperatorMetrics

STATES = ("True", "False", "Unknown")
SMALL = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
PLATFORM = {
    "apiVersion": "mlops.dev/v1alpha1",
    "kind": "MLOpsPlatform",
    "metadata": {"name": "local"},
    "spec": {"instanceTypes": [{"name": "small", "resources": SMALL}], "defaultInstanceType": "small"},
}
BLUE = {
    "apiVersion": "mlops.dev/v1alpha1",
    "kind": "ModelDeployment",
    "metadata": {"name": "blue", "namespace": "ml", "generation": 1},
    "spec": {
        "platformRef": {"name": "local"},
        "endpoint": {"name": "scoring"},
        "model": {"name": "m", "version": "1", "uri": "configmap://m"},
    },
}


class FakeKube:
    def __init__(self, deployment: dict[str, Any] | None) -> None:
        self.deployment = deployment

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        return {"MLOpsPlatform": PLATFORM, "ModelDeployment": self.deployment}.get(kind)

    def patch_merge(self, *args: Any, subresource: str = "") -> dict[str, Any]:
        return {}


class BrokenBackend:
    def reconcile_deployment(self, md: Any, platform: Any) -> Outcome:
        raise KeyError("spec.surprise")


class IdleBackend:
    def reconcile_deployment(self, md: Any, platform: Any) -> Outcome:
        return Outcome([])


def context(kube: FakeKube, backend: Any) -> OperatorContext:
    metrics = OperatorMetrics(CollectorRegistry())
    return OperatorContext(kube=kube, settings=OperatorSettings(), backends={"native": backend}, metrics=metrics)


def sample(ctx: OperatorContext, name: str, **labels: str) -> float:
    return ctx.metrics.registry.get_sample_value(name, labels) or 0.0


def test_a_failing_pass_counts_as_an_error_with_its_reason_and_a_retry() -> None:
    ctx = context(FakeKube(BLUE), BrokenBackend())

    look(ctx, deployment_key("ml", "blue"))

    assert sample(ctx, "mlops_operator_reconciles_total", kind="ModelDeployment", result="error") == 1
    assert sample(ctx, "mlops_operator_reconcile_errors_total", kind="ModelDeployment", reason="KeyError") == 1
    assert sample(ctx, "mlops_operator_retries_total", kind="ModelDeployment") == 1
    assert sample(ctx, "mlops_operator_reconcile_duration_seconds_count", kind="ModelDeployment", result="error") == 1
    ctx.waker.stop()


def test_a_clean_pass_counts_as_ok_and_its_conditions_are_counted_by_state() -> None:
    ctx = context(FakeKube(BLUE), IdleBackend())

    look(ctx, deployment_key("ml", "blue"))
    look(ctx, deployment_key("ml", "blue"))

    assert sample(ctx, "mlops_operator_reconciles_total", kind="ModelDeployment", result="ok") == 2
    ready = [sample(ctx, "mlops_operator_objects", kind="ModelDeployment", condition="Ready", status=s) for s in STATES]
    assert sorted(ready) == [0, 0, 1]  # one object, counted once whatever its state
    ready_true = sample(ctx, "mlops_operator_objects", kind="ModelDeployment", condition="Ready", status="True")
    blue = {"kind": "ModelDeployment", "namespace": "ml", "name": "blue"}
    assert ctx.metrics.registry.get_sample_value("mlops_operator_object_ready", blue) == ready_true
    ctx.waker.stop()


def test_an_object_that_is_gone_is_no_longer_counted_by_condition() -> None:
    kube = FakeKube(BLUE)
    ctx = context(kube, IdleBackend())
    look(ctx, deployment_key("ml", "blue"))

    kube.deployment = None
    look(ctx, deployment_key("ml", "blue"))

    assert sample(ctx, "mlops_operator_reconciles_total", kind="ModelDeployment", result="gone") == 1
    ready = [sample(ctx, "mlops_operator_objects", kind="ModelDeployment", condition="Ready", status=s) for s in STATES]
    assert ready == [0, 0, 0]
    assert (
        ctx.metrics.registry.get_sample_value(
            "mlops_operator_object_ready", {"kind": "ModelDeployment", "namespace": "ml", "name": "blue"}
        )
        is None
    )
    ctx.waker.stop()


def test_two_contexts_never_share_counters() -> None:
    first, second = context(FakeKube(BLUE), IdleBackend()), context(FakeKube(BLUE), IdleBackend())

    look(first, deployment_key("ml", "blue"))

    assert sample(second, "mlops_operator_reconciles_total", kind="ModelDeployment", result="ok") == 0
    first.waker.stop()
    second.waker.stop()

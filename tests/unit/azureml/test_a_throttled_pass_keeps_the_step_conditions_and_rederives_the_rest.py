"""While the subscription is throttled a pass calls nothing and carries the object's step conditions over,
the first step saying why.

It used to carry every condition but Ready, Stalled and Progressing included; the status builder refuses a
summary among a pass's verdicts, so each throttled pass ended as ReconcileError (found by the churn-with-
faults test, tests/integration/faults)."""

from __future__ import annotations

from typing import Any

from mlops_operator.api.v1alpha1 import Condition, MLOpsPlatform
from mlops_operator.backends.azureml.backend import AzureMLBackend, carried_verdicts, kept_where_throttling_cut
from mlops_operator.backends.base import Outcome
from mlops_operator.conditions import ConditionType, Reason, Verdict
from mlops_operator.config import OperatorSettings
from mlops_operator.reconcile import build_status

THROTTLED = Verdict(ConditionType.MODEL_READY, "False", Reason.AZURE_THROTTLED, "ARM TooManyRequests", "Warning")
NOW = "2026-12-02T06:00:00Z"


def _body(status: dict[str, Any]) -> dict[str, Any]:
    meta = {"name": "blue", "namespace": "churn", "generation": 3}
    return {"apiVersion": "mlops.dev/v1alpha1", "kind": "ModelDeployment", "metadata": meta, "status": status}


def _written(outcome: Outcome, status: dict[str, Any]) -> dict[str, Any]:
    return {**status, **build_status(_body(status), "azureml", outcome, "serving", now=NOW).patch}


def test_a_throttled_pass_over_a_throttled_deployment_writes_the_same_conditions() -> None:
    first = _written(Outcome([THROTTLED], requeue_after=4), {})
    current = [Condition.model_validate(c) for c in first["conditions"]]
    assert {"Ready", "Stalled", "Progressing"} <= {c.type for c in current}

    carried = carried_verdicts(current)
    again = _written(Outcome(carried, requeue_after=3), first)

    assert {v.type for v in carried}.isdisjoint({"Ready", "Stalled", "Progressing", "Degraded", "DeletionBlocked"})
    assert again["conditions"] == first["conditions"]
    ready = next(c for c in again["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "AzureThrottled")


SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
PLATFORM_STEPS = ("WorkspaceReady", "NodePoolReady", "ExtensionReady", "ComputeAttached", "InstanceTypesReady")


def _ready_platform() -> MLOpsPlatform:
    azure = {"subscriptionId": SUBSCRIPTION, "resourceGroup": "rg-mlops", "workspace": {"name": "mlw-demo"},
             "cluster": {"name": "aks-mlops"}, "extension": {"allowInsecureConnections": True}}  # fmt: skip
    amounts = {"cpu": "1", "memory": "1Gi"}
    small = {"name": "small", "resources": {"requests": amounts, "limits": amounts}}
    conditions = [
        {"type": t, "status": "True", "reason": t, "lastTransitionTime": NOW} for t in ("Ready", *PLATFORM_STEPS)
    ]
    return MLOpsPlatform.model_validate(
        {
            "metadata": {"name": "aml", "generation": 1},
            "spec": {"backend": "azureml", "azure": azure, "instanceTypes": [small]},
            "status": {"conditions": conditions},
        }
    )


def test_a_ready_platform_throttled_keeps_its_compute_attached_for_its_deployments() -> None:
    """Replacing every condition with the throttled one turned ComputeAttached Unknown: each deployment on the
    platform then waited (PlatformNotReady) until the platform's next pass (the churn test saw ~30 s)."""
    no_cluster: Any = None
    backend = AzureMLBackend(no_cluster, OperatorSettings())
    backend._note_throttling(SUBSCRIPTION, 30.0, "ARM TooManyRequests")

    outcome = backend.reconcile_platform(_ready_platform())

    found = {v.type: (v.status, v.reason) for v in outcome.verdicts}
    assert found["WorkspaceReady"] == ("False", "AzureThrottled")
    assert found["ComputeAttached"] == ("True", "ComputeAttached")
    assert outcome.requeue_after is not None


def test_a_platform_pass_cut_by_a_429_keeps_its_later_steps_as_they_were() -> None:
    """Cut at its first step (its own 429, or another pass's), a platform pass used to leave ComputeAttached
    Unknown (WaitingForDependency), with the same effect on its deployments as above."""
    platform = _ready_platform()
    cut = [Verdict(ConditionType.WORKSPACE_READY, "False", Reason.AZURE_THROTTLED, "ARM TooManyRequests", "Warning")]
    cut += [Verdict(ConditionType(t), "Unknown", Reason.WAITING_FOR_DEPENDENCY, "waiting") for t in PLATFORM_STEPS[1:]]

    kept = kept_where_throttling_cut(cut, platform.status.conditions if platform.status else [])

    found = {v.type: (v.status, v.reason) for v in kept}
    assert found["WorkspaceReady"] == ("False", "AzureThrottled")
    assert found["ComputeAttached"] == ("True", "ComputeAttached")

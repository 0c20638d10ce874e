"""While the subscription is throttled a pass calls nothing and carries the object's step conditions over.

It used to carry every condition but Ready, Stalled and Progressing included; the status builder refuses a
summary among a pass's verdicts, so each throttled pass ended as ReconcileError (found by the churn-with-
faults test, tests/integration/faults)."""

from __future__ import annotations

from typing import Any

from mlops_operator.api.v1alpha1 import Condition
from mlops_operator.backends.azureml.backend import carried_verdicts
from mlops_operator.backends.base import Outcome
from mlops_operator.conditions import ConditionType, Reason, Verdict
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

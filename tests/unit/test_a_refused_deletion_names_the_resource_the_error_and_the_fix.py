"""What a refused deletion shows on status, and what a forced release says it left behind: pure messages."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_operator.backends.base import DeletionRefusedError, Outcome
from mlops_operator.conditions import ConditionType, Reason, Verdict, condition_set
from mlops_operator.handlers.deletion import (
    azure_refused,
    is_forced,
    leftovers_message,
    refusal_message,
    with_kept_conditions,
)
from mlops_operator.reconcile import build_status

T0 = "2026-01-01T00:00:00Z"
DEPLOYMENT = "online deployment blue of endpoint scoring in workspace rg-ml/mlw-demo"
ENDPOINT = "online endpoint scoring in workspace rg-ml/mlw-demo"


@pytest.mark.parametrize(
    ("reason", "fix"),
    [
        (Reason.AZURE_AUTH_FAILED, "grant the operator's Azure identity permission to delete it"),
        (Reason.AZURE_RESOURCE_LOCKED, "remove the lock on it (or on its resource group)"),
        (Reason.AZURE_OPERATION_FAILED, "resolve the error in Azure (or delete the resource there)"),
    ],
)
def test_a_refusal_names_the_resource_azures_error_the_fix_and_the_annotation(reason: Reason, fix: str) -> None:
    refused = DeletionRefusedError(DEPLOYMENT, "ARM SomeCode: Azure said no", reason)
    message = refusal_message(refused, 300)
    assert message.startswith(f"Azure refused to delete {DEPLOYMENT}: ARM SomeCode: Azure said no; {fix}, ")
    assert 'annotate this object mlops.dev/force-delete="true" to release it' in message
    assert message.endswith("retrying every 300s")


def test_a_forced_release_lists_exactly_what_it_left_in_azure() -> None:
    message = leftovers_message([DEPLOYMENT, ENDPOINT])
    assert f"left behind: {DEPLOYMENT}; {ENDPOINT}." in message
    assert "nothing was left behind" in leftovers_message([])


def _conditions(**reasons: Any) -> list[dict[str, Any]]:
    return [
        {"type": t, "status": s, "reason": r, "message": "", "lastTransitionTime": T0, "severity": ""}
        for t, (s, r) in reasons.items()
    ]


CURRENT = _conditions(
    Ready=("True", "Ready"),
    ModelReady=("True", "ModelAvailable"),
    EndpointReady=("True", "EndpointReady"),
    DeploymentReady=("True", "DeploymentAvailable"),
    TrafficApplied=("True", "TrafficApplied"),
    DeletionBlocked=("False", "NotDeleting"),
    Stalled=("False", "Healthy"),
)


def test_a_refused_deployment_keeps_its_other_conditions_and_is_not_ready_and_stalled() -> None:
    blocked = Verdict(ConditionType.DELETION_BLOCKED, "True", Reason.AZURE_REFUSED_DELETION, "no", "Error")
    verdicts = with_kept_conditions(CURRENT, condition_set("ModelDeployment", "azureml"), blocked)
    assert [v.type for v in verdicts] == [
        "DeletionBlocked",
        "ModelReady",
        "EndpointReady",
        "DeploymentReady",
        "TrafficApplied",
    ]

    body = {"kind": "ModelDeployment", "metadata": {"name": "blue", "generation": 1}, "status": {"conditions": CURRENT}}
    update = build_status(body, "azureml", Outcome(verdicts), "serving", now=T0)

    found = {c.type: (c.status, c.reason) for c in update.conditions}
    assert found["Ready"] == ("False", "AzureRefusedDeletion")
    assert found["Stalled"] == ("True", "AzureRefusedDeletion")
    assert found["DeletionBlocked"] == ("True", "AzureRefusedDeletion")
    assert found["DeploymentReady"] == ("True", "DeploymentAvailable")
    assert [(c.type, c.severity) for c in update.announced if c.type == "DeletionBlocked"] == [
        ("DeletionBlocked", "Error")
    ]


def test_only_a_true_azure_refusal_lets_force_delete_skip_a_platforms_cleanup() -> None:
    refused = _conditions(DeletionBlocked=("True", "AzureRefusedDeletion"))
    in_use = _conditions(DeletionBlocked=("True", "InUse"))
    assert azure_refused({"status": {"conditions": refused}})
    assert not azure_refused({"status": {"conditions": in_use}})
    assert not azure_refused({})


def test_only_the_string_true_forces() -> None:
    assert is_forced({"metadata": {"annotations": {"mlops.dev/force-delete": "true"}}})
    assert not is_forced({"metadata": {"annotations": {"mlops.dev/force-delete": "yes"}}})
    assert not is_forced({"metadata": {}})

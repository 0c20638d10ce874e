"""Condition sets are declared once per kind: every pass writes exactly them, derived where not reported."""

from __future__ import annotations

import pytest

from mlops_operator.api.v1alpha1 import MLOpsPlatform, ModelDeployment
from mlops_operator.backends.base import Outcome
from mlops_operator.conditions import CONDITION_SETS, ConditionType, Verdict, condition_set
from mlops_operator.reconcile import build_status, reconcile_deployment

T0 = "2026-01-01T00:00:00Z"
DEPLOYMENT_SET = [
    "Ready",
    "ModelReady",
    "EndpointReady",
    "DeploymentReady",
    "TrafficApplied",
    "RolledOut",
    "DataDrift",
    "Progressing",
    "Degraded",
    "DeletionBlocked",
    "Stalled",
]
NATIVE_PLATFORM_SET = ["Ready", "InstanceTypesReady", "DeletionBlocked", "Stalled"]
AZUREML_PLATFORM_SET = [
    "Ready",
    "WorkspaceReady",
    "NodePoolReady",
    "ExtensionReady",
    "ComputeAttached",
    "InstanceTypesReady",
    "DeletionBlocked",
    "Stalled",
]
# What a ModelDeployment carried before the status contract: conditions nothing writes any more.
STALE_CONDITIONS = [
    {"type": "Progressing", "status": "Unknown", "reason": "PlatformNotFound", "lastTransitionTime": T0},
    {"type": "Degraded", "status": "Unknown", "reason": "PlatformNotFound", "lastTransitionTime": T0},
    {"type": "WorkspaceReady", "status": "True", "reason": "WorkspaceReady", "lastTransitionTime": T0},
    {"type": "SomethingOld", "status": "True", "reason": "Whatever", "lastTransitionTime": T0},
]


def _types(kind: str, backend: str, outcome: Outcome, conditions: list | None = None) -> list[str]:
    body = {"kind": kind, "metadata": {"name": "x", "generation": 1}, "status": {"conditions": conditions or []}}
    return [c["type"] for c in build_status(body, backend, outcome, "ok", now=T0).patch["conditions"]]


@pytest.mark.parametrize(
    ("kind", "backend", "expected"),
    [
        ("ModelDeployment", "native", DEPLOYMENT_SET),
        ("ModelDeployment", "azureml", DEPLOYMENT_SET),
        ("MLOpsPlatform", "native", NATIVE_PLATFORM_SET),
        ("MLOpsPlatform", "azureml", AZUREML_PLATFORM_SET),
    ],
)
def test_each_kind_and_backend_declares_its_conditions_with_ready_first(
    kind: str, backend: str, expected: list
) -> None:
    assert [str(t) for t in condition_set(kind, backend)] == expected
    assert _types(kind, backend, Outcome([])) == expected


def test_every_declared_set_starts_with_ready_and_names_only_known_types() -> None:
    for conditions in CONDITION_SETS.values():
        assert conditions[0] == ConditionType.READY
        assert len(set(conditions)) == len(conditions)


def test_a_deployment_blocked_before_its_backend_runs_carries_exactly_its_kinds_conditions() -> None:
    md = ModelDeployment.model_validate(
        {
            "metadata": {"name": "blue", "namespace": "ns", "generation": 2},
            "spec": {
                "platformRef": {"name": "gone"},
                "endpoint": {"name": "scoring"},
                "model": {"name": "m", "version": "1"},
            },
        }
    )
    outcome = reconcile_deployment(md, None, {})
    body = {"kind": "ModelDeployment", "metadata": {"name": "blue", "generation": 2}, "status": {}}
    body["status"]["conditions"] = STALE_CONDITIONS

    conditions = build_status(body, "native", outcome, "serving", now=T0).patch["conditions"]

    assert [c["type"] for c in conditions] == DEPLOYMENT_SET
    by_type = {c["type"]: c for c in conditions}
    assert (by_type["Ready"]["status"], by_type["Ready"]["reason"]) == ("False", "PlatformNotFound")
    assert (by_type["Degraded"]["status"], by_type["Degraded"]["reason"]) == ("True", "PlatformNotFound")
    assert (by_type["Progressing"]["status"], by_type["Progressing"]["reason"]) == ("False", "Stable")
    assert by_type["ModelReady"]["status"] == "Unknown"
    assert by_type["ModelReady"]["message"] == "not evaluated: DeploymentReady is PlatformNotFound"
    assert all(c["observedGeneration"] == 2 for c in conditions)


def test_a_pass_that_is_waiting_shows_progressing_and_not_degraded() -> None:
    waiting = Verdict(ConditionType.DEPLOYMENT_READY, "False", "AzureOperationInProgress", "creating", "Info")
    body = {"kind": "ModelDeployment", "metadata": {"name": "blue"}, "status": {}}
    conditions = build_status(body, "azureml", Outcome([waiting]), "serving", now=T0).patch["conditions"]
    by_type = {c["type"]: (c["status"], c["reason"]) for c in conditions}
    assert by_type["Progressing"] == ("True", "AzureOperationInProgress")
    assert by_type["Degraded"] == ("False", "Healthy")


def test_a_backend_reporting_a_condition_outside_its_kinds_set_is_a_bug_that_raises() -> None:
    stray = Verdict(ConditionType.WORKSPACE_READY, "True", "WorkspaceReady")
    with pytest.raises(ValueError, match="WorkspaceReady"):
        _types("ModelDeployment", "native", Outcome([stray]))


def test_a_native_platform_drops_the_azure_conditions_it_never_reports() -> None:
    platform = MLOpsPlatform.model_validate({"metadata": {"name": "p"}, "spec": {"backend": "native"}})
    stale = [{"type": "ComputeAttached", "status": "True", "reason": "ComputeAttached", "lastTransitionTime": T0}]
    ok = Verdict(ConditionType.INSTANCE_TYPES_READY, "True", "InstanceTypesValid")
    assert _types(platform.kind, platform.spec.backend, Outcome([ok]), stale) == NATIVE_PLATFORM_SET

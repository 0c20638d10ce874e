"""reconcile.py with a fake backend: placement problems, status building and write avoidance."""

from __future__ import annotations

from mlops_operator.api.v1alpha1 import MLOpsPlatform, ModelDeployment, ModelDeploymentStatus
from mlops_operator.backends.base import Outcome, RetryableError
from mlops_operator.conditions import ConditionType, Verdict
from mlops_operator.reconcile import build_status, reconcile_deployment

PLATFORM = MLOpsPlatform.model_validate(
    {
        "metadata": {"name": "local"},
        "spec": {
            "instanceTypes": [
                {
                    "name": "small",
                    "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
                }
            ]
        },
    }
)


def md(**spec) -> ModelDeployment:
    return ModelDeployment.model_validate(
        {
            "metadata": {"name": "blue", "namespace": "ns", "generation": 3},
            "spec": {
                "platformRef": {"name": "local"},
                "endpoint": {"name": "ep1"},
                "model": {"name": "m", "version": "1", "uri": "configmap://m"},
                **spec,
            },
        }
    )


class FakeBackend:
    def __init__(self, outcome: Outcome | Exception) -> None:
        self.outcome = outcome
        self.calls = 0

    def reconcile_platform(self, platform):
        raise NotImplementedError

    def reconcile_deployment(self, md, platform):
        self.calls += 1
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome

    def finalize_deployment(self, md, platform):
        raise NotImplementedError


HEALTHY = Outcome(
    [
        Verdict(ConditionType.MODEL_READY, "True", "ModelAvailable"),
        Verdict(ConditionType.ENDPOINT_READY, "True", "EndpointReady"),
        Verdict(ConditionType.DEPLOYMENT_READY, "True", "DeploymentAvailable"),
        Verdict(ConditionType.TRAFFIC_APPLIED, "True", "TrafficApplied"),
        Verdict(ConditionType.ROLLED_OUT, "True", "NoRollout"),
        Verdict(ConditionType.DEGRADED, "False", "Healthy"),
    ],
    status=ModelDeploymentStatus(scoring_uri="http://x/score"),
)
T0 = "2026-01-01T00:00:00Z"


def body(status: dict | None = None, generation: int = 3) -> dict:
    return {"kind": "ModelDeployment", "metadata": {"name": "blue", "generation": generation}, "status": status or {}}


def stored(patch: dict, before: dict | None = None) -> dict:
    """What the API server keeps after a merge patch (nulls remove)."""
    merged = {**(before or {}), **patch}
    return {k: v for k, v in merged.items() if v is not None}


def reasons(outcome: Outcome) -> dict[str, str]:
    return {v.type: v.reason for v in outcome.verdicts}


def test_a_missing_platform_blocks_the_deployment_without_calling_the_backend():
    backend = FakeBackend(HEALTHY)
    outcome = reconcile_deployment(md(instanceType="small"), None, {"native": backend})
    assert reasons(outcome) == {"DeploymentReady": "PlatformNotFound"}
    assert backend.calls == 0


def test_a_platform_being_deleted_blocks_the_deployment_with_its_own_reason():
    going = PLATFORM.model_copy(update={"metadata": PLATFORM.metadata.model_copy(update={"deletion_timestamp": T0})})
    outcome = reconcile_deployment(md(instanceType="small"), going, {"native": FakeBackend(HEALTHY)})
    assert reasons(outcome) == {"DeploymentReady": "PlatformTerminating"}


def test_an_unknown_instance_type_names_what_the_platform_offers():
    outcome = reconcile_deployment(md(instanceType="huge"), PLATFORM, {"native": FakeBackend(HEALTHY)})
    [blocked] = [v for v in outcome.verdicts if v.type == "DeploymentReady"]
    assert blocked.reason == "InstanceTypeNotFound"
    assert "'huge' is not offered by platform local; use one of ['small']" in blocked.message


def test_no_instance_type_and_no_platform_default_is_reported():
    outcome = reconcile_deployment(md(), PLATFORM, {"native": FakeBackend(HEALTHY)})
    assert reasons(outcome)["DeploymentReady"] == "InstanceTypeNotFound"


def test_resources_beyond_the_instance_type_limits_are_refused():
    wanted = md(instanceType="small", resources={"limits": {"cpu": "4"}})
    outcome = reconcile_deployment(wanted, PLATFORM, {"native": FakeBackend(HEALTHY)})
    [blocked] = [v for v in outcome.verdicts if v.type == "DeploymentReady"]
    assert blocked.reason == "ResourcesExceedInstanceType"
    assert "spec.resources.limits.cpu (4) exceeds instance type small's limit (2)" in blocked.message


def test_a_platform_on_an_unavailable_backend_says_so():
    outcome = reconcile_deployment(md(instanceType="small"), PLATFORM, {})
    assert reasons(outcome)["DeploymentReady"] == "BackendUnsupported"


def test_retryable_backend_errors_become_a_warning_and_a_requeue():
    backend = FakeBackend(RetryableError("throttled", delay=7, reason="Throttled"))
    outcome = reconcile_deployment(md(instanceType="small"), PLATFORM, {"native": backend})
    assert outcome.requeue_after == 7
    assert outcome.verdicts[0].severity == "Warning"


def test_status_records_generation_ready_and_backend_fields():
    patch = build_status(body(), "native", HEALTHY, "serving", now=T0).patch
    assert patch["observedGeneration"] == 3
    assert patch["scoringUri"] == "http://x/score"
    ready = patch["conditions"][0]
    assert (ready["type"], ready["status"], ready["observedGeneration"]) == ("Ready", "True", 3)
    assert "lastFailure" not in patch  # None where there was none: nothing to write


def test_an_unchanged_status_produces_an_empty_patch():
    first = stored(build_status(body(), "native", HEALTHY, "serving", now=T0).patch)
    again = build_status(body(first), "native", HEALTHY, "serving", now="2026-01-01T09:00:00Z")
    assert again.patch == {}
    assert again.transitions == []


def test_fields_the_backend_did_not_set_are_left_alone():
    first = stored(build_status(body(), "native", HEALTHY, "serving", now=T0).patch)
    blocked = Outcome([Verdict(ConditionType.DEPLOYMENT_READY, "False", "PlatformNotFound", "gone", "Error")])
    patch = build_status(body(first), "native", blocked, "serving", now=T0).patch
    assert "scoringUri" not in patch


def test_map_entries_that_disappeared_are_removed_with_nulls_because_status_is_a_merge_patch():
    two = Outcome(HEALTHY.verdicts, status=ModelDeploymentStatus(traffic={"blue": 50, "green": 50}))
    first = stored(build_status(body(), "native", two, "serving", now=T0).patch)
    one = Outcome(HEALTHY.verdicts, status=ModelDeploymentStatus(traffic={"blue": 100}))
    patch = build_status(body(first), "native", one, "serving", now=T0).patch
    assert patch["traffic"] == {"green": None, "blue": 100}


def test_a_failure_is_remembered_with_its_reason_until_the_next_success():
    failing = Outcome([Verdict(ConditionType.DEGRADED, "True", "CrashLoopBackOff", "pod p: exit 1", "Error")])
    patch = build_status(body(), "native", failing, "serving", now=T0).patch
    assert patch["lastFailure"]["reason"] == "CrashLoopBackOff"
    recovered = build_status(body(stored(patch)), "native", HEALTHY, "serving", now="2026-01-01T00:01:00Z")
    assert recovered.patch["lastFailure"] is None

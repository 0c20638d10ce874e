"""reconcile.py with a fake backend: placement problems, status building and write avoidance."""

from __future__ import annotations

from mlops_operator.api.v1alpha1 import MLOpsPlatform, ModelDeployment
from mlops_operator.backends.base import Outcome, RetryableError
from mlops_operator.conditions import Verdict
from mlops_operator.reconcile import build_status, reconcile_deployment, status_patch

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
    [Verdict("ModelReady", "True", "ModelAvailable"), Verdict("Degraded", "False", "Healthy")],
    status={"scoringUri": "http://x/score"},
)


def reasons(outcome: Outcome) -> dict[str, str]:
    return {v.type: v.reason for v in outcome.verdicts}


def test_a_missing_platform_blocks_the_deployment_without_calling_the_backend():
    backend = FakeBackend(HEALTHY)
    outcome = reconcile_deployment(md(instanceType="small"), None, {"native": backend})
    assert reasons(outcome)["DeploymentReady"] == "PlatformNotFound"
    assert reasons(outcome)["ModelReady"] == "PlatformNotFound"
    assert backend.calls == 0


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
    update = build_status({}, HEALTHY, 3, "serving", now="2026-01-01T00:00:00Z")
    assert update.status["observedGeneration"] == 3
    assert update.status["scoringUri"] == "http://x/score"
    ready = update.status["conditions"][0]
    assert (ready["type"], ready["status"], ready["observedGeneration"]) == ("Ready", "True", 3)
    assert update.status["lastFailure"] is None


def test_an_unchanged_status_produces_an_empty_patch():
    first = build_status({}, HEALTHY, 3, "serving", now="2026-01-01T00:00:00Z").status
    stored = {k: v for k, v in first.items() if v is not None}  # the API server drops nulls
    again = build_status(stored, HEALTHY, 3, "serving", now="2026-01-01T09:00:00Z").status
    assert status_patch(stored, again) == {}


def test_a_failure_is_remembered_with_its_reason_until_the_next_success():
    failing = Outcome([Verdict("Degraded", "True", "CrashLoopBackOff", "pod p: exit 1", "Error")])
    update = build_status({}, failing, 1, "serving", now="2026-01-01T00:00:00Z")
    assert update.status["lastFailure"]["reason"] == "CrashLoopBackOff"
    recovered = build_status(update.status, HEALTHY, 1, "serving", now="2026-01-01T00:01:00Z")
    assert recovered.status["lastFailure"] is None

"""Deployment and pod state become DeploymentReady/Progressing/Degraded verdicts with the pod's own words."""

from __future__ import annotations

from typing import Any

from mlops_operator.backends.native.observe import pod_problem, rollout_complete, workload_verdicts


def deployment(
    desired: int = 2,
    ready: int = 2,
    updated: int = 2,
    generation: int = 3,
    observed: int = 3,
    conditions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "metadata": {"name": "blue", "generation": generation},
        "spec": {"replicas": desired},
        "status": {
            "observedGeneration": observed,
            "replicas": max(desired, updated),
            "readyReplicas": ready,
            "updatedReplicas": updated,
            "conditions": conditions or [],
        },
    }


def pod(
    name: str = "blue-1",
    waiting: str | None = None,
    message: str = "",
    last: dict | None = None,
    scheduled: dict | None = None,
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "scoring", "state": {"running": {}}}
    if waiting:
        container["state"] = {"waiting": {"reason": waiting, "message": message}}
    if last:
        container["lastState"] = {"terminated": last}
    status: dict[str, Any] = {"containerStatuses": [container]}
    if scheduled:
        status = {"conditions": [scheduled]}
    return {"metadata": {"name": name}, "status": status}


def by_type(verdicts):
    return {v.type: v for v in verdicts}


def test_a_complete_rollout_is_ready_stable_and_healthy():
    verdicts = by_type(workload_verdicts(deployment(), [pod()]))
    assert (verdicts["DeploymentReady"].status, verdicts["DeploymentReady"].reason) == ("True", "DeploymentAvailable")
    assert (verdicts["Progressing"].status, verdicts["Progressing"].reason) == ("False", "Stable")
    assert verdicts["Degraded"].status == "False"


def test_a_rollout_in_progress_is_progressing_and_not_yet_ready():
    verdicts = by_type(workload_verdicts(deployment(ready=1, updated=1), [pod()]))
    assert verdicts["DeploymentReady"].status == "False"
    assert verdicts["DeploymentReady"].severity == "Info"
    assert verdicts["Progressing"].status == "True"


def test_a_deployment_not_yet_observed_at_its_generation_is_not_complete():
    assert not rollout_complete(deployment(generation=4, observed=3))


def test_a_crash_looping_pod_degrades_the_deployment_with_its_exit_message():
    crashing = pod(
        waiting="CrashLoopBackOff",
        message="back-off 5m0s",
        last={"exitCode": 1, "message": "ImportError: no module named joblib\n"},
    )
    verdicts = by_type(workload_verdicts(deployment(ready=1), [pod("blue-0"), crashing]))
    degraded = verdicts["Degraded"]
    assert (degraded.status, degraded.reason, degraded.severity) == ("True", "CrashLoopBackOff", "Error")
    assert "pod blue-1 container scoring: CrashLoopBackOff: back-off 5m0s" in degraded.message
    assert "last exit code 1: ImportError: no module named joblib" in degraded.message
    assert verdicts["DeploymentReady"].reason == "CrashLoopBackOff"


def test_an_image_that_cannot_be_pulled_is_reported_as_image_pull_back_off():
    problem = pod_problem([pod(waiting="ErrImagePull", message="manifest unknown")])
    assert problem is not None
    assert problem.reason == "ImagePullBackOff"


def test_an_exceeded_progress_deadline_is_degraded_and_no_longer_progressing():
    stuck = deployment(
        ready=0,
        updated=1,
        conditions=[
            {
                "type": "Progressing",
                "status": "False",
                "reason": "ProgressDeadlineExceeded",
                "message": 'ReplicaSet "blue-5d9" has timed out progressing.',
            }
        ],
    )
    verdicts = by_type(workload_verdicts(stuck, []))
    assert verdicts["Degraded"].reason == "ProgressDeadlineExceeded"
    assert "timed out progressing" in verdicts["DeploymentReady"].message
    assert verdicts["Progressing"].status == "False"


def test_an_unschedulable_pod_says_why():
    unschedulable = pod(
        scheduled={
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": "0/3 nodes are available: 3 Insufficient cpu.",
        }
    )
    problem = pod_problem([unschedulable])
    assert problem is not None
    assert problem.reason == "Unschedulable"
    assert "Insufficient cpu" in problem.message


def test_terminating_pods_are_not_blamed():
    leaving = pod(waiting="CrashLoopBackOff")
    leaving["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert pod_problem([leaving]) is None


def test_a_missing_deployment_is_being_created():
    verdicts = by_type(workload_verdicts(None, []))
    assert verdicts["DeploymentReady"].reason == "RollingOut"
    assert verdicts["Progressing"].status == "True"

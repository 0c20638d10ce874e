"""Read the state of a model's Deployment and pods into condition verdicts. Pure: dicts in, verdicts out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops_operator.conditions import ConditionType, Reason, Verdict

# Container waiting reasons that will not fix themselves: surface them as Degraded at once.
_STUCK = {
    "CrashLoopBackOff": Reason.CRASH_LOOP_BACK_OFF,
    "ImagePullBackOff": Reason.IMAGE_PULL_BACK_OFF,
    "ErrImagePull": Reason.IMAGE_PULL_BACK_OFF,
    "InvalidImageName": Reason.IMAGE_PULL_BACK_OFF,
    "CreateContainerConfigError": Reason.POD_FAILING,
    "CreateContainerError": Reason.POD_FAILING,
    "RunContainerError": Reason.POD_FAILING,
}


@dataclass(frozen=True)
class Replicas:
    desired: int
    ready: int
    updated: int

    def to_wire(self) -> dict[str, int]:
        return {"desired": self.desired, "ready": self.ready, "updated": self.updated}


@dataclass(frozen=True)
class PodProblem:
    reason: str
    message: str


def replicas_of(deployment: dict[str, Any] | None) -> Replicas:
    if deployment is None:
        return Replicas(0, 0, 0)
    status = deployment.get("status", {})
    return Replicas(
        desired=int(deployment.get("spec", {}).get("replicas", 1)),
        ready=int(status.get("readyReplicas", 0)),
        updated=int(status.get("updatedReplicas", 0)),
    )


def pod_problem(pods: list[dict[str, Any]]) -> PodProblem | None:
    """The first reason a pod of this deployment cannot serve, with a message from the pod itself."""
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        if pod["metadata"].get("deletionTimestamp"):
            continue
        problem = _container_problem(pod) or _scheduling_problem(pod)
        if problem:
            return problem
    return None


def _container_problem(pod: dict[str, Any]) -> PodProblem | None:
    status = pod.get("status", {})
    for container in [*status.get("initContainerStatuses", []), *status.get("containerStatuses", [])]:
        waiting = container.get("state", {}).get("waiting") or {}
        reason = _STUCK.get(waiting.get("reason", ""))
        if reason is None:
            continue
        message = f"pod {pod['metadata']['name']} container {container.get('name')}: {waiting.get('reason')}"
        if waiting.get("message"):
            message += f": {waiting['message']}"
        last = container.get("lastState", {}).get("terminated") or {}
        if last:
            detail = last.get("message") or last.get("reason") or ""
            message += f"; last exit code {last.get('exitCode')}" + (f": {detail.strip()}" if detail else "")
        return PodProblem(reason, message)
    return None


def _scheduling_problem(pod: dict[str, Any]) -> PodProblem | None:
    for condition in pod.get("status", {}).get("conditions", []):
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "Unschedulable":
            return PodProblem(
                Reason.UNSCHEDULABLE,
                f"pod {pod['metadata']['name']} cannot be scheduled: {condition.get('message', '')}".strip(),
            )
    return None


def _deadline_exceeded(deployment: dict[str, Any]) -> str | None:
    for condition in deployment.get("status", {}).get("conditions", []):
        if condition.get("type") == ConditionType.PROGRESSING and condition.get("reason") == "ProgressDeadlineExceeded":
            return str(condition.get("message", "the rollout made no progress before its deadline"))
    return None


def rollout_complete(deployment: dict[str, Any] | None) -> bool:
    if deployment is None:
        return False
    replicas = replicas_of(deployment)
    status = deployment.get("status", {})
    current = status.get("observedGeneration", 0) >= deployment["metadata"].get("generation", 0)
    total = int(status.get("replicas", 0))
    return (
        current
        and replicas.updated >= replicas.desired
        and replicas.ready >= replicas.desired
        and total <= replicas.desired
    )


def workload_verdicts(deployment: dict[str, Any] | None, pods: list[dict[str, Any]]) -> list[Verdict]:
    """`DeploymentReady`, `Progressing` and `Degraded` from the Deployment and its pods."""
    if deployment is None:
        return [
            Verdict(ConditionType.DEPLOYMENT_READY, "False", Reason.ROLLING_OUT, "creating the Deployment", "Info"),
            Verdict(ConditionType.PROGRESSING, "True", Reason.ROLLING_OUT, "creating the Deployment"),
            Verdict(ConditionType.DEGRADED, "False", Reason.HEALTHY),
        ]
    replicas = replicas_of(deployment)
    problem = pod_problem(pods)
    deadline = _deadline_exceeded(deployment)
    complete = rollout_complete(deployment)
    progress = f"{replicas.ready}/{replicas.desired} ready, {replicas.updated} updated"
    degraded = _degraded(problem, deadline)
    if complete:
        ready = Verdict(ConditionType.DEPLOYMENT_READY, "True", Reason.DEPLOYMENT_AVAILABLE, progress)
        if replicas.desired == 0:
            ready = Verdict(ConditionType.DEPLOYMENT_READY, "True", Reason.SCALED_TO_ZERO, "scaled to zero instances")
    elif degraded.status == "True":
        ready = Verdict(ConditionType.DEPLOYMENT_READY, "False", degraded.reason, degraded.message, "Error")
    else:
        ready = Verdict(ConditionType.DEPLOYMENT_READY, "False", Reason.ROLLING_OUT, progress, "Info")
    progressing = (
        Verdict(ConditionType.PROGRESSING, "False", Reason.STABLE, progress)
        if complete or deadline
        else Verdict(ConditionType.PROGRESSING, "True", Reason.ROLLING_OUT, progress)
    )
    return [ready, progressing, degraded]


def _degraded(problem: PodProblem | None, deadline: str | None) -> Verdict:
    if problem is not None:
        message = problem.message + (f" ({deadline})" if deadline else "")
        return Verdict(ConditionType.DEGRADED, "True", problem.reason, message, "Error")
    if deadline is not None:
        return Verdict(ConditionType.DEGRADED, "True", Reason.PROGRESS_DEADLINE_EXCEEDED, deadline, "Error")
    return Verdict(ConditionType.DEGRADED, "False", Reason.HEALTHY, "no pod problems")

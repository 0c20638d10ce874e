"""`Stalled` is the one condition kstatus (Flux's health checks) reads as Failed; it mirrors a `Ready=False`
that needs a human, so a broken ModelDeployment fails a Flux Kustomization at once instead of at its timeout."""

from mlops_operator.backends.base import Outcome
from mlops_operator.conditions import Verdict, stalled, summarize
from mlops_operator.reconcile import build_status

T0 = "2026-01-01T00:00:00Z"
NEEDS_A_HUMAN = Verdict("DeploymentReady", "False", "InstanceTypeNotFound", "no instance type gpu-xxl", "Error")
RETRYING = Verdict("DeploymentReady", "False", "KubernetesAPIError", "503 from the API server", "Warning")
ROLLING_OUT = Verdict("DeploymentReady", "False", "RollingOut", "0/2 ready", "Info")


def _conditions(*verdicts: Verdict) -> dict[str, dict]:
    body = {"kind": "ModelDeployment", "metadata": {"name": "blue", "generation": 3}, "status": {}}
    patch = build_status(body, "native", Outcome(list(verdicts)), "serving", now=T0).patch
    return {c["type"]: c for c in patch["conditions"]}


def test_a_ready_false_that_needs_a_human_is_stalled_with_its_reason_and_message() -> None:
    verdict = stalled(summarize([NEEDS_A_HUMAN], "serving"))
    assert (verdict.type, verdict.status, verdict.reason, verdict.message, verdict.severity) == (
        "Stalled",
        "True",
        "InstanceTypeNotFound",
        "no instance type gpu-xxl",
        "Error",
    )


def test_retrying_progressing_and_ready_are_not_stalled() -> None:
    for verdicts in ([RETRYING], [ROLLING_OUT], []):
        verdict = stalled(summarize(verdicts, "serving"))
        assert (verdict.status, verdict.reason) == ("False", "Healthy")


def test_the_written_status_carries_stalled_last_at_the_current_generation() -> None:
    conditions = _conditions(NEEDS_A_HUMAN)
    assert list(conditions)[-1] == "Stalled"
    assert conditions["Stalled"] == {
        "type": "Stalled",
        "status": "True",
        "reason": "InstanceTypeNotFound",
        "message": "no instance type gpu-xxl",
        "lastTransitionTime": T0,
        "observedGeneration": 3,
        "severity": "Error",
    }
    assert (conditions["Ready"]["status"], conditions["Ready"]["reason"]) == ("False", "InstanceTypeNotFound")


def test_a_healthy_stalled_condition_carries_no_severity() -> None:
    stalled_condition = _conditions(RETRYING)["Stalled"]
    assert (stalled_condition["status"], stalled_condition.get("severity", "")) == ("False", "")

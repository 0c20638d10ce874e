"""DataDrift sits beside Ready: drift found, or a check that could not run, changes no other condition;
the azureml backend says it cannot count inputs; removing spec.monitoring.drift clears status.drift."""

from __future__ import annotations

from drift_fixtures import deployment
from mlops_operator.api.v1alpha1 import MLOpsPlatform, ModelDeploymentStatus
from mlops_operator.api.v1alpha1.monitoring import DriftStatus
from mlops_operator.backends.base import Outcome
from mlops_operator.conditions import ConditionType, Reason, Verdict
from mlops_operator.monitoring.drift_driver import DriftPass
from mlops_operator.reconcile import build_status, reconcile_deployment

T = ConditionType


def platform(backend: str = "native") -> MLOpsPlatform:
    instance = {"name": "small", "resources": {"requests": {"cpu": "1"}, "limits": {"cpu": "1"}}}
    spec = {"backend": backend, "defaultInstanceType": "small", "instanceTypes": [instance]}
    if backend == "azureml":
        spec["azure"] = {
            "subscriptionId": "00000000-0000-0000-0000-000000000000",
            "resourceGroup": "rg",
            "workspace": {"name": "mlw"},
            "cluster": {"name": "aks"},
            "extension": {"allowInsecureConnections": True},
        }
    return MLOpsPlatform.model_validate({"metadata": {"name": "local"}, "spec": spec})


class Healthy:
    def reconcile_deployment(self, md, platform) -> Outcome:
        return Outcome(
            [
                Verdict(T.MODEL_READY, "True", "ModelAvailable"),
                Verdict(T.ENDPOINT_READY, "True", "EndpointReady"),
                Verdict(T.DEPLOYMENT_READY, "True", "DeploymentAvailable"),
                Verdict(T.TRAFFIC_APPLIED, "True", "TrafficApplied"),
            ],
            status=ModelDeploymentStatus(scoring_uri="http://x/score"),
        )


def conditions(md, drift: DriftPass, backend: str = "native") -> dict[str, tuple[str, str]]:
    outcome = reconcile_deployment(md, platform(backend), {backend: Healthy()}, None, lambda _: drift)
    body = {"kind": "ModelDeployment", "metadata": {"name": "blue", "generation": 2}, "status": {}}
    patch = build_status(body, backend, outcome, "serving").patch
    return {c["type"]: (c["status"], c["reason"]) for c in patch["conditions"]}


def test_drift_and_failed_checks_leave_ready_progressing_and_degraded_alone() -> None:
    found = DriftPass(Verdict(T.DATA_DRIFT, "True", Reason.DRIFT_DETECTED, "x drifted", "Warning"), DriftStatus())
    failed = DriftPass(Verdict(T.DATA_DRIFT, "Unknown", Reason.DRIFT_CHECK_FAILED, "unreachable", "Warning"))
    for drift in (found, failed):
        seen = conditions(deployment(), drift)
        assert seen["DataDrift"] == (drift.verdict.status, drift.verdict.reason)
        assert (seen["Ready"], seen["Progressing"], seen["Degraded"], seen["Stalled"]) == (
            ("True", "Ready"),
            ("False", "Stable"),
            ("False", "Healthy"),
            ("False", "Healthy"),
        )


def test_the_azureml_backend_reports_drift_monitoring_unsupported_without_running_the_monitor() -> None:
    def never(md):
        raise AssertionError("the monitor must not run on azureml")

    outcome = reconcile_deployment(deployment(), platform("azureml"), {"azureml": Healthy()}, None, never)
    [drift] = [v for v in outcome.verdicts if v.type == T.DATA_DRIFT]
    assert (drift.status, drift.reason) == ("Unknown", "FeatureUnsupported")
    assert "native backend's scoring server" in drift.message


def test_without_monitoring_the_condition_says_not_monitored_and_old_drift_status_is_cleared() -> None:
    md = deployment()
    plain = md.model_copy(update={"spec": md.spec.model_copy(update={"monitoring": type(md.spec.monitoring)()})})
    plain = plain.model_copy(update={"status": ModelDeploymentStatus(drift=DriftStatus(samples=5))})
    from mlops_operator.monitoring.drift_driver import DriftMonitor

    monitor = DriftMonitor(kube=None, default_prometheus=None)  # type: ignore[arg-type]  # never touched
    outcome = reconcile_deployment(plain, platform(), {"native": Healthy()}, None, monitor.run)
    [drift] = [v for v in outcome.verdicts if v.type == T.DATA_DRIFT]
    assert (drift.status, drift.reason) == ("Unknown", "NotMonitored")
    assert isinstance(outcome.status, ModelDeploymentStatus)
    assert "drift" in outcome.status.model_fields_set
    assert outcome.status.drift is None

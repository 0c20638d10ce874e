"""The Azure ML drift action, pure parts: the job's name is fixed by the deployment's uid and the episode (so a
resubmission after a crash names the same job), it is tagged and described for the episode, inputs are matched
to the component's declared ones, and the API refuses what cannot be submitted. A wrong platform reference
fails the action, naming it, before anything is sent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError
from test_the_drift_monitor_reads_counts_and_acts_once_per_episode import FakeKube, FakePrometheus

from drift_fixtures import deployment, window
from mlops_operator.api.v1alpha1 import ModelDeployment
from mlops_operator.api.v1alpha1.monitoring import AzureMLJobAction, DriftEpisode, DriftStatus
from mlops_operator.monitoring.drift_driver import DriftMonitor
from mlops_operator.render.drift_job import drift_job_name, job_inputs, render_drift_job

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ACTION = {"platformRef": {"name": "aml"}, "component": "azureml:retrain:3", "computeName": "cpu-cluster"}
EPISODE_2 = DriftStatus(episode=DriftEpisode(number=2, started_at="2026-12-01T12:00:00Z", features=["x", "kind"]))


def action(**fields: Any) -> AzureMLJobAction:
    return AzureMLJobAction.model_validate({**ACTION, **fields})


def monitored(**fields: Any) -> ModelDeployment:
    return deployment({"prometheus": {"address": "http://prom:9090"}, "actions": {"azureMLJob": {**ACTION, **fields}}})


def with_uid(md: ModelDeployment, uid: str) -> ModelDeployment:
    return md.model_copy(update={"metadata": md.metadata.model_copy(update={"uid": uid})})


def test_the_name_depends_on_the_deployment_uid_and_the_episode_only() -> None:
    md = monitored()
    first = drift_job_name(md, 2)
    assert first == drift_job_name(monitored(inputs={"lr": "0.2"}), 2)
    assert first.startswith("blue-drift-2-")
    assert first != drift_job_name(md, 3)
    assert first != drift_job_name(with_uid(md, "u-2"), 2)  # the same name, deleted and created again
    assert all(c.isalnum() or c == "-" for c in first)


def test_the_job_carries_the_component_the_episode_and_the_model() -> None:
    job = render_drift_job(monitored(), action(inputs={"lr": "0.1"}, experimentName="credit-retrain"), EPISODE_2)
    assert (job.component, job.version, job.compute, job.experiment) == (
        "retrain",
        "3",
        "cpu-cluster",
        "credit-retrain",
    )
    assert job.display_name == "ml/blue drift episode 2"
    assert job.inputs == {"lr": "0.1"}
    assert job.platform == "aml"
    assert job.tags == {
        "mlops.dev/deployment": "blue",
        "mlops.dev/namespace": "ml",
        "mlops.dev/endpoint": "credit",
        "mlops.dev/model": "credit",
        "mlops.dev/model-version": "3",
        "mlops.dev/drift-episode": "2",
        "mlops.dev/component": "retrain:3",
        "app.kubernetes.io/managed-by": "mlops-operator",
    }
    assert job.environment_variables["MLOPS_DRIFT_FEATURES"] == "x,kind"
    assert job.environment_variables["MLOPS_DRIFT_EPISODE"] == "2"
    assert "x, kind" in job.description


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"component": "retrain"}, ("retrain", None)),
        ({"component": "retrain:4"}, ("retrain", "4")),
        ({"component": "azureml:retrain", "version": "5"}, ("retrain", "5")),
    ],
)
def test_the_component_reference_has_three_spellings(fields: dict[str, str], expected: tuple[str, str | None]) -> None:
    assert action(**fields).component_name_and_version() == expected


def test_without_a_version_the_experiment_is_the_deployment_and_the_tag_says_latest() -> None:
    job = render_drift_job(monitored(), action(component="retrain"), EPISODE_2)
    assert (job.version, job.experiment, job.tags["mlops.dev/component"]) == (None, "blue", "retrain:latest")


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"component": "retrain:3", "version": "4"}, "not both"),
        ({"component": "re train"}, "component"),
        ({"computeName": "c"}, "computeName"),
        ({"inputs": {"learning-rate": "0.1"}}, "are not input names"),
        ({"platformRef": {}}, "platformRef"),
    ],
)
def test_what_cannot_be_submitted_is_refused_by_the_api(fields: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        action(**fields)


def test_inputs_are_literals_or_paths_by_the_declared_type_and_unknown_ones_are_named() -> None:
    declared = {"lr": "number", "epochs": "integer", "data": "uri_folder"}
    shaped = job_inputs(declared, {"lr": "0.1", "epochs": "3", "data": "azureml:credit-data:2"})
    assert shaped == {
        "lr": ("literal", "0.1"),
        "epochs": ("literal", "3"),
        "data": ("uri_folder", "azureml:credit-data:2"),
    }
    with pytest.raises(ValueError, match=r"declares no input rate \(its inputs: data, epochs, lr\)"):
        job_inputs(declared, {"rate": "0.1"})


class KubeWithPlatforms(FakeKube):
    def __init__(self, platforms: dict[str, dict[str, Any]]) -> None:
        super().__init__()
        self.objects.update({("MLOpsPlatform", name): body for name, body in platforms.items()})


NATIVE = {"apiVersion": "mlops.dev/v1alpha1", "kind": "MLOpsPlatform", "metadata": {"name": "aml"}, "spec": {}}
AZUREML = {
    **NATIVE,
    "spec": {
        "backend": "azureml",
        "azure": {
            "subscriptionId": "00000000-1111-2222-3333-444444444444",
            "resourceGroup": "rg",
            "workspace": {"name": "mlw-demo"},
            "cluster": {"name": "aks-mlops"},
            "extension": {"allowInsecureConnections": True},
        },
    },
}


@pytest.mark.parametrize(
    ("platforms", "clients", "result"),
    [
        ({}, None, "Failed: MLOpsPlatform aml (monitoring.drift.actions.azureMLJob.platformRef) does not exist"),
        ({"aml": NATIVE}, None, "has backend native, not azureml"),
        ({"aml": AZUREML}, None, "Failed: this operator runs without the azureml backend"),
    ],
)
def test_a_wrong_platform_reference_fails_the_action_and_names_it(
    platforms: dict[str, dict[str, Any]], clients: Any, result: str
) -> None:
    prometheus = FakePrometheus()
    prometheus.counts = window(shift=1.5)
    monitor = DriftMonitor(KubeWithPlatforms(platforms), None, lambda address: prometheus, azureml_clients=clients)
    outcome = monitor.run(monitored(), T0)
    assert outcome.status is not None
    assert outcome.status.episode is not None
    assert result in outcome.status.episode.actions["azureMLJob"]
    assert outcome.status.episode.actions["azureMLJob"].startswith("Failed: ")
    assert [e.reason for e in outcome.events] == ["DriftActionFailed"]

"""A drift episode submits one Azure ML command job, through the real azure-ai-ml against the fake ARM server: the
DriftMonitor reads shifted counts from a fake Prometheus and the platform from a fake API server, and the
azureml backend's own clients (its cloud settings, a static token) carry the submission.

Exactly once: a second check with the recorded status submits nothing, and a check that repeats the submission
because its status write was lost (a crash) finds the job by its name and creates no second one. Throttling and
unavailability are reported `Failed: ...` and retried at the next check; a missing component is named.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from drift_fixtures import after
from fake_arm import FakeArm, StaticTokenCredential
from mlops_operator.api.v1alpha1 import ModelDeployment
from mlops_operator.backends.azureml import AzureMLBackend
from mlops_operator.config import OperatorSettings
from mlops_operator.drift.build import build_profile
from mlops_operator.monitoring.drift_driver import DriftMonitor, DriftPass

from .helpers import PLATFORM, RG, WS, platform_body

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
INTERVAL = 30
COMPUTE, COMPONENT, EXPERIMENT = "cpu-cluster", "retrain", "credit-retrain"
COMMAND = "python -m train --lr ${{inputs.lr}} --target ${{inputs.target}}"
COMPONENT_INPUTS = {"lr": {"type": "number"}, "target": {"type": "string"}}
INPUTS = {"lr": "0.05", "target": "default"}
RNG = np.random.default_rng(5)
PROFILE = build_profile(pd.DataFrame({"x": RNG.normal(0, 1, 5_000)}))
JOBS = r"/jobs/[^/]+$"


@pytest.fixture(autouse=True)
def leave_nothing_behind() -> None:
    """Replaces the package's cleanup: the API server is a fake here, so no session cluster is started."""


class FakeKube:
    """The objects the drift pass reads: the profile ConfigMap and the azureml platform."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {
            ("ConfigMap", "profile"): {
                "metadata": {"name": "profile", "resourceVersion": "1"},
                "data": {"profile.json": PROFILE.to_json()},
            },
            ("MLOpsPlatform", PLATFORM): platform_body(),
        }

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        return self.objects.get((kind, name))


class ShiftedPrometheus:
    """The window's bin counts of inputs shifted by 1.5 standard deviations: drift on every check."""

    def series(self, expression: str) -> list[tuple[dict[str, str], float]]:
        [feature] = PROFILE.features
        counts = [0.0] * feature.bins
        for value in RNG.normal(1.5, 1, 1_000):
            counts[feature.bin_of(float(value))] += 1  # type: ignore[index]
        return [
            ({"feature": "x", "bin": label}, count) for label, count in zip(feature.bin_labels(), counts, strict=True)
        ]


def monitored(component: str = f"azureml:{COMPONENT}:3") -> ModelDeployment:
    action = {
        "platformRef": {"name": PLATFORM},
        "component": component,
        "computeName": COMPUTE,
        "experimentName": EXPERIMENT,
        "inputs": INPUTS,
    }
    drift = {
        "baseline": {"configMapKeyRef": {"name": "profile"}},
        "prometheus": {"address": "http://prom:9090"},
        "minSamples": 100,
        "checkIntervalSeconds": INTERVAL,
        "windowSeconds": 60,
        "actions": {"azureMLJob": action},
    }
    return ModelDeployment.model_validate(
        {
            "metadata": {"name": "blue", "namespace": "ml", "uid": "0b6c-uid", "generation": 1},
            "spec": {
                "platformRef": {"name": "local"},
                "endpoint": {"name": "credit"},
                "model": {"name": "credit", "version": "3", "uri": "configmap://m"},
                "monitoring": {"drift": drift},
            },
        }
    )


def result_of(outcome: DriftPass) -> str:
    assert outcome.status is not None
    assert outcome.status.episode is not None
    return outcome.status.episode.actions["azureMLJob"]


@pytest.fixture
def workspace(fake_arm: FakeArm) -> FakeArm:
    """The workspace the platform names, with an environment, a compute cluster and two component versions."""
    fake_arm.seed_workspace(RG, WS)
    fake_arm.seed_environment(RG, WS, "train-env", "1")
    fake_arm.seed_aml_compute(RG, WS, COMPUTE)
    for version in ("2", "3"):
        fake_arm.seed_component(RG, WS, COMPONENT, version, command=COMMAND, inputs=COMPONENT_INPUTS)
    return fake_arm


def new_monitor(fake: FakeArm, kube: FakeKube | None = None) -> DriftMonitor:
    """A freshly started operator's drift monitor (no memory), wired to the azureml backend as in production."""
    kube = kube or FakeKube()
    settings = OperatorSettings(azure_resource_manager=fake.base_url, azure_ca_bundle=fake.ca_bundle)
    backend = AzureMLBackend(kube, settings, credential_factory=lambda azure, secret: StaticTokenCredential())  # type: ignore[arg-type]
    return DriftMonitor(kube, None, lambda address: ShiftedPrometheus(), azureml_clients=backend.clients)  # type: ignore[arg-type]


def test_one_job_per_episode_with_the_component_inputs_compute_experiment_and_tags(workspace: FakeArm) -> None:
    md = monitored()
    first = new_monitor(workspace).run(md, T0)

    name = result_of(first).removeprefix("Submitted ")
    assert result_of(first) == f"Submitted {name}"
    assert name.startswith("blue-drift-1-")
    [put] = workspace.requests("PUT", JOBS)
    assert put.query["api-version"] == "2025-01-01-preview"
    props = put.body["properties"]
    ws_id = workspace.workspace_id(RG, WS)
    assert props["jobType"] == "Command"
    assert props["command"] == COMMAND
    assert props["environmentId"] == f"{ws_id}/environments/train-env/versions/1"
    assert props["computeId"] == f"{ws_id}/computes/{COMPUTE}"
    assert props["experimentName"] == EXPERIMENT
    assert props["displayName"] == "ml/blue drift episode 1"
    assert props["inputs"] == {k: {"jobInputType": "literal", "value": v} for k, v in INPUTS.items()}
    assert props["tags"]["mlops.dev/deployment"] == "blue"
    assert props["tags"]["mlops.dev/drift-episode"] == "1"
    assert props["tags"]["mlops.dev/component"] == f"{COMPONENT}:3"
    assert (props["tags"]["mlops.dev/model"], props["tags"]["mlops.dev/model-version"]) == ("credit", "3")
    assert props["environmentVariables"]["MLOPS_DRIFT_FEATURES"] == "x"
    assert workspace.resource(f"{ws_id}/jobs/{name}") is not None
    assert [e.reason for e in first.events] == ["DriftActionsRun"]

    # The next check reads the recorded episode: nothing is sent to Azure ML at all.
    workspace.reset_log()
    second = new_monitor(workspace).run(after(md, first), T0 + timedelta(seconds=INTERVAL))
    assert result_of(second) == f"Submitted {name}"
    assert workspace.requests(path_regex="/jobs|/components") == []

    # A crash after the submission and before the status write: the next check submits again, under the same
    # name, finds the job and creates no second one.
    repeated = new_monitor(workspace).run(md, T0 + timedelta(seconds=5))
    assert result_of(repeated) == f"Submitted {name} (already existed)"
    assert [r.method for r in workspace.requests(path_regex=JOBS)] == ["GET"]
    assert len(workspace.requests("PUT", JOBS)) == 0


def test_without_a_version_the_latest_registered_component_runs(workspace: FakeArm) -> None:
    outcome = new_monitor(workspace).run(monitored(component=COMPONENT), T0)
    assert result_of(outcome).startswith("Submitted blue-drift-1-")
    [listing] = workspace.requests("GET", rf"/components/{COMPONENT}/versions$")
    assert listing.query["$top"] == "1"
    [put] = workspace.requests("PUT", JOBS)
    assert put.body["properties"]["tags"]["mlops.dev/component"] == f"{COMPONENT}:latest"


@pytest.mark.parametrize(
    ("status", "retry_after", "reason"),
    [(429, 1, "AzureThrottled: ARM TooManyRequests"), (503, None, "AzureUnavailable: ARM ServiceUnavailable")],
)
def test_throttling_or_unavailability_fails_the_action_until_the_next_check(
    workspace: FakeArm, status: int, retry_after: int | None, reason: str
) -> None:
    md = monitored()
    fault = workspace.inject(method="PUT", path_regex=JOBS, status=status, retry_after=retry_after)
    first = new_monitor(workspace).run(md, T0)
    assert result_of(first).startswith(f"Failed: {reason}")
    assert fault.hits == 1
    assert [e.reason for e in first.events] == ["DriftActionFailed"]
    assert "retried at the next check" in first.events[0].message

    retried = new_monitor(workspace).run(after(md, first), T0 + timedelta(seconds=INTERVAL))
    assert result_of(retried).startswith("Submitted blue-drift-1-")
    assert [r.status for r in workspace.requests("PUT", JOBS)] == [status, 201]


def test_a_missing_component_is_named_and_nothing_is_submitted(workspace: FakeArm) -> None:
    outcome = new_monitor(workspace).run(monitored(component=f"{COMPONENT}:9"), T0)
    assert result_of(outcome) == (
        f"Failed: AzureNotFound: component {COMPONENT}:9 is not registered in workspace {WS} "
        "(monitoring.drift.actions.azureMLJob.component)"
    )
    [get] = workspace.requests("GET", rf"/components/{COMPONENT}/versions/9$")
    assert get.status == 404
    assert workspace.requests("PUT", JOBS) == []


def test_a_missing_compute_is_refused_by_the_service_and_named(workspace: FakeArm) -> None:
    workspace.app.store.delete_tree(f"{workspace.workspace_id(RG, WS)}/computes/{COMPUTE}")
    outcome = new_monitor(workspace).run(monitored(), T0)
    assert result_of(outcome).startswith("Failed: AzureBadRequest: ARM UserError: Compute target 'cpu-cluster'")
    assert [r.status for r in workspace.requests("PUT", JOBS)] == [400]


def test_the_credentials_secret_of_the_platform_is_used(workspace: FakeArm) -> None:
    """A platform naming a credentials Secret that does not exist fails the action with the backend's message."""
    kube = FakeKube()
    kube.objects[("MLOpsPlatform", PLATFORM)] = platform_body(identity={"credentialsSecretRef": {"name": "aml-sp"}})
    monitor = new_monitor(workspace, kube)
    outcome = monitor.run(monitored(), T0)
    assert result_of(outcome).startswith("Failed: AzureCredentialsUnavailable: Secret mlops-system/aml-sp")
    secret = {k: base64.b64encode(b"x").decode() for k in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET")}
    kube.objects[("Secret", "aml-sp")] = {"metadata": {"name": "aml-sp"}, "data": secret}
    retried = monitor.run(after(monitored(), outcome), T0 + timedelta(seconds=INTERVAL))
    assert result_of(retried).startswith("Submitted blue-drift-1-")

"""Jobs and components: a component registered by azure-ai-ml is read back and runs as a command job; the fake
refuses job bodies the CommandJob model refuses, assets that do not exist, and a changed job under a taken name."""

from __future__ import annotations

import pytest
import requests
from azure.ai.ml import Input
from azure.ai.ml.entities import CommandComponent
from azure.core.exceptions import ResourceNotFoundError

RG, WS = "rg1", "ws1"
JOBS_API = "2025-01-01-preview"


@pytest.fixture
def ml(fake_arm):
    fake_arm.seed_workspace(RG, WS)
    fake_arm.seed_environment(RG, WS, "train-env", "1")
    fake_arm.seed_aml_compute(RG, WS, "cpu")
    return fake_arm.ml_client(RG, WS)


def put_job(fake, name, properties):
    return requests.put(
        f"{fake.base_url}{fake.workspace_id(RG, WS)}/jobs/{name}",
        params={"api-version": JOBS_API},
        json={"properties": properties},
        verify=fake.ca_bundle,
        timeout=10,
    )


def command_job(fake, **changes):
    ws = fake.workspace_id(RG, WS)
    return {
        "jobType": "Command",
        "command": "python -m train",
        "environmentId": f"{ws}/environments/train-env/versions/1",
        "computeId": f"{ws}/computes/cpu",
        "inputs": {"lr": {"jobInputType": "literal", "value": "0.1"}},
        **changes,
    }


def test_a_component_registered_by_the_sdk_runs_as_a_command_job(fake_arm, ml):
    component = CommandComponent(
        name="train", version="1", command="python -m train --lr ${{inputs.lr}}", environment="azureml:train-env:1",
        inputs={"lr": Input(type="number")},
    )  # fmt: skip
    ml.components.create_or_update(component)
    fetched = ml.components.get("train", "1")
    node = fetched(lr="0.1")
    node.name, node.compute, node.environment = "train-run-1", "cpu", fetched.environment

    job = ml.jobs.create_or_update(node)

    assert (job.name, job.status) == ("train-run-1", "NotStarted")
    assert ml.jobs.get("train-run-1").status == "NotStarted"
    assert fake_arm.calls("PUT", "jobs") == 1


def test_an_unknown_component_version_is_a_404_with_arm_s_error(ml):
    with pytest.raises(ResourceNotFoundError) as caught:
        ml.components.get("missing", "7")
    assert caught.value.error.code == "ResourceNotFound"
    assert "components/missing/versions/7" in caught.value.error.message


def test_a_command_job_without_its_command_is_a_400_naming_the_field(fake_arm, ml):
    properties = command_job(fake_arm)
    del properties["command"]
    response = put_job(fake_arm, "j1", properties)
    assert (response.status_code, response.json()["error"]["target"]) == (400, "properties.command")


@pytest.mark.parametrize(
    ("field", "asset"),
    [
        ("computeId", "computes/gpu"),
        ("environmentId", "environments/other/versions/1"),
        ("codeId", "codes/c/versions/1"),
    ],
)
def test_a_job_naming_an_asset_that_does_not_exist_is_refused(fake_arm, ml, field, asset):
    response = put_job(fake_arm, "j1", command_job(fake_arm, **{field: f"{fake_arm.workspace_id(RG, WS)}/{asset}"}))
    error = response.json()["error"]
    assert (response.status_code, error["code"], error["target"]) == (400, "UserError", f"properties.{field}")


def test_a_taken_job_name_accepts_only_metadata_changes(fake_arm, ml):
    assert put_job(fake_arm, "j1", command_job(fake_arm)).status_code == 201
    assert put_job(fake_arm, "j1", command_job(fake_arm, tags={"a": "b"})).status_code == 200
    changed = put_job(fake_arm, "j1", command_job(fake_arm, inputs={}))
    assert changed.status_code == 400
    assert changed.json()["error"]["message"].startswith("A job with this name already exists.")
    assert fake_arm.resource(f"{fake_arm.workspace_id(RG, WS)}/jobs/j1")["properties"]["tags"] == {"a": "b"}

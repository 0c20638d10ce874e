"""The real MLClient drives workspaces, computes, assets, endpoints and deployments through the fake."""

from __future__ import annotations

import pytest
from azure.ai.ml.entities import (
    Environment,
    IdentityConfiguration,
    KubernetesCompute,
    KubernetesOnlineDeployment,
    KubernetesOnlineEndpoint,
    Model,
)
from azure.core.exceptions import ResourceNotFoundError

RG, WS, AKS, COMPUTE = "rg1", "ws1", "aks1", "k8s"
MODEL_URI = "azureml://datastores/workspaceblobstore/paths/models/m1/"
IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest"


@pytest.fixture
def world(fake_arm):
    fake_arm.seed_workspace(RG, WS)
    fake_arm.seed_aks_cluster(RG, AKS)
    return fake_arm


@pytest.fixture
def ml(world):
    return world.ml_client(RG, WS)


@pytest.fixture
def serving(world, ml):
    """A compute, a model, an environment and an endpoint with deployment 'blue' (no traffic yet)."""
    world.seed_kubernetes_compute(RG, WS, COMPUTE, cluster_resource_group=RG, cluster=AKS)
    world.seed_model(RG, WS, "m1", "1")
    world.seed_environment(RG, WS, "env1", "1")
    ml.online_endpoints.begin_create_or_update(
        KubernetesOnlineEndpoint(name="ep1", compute=COMPUTE, auth_mode="key")
    ).result()
    ml.online_deployments.begin_create_or_update(
        KubernetesOnlineDeployment(
            name="blue",
            endpoint_name="ep1",
            model="azureml:m1:1",
            environment="azureml:env1:1",
            instance_count=2,
        )
    ).result()
    return ml


def test_the_seeded_workspace_is_readable(ml):
    workspace = ml.workspaces.get(WS)
    assert (workspace.name, workspace.location) == (WS, "eastus")


def test_a_kubernetes_compute_is_attached_read_and_detached(world, ml):
    compute = KubernetesCompute(
        name=COMPUTE,
        resource_id=world.cluster_id(RG, AKS),
        namespace="azureml-ns",
        identity=IdentityConfiguration(type="system_assigned"),
    )
    created = ml.compute.begin_create_or_update(compute).result()
    assert created.provisioning_state == "Succeeded"
    assert ml.compute.get(COMPUTE).namespace == "azureml-ns"
    ml.compute.begin_delete(COMPUTE, action="Detach").result()
    with pytest.raises(ResourceNotFoundError):
        ml.compute.get(COMPUTE)


def test_models_and_environments_get_versions_and_read_back(ml):
    ml.models.create_or_update(Model(name="m1", version="1", path=MODEL_URI, type="custom_model"))
    second = ml.models.create_or_update(Model(name="m1", path=MODEL_URI, type="custom_model"))
    environment = ml.environments.create_or_update(Environment(name="env1", version="1", image=IMAGE))
    assert second.version == "2"
    assert sorted(m.version for m in ml.models.list("m1")) == ["1", "2"]
    assert ml.models.get("m1", "1").path.endswith("paths/models/m1/")
    assert ml.environments.get(environment.name, "1").image == IMAGE


def test_an_endpoint_and_deployment_are_created_and_traffic_is_routed(serving):
    endpoint = serving.online_endpoints.get("ep1")
    endpoint.traffic = {"blue": 100}
    updated = serving.online_endpoints.begin_create_or_update(endpoint).result()
    deployment = serving.online_deployments.get("blue", "ep1")
    assert updated.traffic == {"blue": 100}
    assert (deployment.provisioning_state, deployment.instance_count) == ("Succeeded", 2)


def test_endpoint_keys_are_listed_and_regenerated(serving):
    before = serving.online_endpoints.get_keys("ep1").primary_key
    serving.online_endpoints.begin_regenerate_keys("ep1", key_type="primary").result()
    assert serving.online_endpoints.get_keys("ep1").primary_key != before


def test_deployment_logs_are_tailed(world, serving):
    world.set_deployment_logs(RG, WS, "ep1", "blue", "one\ntwo\nthree")
    assert serving.online_deployments.get_logs("blue", "ep1", lines=2) == "two\nthree"


def test_deleting_an_endpoint_removes_its_deployments(world, serving):
    serving.online_endpoints.begin_delete("ep1").result()
    with pytest.raises(ResourceNotFoundError):
        serving.online_deployments.get("blue", "ep1")
    assert world.resource(world.workspace_id(RG, WS) + "/onlineEndpoints/ep1/deployments/blue") is None

"""Bad requests get ARM's status and an ARM-shaped error naming the offending field."""

from __future__ import annotations

import pytest
import requests
from azure.ai.ml.entities import KubernetesOnlineDeployment, KubernetesOnlineEndpoint
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.mgmt.containerservice import models as aks

RG, WS, CLUSTER = "rg1", "ws1", "aks1"


@pytest.fixture
def ml(fake_arm):
    fake_arm.seed_workspace(RG, WS)
    fake_arm.seed_aks_cluster(RG, CLUSTER)
    fake_arm.seed_kubernetes_compute(RG, WS, "k8s", cluster_resource_group=RG, cluster=CLUSTER)
    return fake_arm.ml_client(RG, WS)


def raw_put(fake, path, body, api_version="2023-04-01-preview"):
    return requests.put(
        f"{fake.base_url}{path}",
        params={"api-version": api_version},
        json=body,
        verify=fake.ca_bundle,
        timeout=10,
    )


def test_a_body_with_a_wrongly_typed_field_is_a_400_naming_the_field(fake_arm):
    fake_arm.seed_aks_cluster(RG, CLUSTER)
    client = fake_arm.container_service_client()
    with pytest.raises(HttpResponseError) as caught:
        client.agent_pools.begin_create_or_update(RG, CLUSTER, "gpu", aks.AgentPool(count="three"))
    assert caught.value.status_code == 400
    assert caught.value.error.code == "InvalidRequestContent"
    assert caught.value.error.target == "properties.count"


def test_a_missing_required_field_is_a_400_naming_the_field(fake_arm, ml):
    path = fake_arm.workspace_id(RG, WS) + "/onlineEndpoints/ep1"
    response = raw_put(fake_arm, path, {"location": "eastus", "properties": {"compute": "x"}})
    error = response.json()["error"]
    assert (response.status_code, error["target"]) == (400, "properties.authMode")
    assert "properties.authMode" in error["message"]


def test_an_unknown_enum_value_and_an_unknown_property_are_both_reported(fake_arm, ml):
    path = fake_arm.workspace_id(RG, WS) + "/onlineEndpoints/ep1"
    body = {"location": "eastus", "properties": {"authMode": "Password", "colour": "blue"}}
    details = raw_put(fake_arm, path, body).json()["error"]["details"]
    assert {d["target"] for d in details} == {"properties.authMode", "properties.colour"}


def test_traffic_to_a_deployment_that_does_not_exist_is_refused_at_endpoint_creation(ml):
    endpoint = KubernetesOnlineEndpoint(name="ep1", compute="k8s", auth_mode="key", traffic={"blue": 100})
    with pytest.raises(ResourceExistsError) as caught:
        ml.online_endpoints.begin_create_or_update(endpoint)
    assert caught.value.status_code == 409
    assert "blue" in caught.value.error.message


def test_traffic_must_sum_to_zero_or_one_hundred(fake_arm, ml):
    fake_arm.seed_model(RG, WS, "m1")
    fake_arm.seed_environment(RG, WS, "env1")
    ml.online_endpoints.begin_create_or_update(KubernetesOnlineEndpoint(name="ep1", compute="k8s")).result()
    ml.online_deployments.begin_create_or_update(
        KubernetesOnlineDeployment(name="blue", endpoint_name="ep1", model="azureml:m1:1", environment="azureml:env1:1")
    ).result()
    endpoint = ml.online_endpoints.get("ep1")
    endpoint.traffic = {"blue": 50}
    with pytest.raises(HttpResponseError) as caught:
        ml.online_endpoints.begin_create_or_update(endpoint)
    assert (caught.value.status_code, caught.value.error.target) == (400, "properties.traffic")


def test_reading_a_missing_endpoint_is_a_resource_not_found(ml):
    with pytest.raises(ResourceNotFoundError) as caught:
        ml.online_endpoints.get("nope")
    assert caught.value.error.code == "ResourceNotFound"


def test_a_deployment_under_a_missing_endpoint_is_a_404(fake_arm, ml):
    path = fake_arm.workspace_id(RG, WS) + "/onlineEndpoints/nope/deployments/blue"
    response = raw_put(fake_arm, path, {"location": "eastus", "properties": {"endpointComputeType": "Kubernetes"}})
    assert (response.status_code, response.json()["error"]["code"]) == (404, "ParentResourceNotFound")


def test_a_request_without_api_version_is_refused(fake_arm, ml):
    response = requests.get(fake_arm.base_url + fake_arm.workspace_id(RG, WS), verify=fake_arm.ca_bundle, timeout=10)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "MissingApiVersionParameter")


def test_a_second_write_while_an_operation_runs_is_a_409(fake_arm):
    fake_arm.seed_aks_cluster(RG, CLUSTER)
    fake_arm.slow_operations("/agentPools/", polls=10)
    client = fake_arm.container_service_client()
    client.agent_pools.begin_create_or_update(RG, CLUSTER, "gpu", aks.AgentPool(count=1, vm_size="Standard_D4s_v5"))
    with pytest.raises(ResourceExistsError) as caught:
        client.agent_pools.begin_create_or_update(RG, CLUSTER, "cpu", aks.AgentPool(count=1))
    assert caught.value.error.code == "OperationNotAllowed"

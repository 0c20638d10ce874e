"""The real ContainerServiceClient and SourceControlConfigurationClient work against the fake."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.containerservice import models as aks
from azure.mgmt.kubernetesconfiguration.v2023_05_01 import models as k8s

RG, CLUSTER = "rg1", "aks1"
CLUSTER_ARGS = (RG, "Microsoft.ContainerService", "managedClusters", CLUSTER)
INFERENCE_SETTINGS = {
    "enableInference": "True",
    "inferenceRouterServiceType": "LoadBalancer",
    "allowInsecureConnections": "True",
    "inferenceRouterHA": "False",
}
GPU_POOL = aks.AgentPool(
    mode="User",
    vm_size="Standard_NC6s_v3",
    count=1,
    enable_auto_scaling=True,
    min_count=0,
    max_count=3,
    node_taints=["sku=gpu:NoSchedule"],
    node_labels={"pool": "gpu"},
)


def azureml_extension(settings=None):
    return k8s.Extension(
        extension_type="Microsoft.AzureML.Kubernetes",
        auto_upgrade_minor_version=True,
        release_train="stable",
        configuration_settings=settings or INFERENCE_SETTINGS,
        configuration_protected_settings={},
        identity=k8s.Identity(type="SystemAssigned"),
    )


def test_a_managed_cluster_is_created_read_and_deleted(fake_arm):
    fake_arm.seed_resource_group(RG)
    client = fake_arm.container_service_client()
    cluster = aks.ManagedCluster(
        location="eastus",
        dns_prefix=CLUSTER,
        agent_pool_profiles=[
            aks.ManagedClusterAgentPoolProfile(name="system", count=1, vm_size="Standard_D4s_v5", mode="System")
        ],
    )
    created = client.managed_clusters.begin_create_or_update(RG, CLUSTER, cluster).result()
    assert (created.provisioning_state, created.agent_pool_profiles[0].name) == ("Succeeded", "system")
    client.managed_clusters.begin_delete(RG, CLUSTER).result()
    with pytest.raises(ResourceNotFoundError):
        client.managed_clusters.get(RG, CLUSTER)


def test_an_agent_pool_is_added_listed_and_deleted(fake_arm):
    fake_arm.seed_aks_cluster(RG, CLUSTER)
    client = fake_arm.container_service_client()
    pool = client.agent_pools.begin_create_or_update(RG, CLUSTER, "gpu", GPU_POOL).result()
    assert (pool.provisioning_state, pool.max_count, pool.orchestrator_version) == ("Succeeded", 3, "1.29.4")
    assert sorted(p.name for p in client.agent_pools.list(RG, CLUSTER)) == ["gpu", "system"]
    client.agent_pools.begin_delete(RG, CLUSTER, "gpu").result()
    assert [p.name for p in client.managed_clusters.get(RG, CLUSTER).agent_pool_profiles] == ["system"]


def test_the_azureml_extension_is_installed_updated_and_removed(fake_arm):
    fake_arm.seed_aks_cluster(RG, CLUSTER)
    client = fake_arm.kubernetes_configuration_client()
    created = client.extensions.begin_create(*CLUSTER_ARGS, "azureml", azureml_extension()).result()
    patch = k8s.PatchExtension(configuration_settings={"inferenceRouterHA": "True"})
    updated = client.extensions.begin_update(*CLUSTER_ARGS, "azureml", patch).result()
    assert (created.provisioning_state, created.scope.cluster.release_namespace) == ("Succeeded", "azureml")
    assert updated.configuration_settings["inferenceRouterHA"] == "True"
    client.extensions.begin_delete(*CLUSTER_ARGS, "azureml").result()
    with pytest.raises(ResourceNotFoundError):
        client.extensions.get(*CLUSTER_ARGS, "azureml")


def test_an_azureml_extension_without_a_router_type_fails_its_operation(fake_arm):
    fake_arm.seed_aks_cluster(RG, CLUSTER)
    client = fake_arm.kubernetes_configuration_client()
    poller = client.extensions.begin_create(*CLUSTER_ARGS, "azureml", azureml_extension({"enableInference": "True"}))
    with pytest.raises(HttpResponseError) as caught:
        poller.result()
    assert "ExtensionOperationFailed" in str(caught.value)
    assert client.extensions.get(*CLUSTER_ARGS, "azureml").provisioning_state == "Failed"


def test_a_cluster_without_a_system_pool_is_refused(fake_arm):
    fake_arm.seed_resource_group(RG)
    cluster = aks.ManagedCluster(
        location="eastus",
        agent_pool_profiles=[aks.ManagedClusterAgentPoolProfile(name="user", count=1, mode="User")],
    )
    with pytest.raises(HttpResponseError) as caught:
        fake_arm.container_service_client().managed_clusters.begin_create_or_update(RG, CLUSTER, cluster)
    assert (caught.value.status_code, caught.value.error.target) == (400, "properties.agentPoolProfiles")

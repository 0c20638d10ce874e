"""Injected throttling, server errors, resets and failing/slow operations reach the SDK as on real ARM."""

from __future__ import annotations

import time

import pytest
from azure.ai.ml.entities import IdentityConfiguration, KubernetesCompute
from azure.core.exceptions import HttpResponseError
from azure.mgmt.containerservice import models as aks

RG, WS, CLUSTER = "rg1", "ws1", "aks1"


@pytest.fixture
def ml(fake_arm):
    fake_arm.seed_workspace(RG, WS)
    fake_arm.seed_aks_cluster(RG, CLUSTER)
    return fake_arm.ml_client(RG, WS, retry_backoff_factor=0.01)


def compute(fake):
    return KubernetesCompute(
        name="k8s",
        resource_id=fake.cluster_id(RG, CLUSTER),
        identity=IdentityConfiguration(type="system_assigned"),
    )


def test_a_429_with_retry_after_is_retried_by_the_sdk(fake_arm, ml):
    rule = fake_arm.inject(method="GET", path_regex=r"/workspaces/ws1$", status=429, retry_after=1, times=1)
    started = time.monotonic()
    assert ml.workspaces.get(WS).name == WS
    assert rule.hits == 1
    assert fake_arm.calls("GET", "workspaces") == 2
    assert time.monotonic() - started >= 1


def test_a_throttling_window_ends_in_the_sdk_raising_429(fake_arm):
    fake_arm.seed_aks_cluster(RG, CLUSTER)
    client = fake_arm.container_service_client(retry_total=1)
    fake_arm.inject(method="GET", path_regex="/managedClusters/", status=429, retry_after=1, times=None, window=30)
    with pytest.raises(HttpResponseError) as caught:
        client.managed_clusters.get(RG, CLUSTER)
    assert (caught.value.status_code, caught.value.error.code) == (429, "TooManyRequests")


def test_a_503_is_retried_and_then_succeeds(fake_arm, ml):
    fake_arm.inject(method="GET", path_regex="/workspaces/", status=503, times=2)
    assert ml.workspaces.get(WS).name == WS
    assert fake_arm.calls("GET", "workspaces") == 3


def test_a_connection_reset_is_retried(fake_arm, ml):
    rule = fake_arm.inject(method="GET", path_regex="/workspaces/", status=None, reset=True, times=1)
    assert ml.workspaces.get(WS).name == WS
    assert rule.hits == 1


def test_a_failed_operation_surfaces_the_arm_error_through_the_poller(fake_arm, ml):
    fake_arm.fail_operations("/computes/k8s", code="ComputeAttachFailed", message="extension missing")
    poller = ml.compute.begin_create_or_update(compute(fake_arm))
    with pytest.raises(HttpResponseError) as caught:
        poller.result()
    assert "ComputeAttachFailed" in str(caught.value)
    assert "extension missing" in str(caught.value)
    stored = fake_arm.resource(fake_arm.workspace_id(RG, WS) + "/computes/k8s")
    assert stored["properties"]["provisioningState"] == "Failed"


def test_a_slow_operation_is_polled_until_done(fake_arm, ml):
    fake_arm.slow_operations("/computes/", polls=1)
    ml.compute.begin_create_or_update(compute(fake_arm)).result()
    assert fake_arm.calls("GET", "operationStatus") == 2


def test_a_resource_being_created_reports_creating_until_its_operation_ends(fake_arm):
    fake_arm.seed_resource_group(RG)
    fake_arm.slow_operations("/managedClusters/", polls=2)
    client = fake_arm.container_service_client()
    cluster = aks.ManagedCluster(
        location="eastus",
        agent_pool_profiles=[aks.ManagedClusterAgentPoolProfile(name="system", count=1, mode="System")],
    )
    client.managed_clusters.begin_create_or_update(RG, CLUSTER, cluster, polling=False).result()
    states = [client.managed_clusters.get(RG, CLUSTER).provisioning_state for _ in range(3)]
    assert states == ["Creating", "Creating", "Succeeded"]

"""Calls are counted by method and resource type, and every request is logged."""

from __future__ import annotations

from azure.ai.ml.entities import KubernetesOnlineEndpoint

RG, WS, CLUSTER = "rg1", "ws1", "aks1"


def test_calls_are_counted_by_method_and_resource_type(fake_arm):
    fake_arm.seed_workspace(RG, WS)
    fake_arm.seed_aks_cluster(RG, CLUSTER)
    fake_arm.seed_kubernetes_compute(RG, WS, "k8s", cluster_resource_group=RG, cluster=CLUSTER)
    ml = fake_arm.ml_client(RG, WS)
    ml.online_endpoints.begin_create_or_update(KubernetesOnlineEndpoint(name="ep1", compute="k8s")).result()
    ml.online_endpoints.get_keys("ep1")
    assert fake_arm.calls("PUT", "onlineEndpoints") == 1
    assert fake_arm.calls("POST", "onlineEndpoints") == 1
    assert fake_arm.calls("PUT") == 1
    assert fake_arm.call_counts()[("GET", "operationStatus")] == 1


def test_seeding_is_not_counted_and_the_log_records_bodies(fake_arm):
    fake_arm.seed_workspace(RG, WS)
    ml = fake_arm.ml_client(RG, WS)
    ml.workspaces.get(WS)
    (record,) = fake_arm.requests("GET", path_regex="/workspaces/")
    assert (record.status, record.query["api-version"], record.resource_type) == (
        200,
        "2024-10-01-preview",
        "workspaces",
    )
    assert record.headers["Authorization"] == "Bearer fake-arm-token"


def test_the_sdk_asks_for_a_token_scoped_to_the_fake(fake_arm):
    from fake_arm import StaticTokenCredential

    fake_arm.seed_workspace(RG, WS)
    credential = StaticTokenCredential()
    fake_arm.ml_client(RG, WS, credential=credential).workspaces.get(WS)
    assert credential.scopes[0] == (f"{fake_arm.base_url}/.default",)

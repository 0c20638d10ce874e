"""An operator restart resumes observing Azure operations; deleting a platform releases Azure per its policy."""

from __future__ import annotations

from fake_arm import FakeArm
from mlops_operator.api.v1alpha1 import API_VERSION
from mlops_operator.kube import Kube

from .conftest import start_operator
from .helpers import AKS, PLATFORM, RG, WS, create_ready_platform, md_body, status_of, wait_condition, wait_for

MD = "ModelDeployment"
NODE_POOL = {"name": "mlpool", "minCount": 1, "maxCount": 3}


def test_an_operator_restarted_mid_operation_resumes_observing_it(
    azure_env: FakeArm, kube: Kube, namespace: str
) -> None:
    azure_env.slow_operations("/deployments/blue", polls=2, seconds=4)
    with start_operator():
        create_ready_platform(kube)
        kube.create(md_body(namespace, "blue", traffic=100))
        wait_for(lambda: "deployment" in (status_of(kube, MD, "blue", namespace).get("operations") or {}))
    recorded = status_of(kube, MD, "blue", namespace)["operations"]["deployment"]
    assert status_of(kube, MD, "blue", namespace).get("provisioningState") is None  # stopped before it finished

    with start_operator():
        wait_condition(kube, MD, "blue", "Ready", "True", namespace)

    assert len(azure_env.requests("PUT", "/deployments/blue")) == 1
    assert "mfeOperationsStatus" in recorded["url"]  # a typed record: started, tag (generation), url
    assert recorded["tag"] == "1"
    assert not status_of(kube, MD, "blue", namespace).get("operations")


def test_deleting_a_managed_platform_detaches_the_compute_and_removes_what_it_created(
    azure_env: FakeArm, kube: Kube
) -> None:
    cluster = azure_env.cluster_id(RG, AKS)
    extension = f"{cluster}/providers/Microsoft.KubernetesConfiguration/extensions/azureml"
    with start_operator():
        create_ready_platform(kube, nodePool=NODE_POOL)
        kube.delete(API_VERSION, "MLOpsPlatform", PLATFORM)
        wait_for(lambda: kube.get(API_VERSION, "MLOpsPlatform", PLATFORM) is None, what="platform finalized")

    assert azure_env.resource(f"{azure_env.workspace_id(RG, WS)}/computes/aks-compute") is None
    deletes = azure_env.requests("DELETE", "/computes/aks-compute$")
    assert [r.query.get("underlyingResourceAction") for r in deletes] == ["Detach"]
    assert azure_env.resource(extension) is None
    assert azure_env.resource(f"{cluster}/agentPools/mlpool") is None
    assert azure_env.resource(cluster) is not None


def test_deleting_a_detach_on_delete_platform_keeps_the_extension_and_node_pool(azure_env: FakeArm, kube: Kube) -> None:
    cluster = azure_env.cluster_id(RG, AKS)
    with start_operator():
        create_ready_platform(kube, nodePool=NODE_POOL)
        policy = {"metadata": {"annotations": {"mlops.dev/reconcile-policy": "detach-on-delete"}}}
        kube.patch_merge(API_VERSION, "MLOpsPlatform", PLATFORM, None, policy)
        kube.delete(API_VERSION, "MLOpsPlatform", PLATFORM)
        wait_for(lambda: kube.get(API_VERSION, "MLOpsPlatform", PLATFORM) is None, what="platform finalized")

    assert azure_env.resource(f"{azure_env.workspace_id(RG, WS)}/computes/aks-compute") is None
    assert azure_env.resource(f"{cluster}/providers/Microsoft.KubernetesConfiguration/extensions/azureml") is not None
    assert azure_env.resource(f"{cluster}/agentPools/mlpool") is not None


def test_a_platform_with_a_live_azure_deployment_is_kept_until_the_deployment_is_gone(
    azure_env: FakeArm, kube: Kube, namespace: str
) -> None:
    with start_operator():
        create_ready_platform(kube)
        kube.create(md_body(namespace, "blue", traffic=100))
        wait_condition(kube, MD, "blue", "Ready", "True", namespace)

        kube.delete(API_VERSION, "MLOpsPlatform", PLATFORM)

        wait_condition(kube, MD, "blue", "Ready", "False", namespace, "PlatformTerminating", timeout=10)
        blocked = wait_condition(kube, "MLOpsPlatform", PLATFORM, "DeletionBlocked", "True", reason="InUse", timeout=10)
        assert f"{namespace}/blue" in blocked["message"]
        assert azure_env.resource(f"{azure_env.workspace_id(RG, WS)}/computes/aks-compute") is not None

        kube.delete(API_VERSION, MD, "blue", namespace)
        wait_for(lambda: kube.get(API_VERSION, "MLOpsPlatform", PLATFORM) is None, 30, "platform finalized")

    assert azure_env.resource(f"{azure_env.workspace_id(RG, WS)}/computes/aks-compute") is None

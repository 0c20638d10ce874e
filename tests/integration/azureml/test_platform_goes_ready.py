"""An azureml MLOpsPlatform goes Ready through every step, and its instance types follow the spec."""

from __future__ import annotations

from kopf.testing import KopfRunner

from fake_arm import FakeArm
from mlops_operator.kube import Kube

from .helpers import AKS, PLATFORM, RG, WS, conditions, platform_body, status_of, wait_condition, wait_for

STEPS = ("WorkspaceReady", "NodePoolReady", "ExtensionReady", "ComputeAttached", "InstanceTypesReady", "Ready")
NODE_POOL = {"name": "mlpool", "minCount": 1, "maxCount": 4, "labels": {"agentpool": "mlpool"}}


def test_a_platform_goes_ready_through_every_step(operator: KopfRunner, azure_env: FakeArm, kube: Kube) -> None:
    kube.create(platform_body(nodePool=NODE_POOL, namespace="azureml-inference"))

    wait_condition(kube, "MLOpsPlatform", PLATFORM, "Ready", "True")

    found = conditions(kube, "MLOpsPlatform", PLATFORM)
    assert {t: found[t]["status"] for t in STEPS} == dict.fromkeys(STEPS, "True")
    status = status_of(kube, "MLOpsPlatform", PLATFORM)
    compute_id = f"{azure_env.workspace_id(RG, WS)}/computes/aks-compute"
    assert status["computeResourceId"].lower() == compute_id.lower()
    assert status["workspaceId"].lower() == azure_env.workspace_id(RG, WS).lower()
    assert not status.get("operations")
    compute = azure_env.resource(compute_id)["properties"]
    assert compute["resourceId"] == azure_env.cluster_id(RG, AKS)
    assert compute["properties"]["namespace"] == "azureml-inference"
    assert kube.get("v1", "Namespace", "azureml-inference") is not None
    cluster = azure_env.cluster_id(RG, AKS)
    pool = azure_env.resource(f"{cluster}/agentPools/mlpool")["properties"]
    assert (pool["mode"], pool["minCount"], pool["maxCount"], pool["enableAutoScaling"]) == ("User", 1, 4, True)
    assert pool["nodeTaints"] == ["ml.azure.com/amlarc-workload=true:NoSchedule"]
    assert pool["nodeLabels"] == {"agentpool": "mlpool"}
    extension = azure_env.resource(f"{cluster}/providers/Microsoft.KubernetesConfiguration/extensions/azureml")
    assert extension["properties"]["configurationSettings"] == {
        "enableInference": "True",
        "inferenceRouterServiceType": "loadBalancer",
        "allowInsecureConnections": "True",
        "inferenceRouterHA": "True",
    }


def test_instance_types_appear_in_the_cluster_and_go_when_dropped(
    operator: KopfRunner, azure_env: FakeArm, kube: Kube
) -> None:
    kube.create(platform_body())
    wait_condition(kube, "MLOpsPlatform", PLATFORM, "InstanceTypesReady", "True")

    gpu = kube.get("amlarc.azureml.com/v1alpha1", "InstanceType", "gpu-model")
    assert gpu["spec"]["resources"] == {
        "requests": {"cpu": "4", "memory": "16Gi"},
        "limits": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "1"},
    }
    assert gpu["spec"]["nodeSelector"] == {"agentpool": "mlpool"}
    # its own toleration first, then the platform's GPU defaults (spec.gpu, docs/gpu.md)
    assert [t["key"] for t in gpu["spec"]["tolerations"]] == ["ml.azure.com/amlarc-workload", "sku", "nvidia.com/gpu"]
    assert gpu["metadata"]["ownerReferences"][0]["name"] == PLATFORM
    assert kube.get("amlarc.azureml.com/v1alpha1", "InstanceType", "small-cpu-model") is not None

    body = kube.get("mlops.dev/v1alpha1", "MLOpsPlatform", PLATFORM)
    kept = [it for it in body["spec"]["instanceTypes"] if it["name"] == "small-cpu-model"]
    kube.patch_merge("mlops.dev/v1alpha1", "MLOpsPlatform", PLATFORM, None, {"spec": {"instanceTypes": kept}})

    wait_for(
        lambda: kube.get("amlarc.azureml.com/v1alpha1", "InstanceType", "gpu-model") is None, what="gpu-model gone"
    )
    assert kube.get("amlarc.azureml.com/v1alpha1", "InstanceType", "small-cpu-model") is not None
    wait_for(lambda: status_of(kube, "MLOpsPlatform", PLATFORM).get("instanceTypes") == ["small-cpu-model"])


def test_a_missing_workspace_is_reported_with_how_to_fix_it(
    operator: KopfRunner, azure_env: FakeArm, kube: Kube
) -> None:
    kube.create(platform_body(workspace={"name": "no-such-ws"}))

    found = wait_condition(kube, "MLOpsPlatform", PLATFORM, "WorkspaceReady", "False", reason="WorkspaceNotFound")

    assert "workspace.create: true" in found["message"]
    assert conditions(kube, "MLOpsPlatform", PLATFORM)["ComputeAttached"]["status"] == "Unknown"


def test_an_adopted_extension_is_used_as_is_without_writes(
    operator: KopfRunner, azure_env: FakeArm, kube: Kube
) -> None:
    azure_env.seed_azureml_extension(RG, AKS)
    kube.create(platform_body(extension={"mode": "adopt", "allowInsecureConnections": True, "inferenceRouterHA": True}))

    ready = wait_condition(kube, "MLOpsPlatform", PLATFORM, "ExtensionReady", "True")

    assert "adopted as is; differs in inferenceRouterHA" in ready["message"]
    assert azure_env.calls("PUT", "extensions") == azure_env.calls("PATCH", "extensions") == 0


def test_a_failed_extension_install_shows_the_arm_error(operator: KopfRunner, azure_env: FakeArm, kube: Kube) -> None:
    azure_env.fail_operations("/extensions/azureml", code="ExtensionOperationFailed", message="helm install timed out")
    kube.create(platform_body())

    found = wait_condition(kube, "MLOpsPlatform", PLATFORM, "ExtensionReady", "False", reason="AzureOperationFailed")

    assert "ExtensionOperationFailed: helm install timed out" in found["message"]
    assert conditions(kube, "MLOpsPlatform", PLATFORM)["Ready"]["severity"] == "Error"
    assert azure_env.calls("PUT", "extensions") == 1


def test_a_missing_credentials_secret_is_reported_on_the_first_step(
    operator: KopfRunner, azure_env: FakeArm, kube: Kube
) -> None:
    kube.create(platform_body(identity={"credentialsSecretRef": {"name": "azure-sp", "namespace": "default"}}))

    found = wait_condition(
        kube, "MLOpsPlatform", PLATFORM, "WorkspaceReady", "False", reason="AzureCredentialsUnavailable"
    )

    assert "default/azure-sp" in found["message"]
    assert azure_env.calls() == 0

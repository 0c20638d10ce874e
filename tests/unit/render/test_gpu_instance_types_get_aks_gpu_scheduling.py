"""Instance types with `nvidia.com/gpu` limits get GPU tolerations (and, where safe, a node selector) added."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_operator.api.problems import InvalidResourceError, parse_resource
from mlops_operator.api.v1alpha1 import InstanceType, MLOpsPlatform, ModelDeployment
from mlops_operator.api.v1alpha1.gpu import GpuScheduling
from mlops_operator.api.v1alpha1.platform import NodePoolSettings
from mlops_operator.render.azureml import render_instance_type
from mlops_operator.render.placement import placement, taint_toleration
from mlops_operator.render.workload import WorkloadInputs, render_deployment

CPU_ONLY = {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}
ONE_GPU = {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": 1}}
ZERO_GPUS = {"requests": {"cpu": "1"}, "limits": {"cpu": "2", "nvidia.com/gpu": 0}}
AKS_GPU = {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}
NVIDIA_GPU = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
AML_WORKLOAD = {"key": "ml.azure.com/amlarc-workload", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
DEFAULTS = GpuScheduling()
GPU_POOL = NodePoolSettings(
    name="gpupool", vm_size="Standard_NC24ads_A100_v4", accelerator="nvidia", taints=["sku=gpu:NoSchedule"]
)


def instance_type(resources: dict[str, Any] = ONE_GPU, **declared: Any) -> InstanceType:
    return InstanceType.model_validate({"name": "it", "resources": resources, **declared})


def wire(where: Any) -> tuple[dict[str, str], list[dict[str, Any]]]:
    return where.node_selector, where.tolerations_wire()


def test_a_cpu_instance_type_runs_exactly_as_declared() -> None:
    declared = instance_type(CPU_ONLY, nodeSelector={"agentpool": "cpu"}, tolerations=[AML_WORKLOAD])

    assert wire(placement(declared, DEFAULTS)) == ({"agentpool": "cpu"}, [AML_WORKLOAD])


def test_a_limit_of_zero_gpus_is_no_gpu() -> None:
    assert wire(placement(instance_type(ZERO_GPUS), DEFAULTS)) == ({}, [])


def test_by_default_a_gpu_instance_type_tolerates_the_aks_and_nvidia_gpu_taints_and_selects_no_nodes() -> None:
    assert wire(placement(instance_type(), DEFAULTS)) == ({}, [AKS_GPU, NVIDIA_GPU])


def test_declared_tolerations_come_first_and_the_same_key_and_effect_is_not_added_twice() -> None:
    own_sku = {"key": "sku", "operator": "Equal", "value": "a100", "effect": "NoSchedule"}
    declared = instance_type(tolerations=[AML_WORKLOAD, own_sku])

    assert wire(placement(declared, DEFAULTS))[1] == [AML_WORKLOAD, own_sku, NVIDIA_GPU]


def test_a_toleration_of_every_effect_or_every_key_covers_what_would_be_added() -> None:
    any_effect = {"key": "nvidia.com/gpu", "operator": "Exists"}
    everything = {"operator": "Exists"}

    assert wire(placement(instance_type(tolerations=[any_effect]), DEFAULTS))[1] == [any_effect, AKS_GPU]
    assert wire(placement(instance_type(tolerations=[everything]), DEFAULTS))[1] == [everything]


def test_the_platform_node_selector_is_added_and_the_instance_type_wins_on_the_same_key() -> None:
    gpu = GpuScheduling(node_selector={"kubernetes.azure.com/accelerator": "nvidia", "gpu": "any"})
    declared = instance_type(nodeSelector={"gpu": "a100"})

    assert wire(placement(declared, gpu))[0] == {"gpu": "a100", "kubernetes.azure.com/accelerator": "nvidia"}


def test_enabled_false_leaves_gpu_instance_types_exactly_as_declared_even_on_an_nvidia_pool() -> None:
    off = GpuScheduling(enabled=False, node_selector={"gpu": "yes"})

    assert wire(placement(instance_type(tolerations=[AML_WORKLOAD]), off, GPU_POOL)) == ({}, [AML_WORKLOAD])


def test_an_empty_toleration_list_adds_no_tolerations() -> None:
    assert wire(placement(instance_type(), GpuScheduling(tolerations=[]))) == ({}, [])


def test_on_an_nvidia_managed_pool_gpu_instance_types_select_the_pool_and_tolerate_its_taints() -> None:
    aml_tainted = GPU_POOL.model_copy(update={"taints": ["ml.azure.com/amlarc-workload=true:NoSchedule"]})

    assert wire(placement(instance_type(), DEFAULTS, GPU_POOL)) == (
        {"kubernetes.azure.com/agentpool": "gpupool"},
        [AKS_GPU, NVIDIA_GPU],  # the pool's sku=gpu taint is already tolerated
    )
    assert wire(placement(instance_type(), DEFAULTS, aml_tainted))[1] == [AKS_GPU, NVIDIA_GPU, AML_WORKLOAD]


def test_a_pool_without_an_accelerator_or_an_instance_type_naming_its_own_pool_is_not_redirected() -> None:
    cpu_pool = GPU_POOL.model_copy(update={"accelerator": None})
    pinned = instance_type(nodeSelector={"agentpool": "h100pool"})

    assert wire(placement(instance_type(), DEFAULTS, cpu_pool))[0] == {}
    assert wire(placement(pinned, DEFAULTS, GPU_POOL))[0] == {"agentpool": "h100pool"}
    assert wire(placement(instance_type(CPU_ONLY), DEFAULTS, GPU_POOL)) == ({}, [])


@pytest.mark.parametrize(
    ("taint", "toleration"),
    [
        ("sku=gpu:NoSchedule", AKS_GPU),
        ("nvidia.com/gpu:NoSchedule", NVIDIA_GPU),
        ("dedicated=ml:NoExecute", {"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoExecute"}),
    ],
)
def test_an_aks_taint_becomes_the_toleration_that_matches_it(taint: str, toleration: dict[str, Any]) -> None:
    assert taint_toleration(taint).to_wire() == toleration


def deployment(resources: dict[str, Any] | None = None) -> ModelDeployment:
    spec = {"platformRef": {"name": "p"}, "endpoint": {"name": "scoring"}, "model": {"name": "m", "version": "1"}}
    return ModelDeployment.model_validate(
        {
            "metadata": {"name": "blue", "namespace": "models", "uid": "u1"},
            "spec": {**spec, **({"resources": resources} if resources else {})},
        }
    )


def native_pod(resources: dict[str, Any], md_resources: dict[str, Any] | None = None) -> dict[str, Any]:
    inputs = WorkloadInputs(instance_type(resources), image="i", fetcher_image="i", gpu=DEFAULTS)
    pod: dict[str, Any] = render_deployment(deployment(md_resources), inputs)["spec"]["template"]["spec"]
    return pod


def test_native_pods_get_gpu_scheduling_from_what_they_actually_ask_for() -> None:
    assert native_pod(ONE_GPU)["tolerations"] == [AKS_GPU, NVIDIA_GPU]
    assert "tolerations" not in native_pod(ONE_GPU, md_resources=CPU_ONLY)
    assert native_pod(CPU_ONLY, md_resources={"limits": {"nvidia.com/gpu": 1}})["tolerations"] == [AKS_GPU, NVIDIA_GPU]
    assert "nodeSelector" not in native_pod(ONE_GPU)


def test_the_azure_ml_instance_type_and_the_native_pod_are_placed_alike() -> None:
    declared = {"name": "it", "resources": ONE_GPU, "nodeSelector": {"agentpool": "gpu"}, "tolerations": [AML_WORKLOAD]}
    platform = MLOpsPlatform.model_validate(
        {"metadata": {"name": "p"}, "spec": {"instanceTypes": [declared], "gpu": {"nodeSelector": {"gpu": "yes"}}}}
    )
    aml = render_instance_type(platform.spec.instance_types[0], platform)["spec"]
    inputs = WorkloadInputs(platform.spec.instance_types[0], image="i", fetcher_image="i", gpu=platform.spec.gpu)
    pod = render_deployment(deployment(), inputs)["spec"]["template"]["spec"]

    assert (aml["nodeSelector"], aml["tolerations"]) == (pod["nodeSelector"], pod["tolerations"])
    assert aml["tolerations"] == [AML_WORKLOAD, AKS_GPU, NVIDIA_GPU]


def test_a_node_pool_taint_that_is_not_key_value_effect_is_refused_at_its_field() -> None:
    doc = {
        "apiVersion": "mlops.dev/v1alpha1",
        "kind": "MLOpsPlatform",
        "metadata": {"name": "p"},
        "spec": {
            "backend": "azureml",
            "azure": {
                "subscriptionId": "00000000-1111-2222-3333-444444444444",
                "resourceGroup": "rg",
                "workspace": {"name": "mlw"},
                "cluster": {"name": "aks"},
                "extension": {"allowInsecureConnections": True},
                "nodePool": {"name": "gpupool", "taints": ["sku=gpu"]},
            },
        },
    }
    with pytest.raises(InvalidResourceError) as error:
        parse_resource(doc)

    assert "spec.azure.nodePool.taints[0]" in str(error.value)

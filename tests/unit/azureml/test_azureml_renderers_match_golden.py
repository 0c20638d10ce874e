"""The azureml renderers produce exactly the committed shapes. Regenerate with `UPDATE_GOLDEN=1 pytest tests/unit`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlops_operator.api.v1alpha1 import MLOpsPlatform, ModelDeployment
from mlops_operator.api.v1alpha1.platform import ExtensionSettings, NodePoolSettings
from mlops_operator.render.azureml import (
    extension_settings,
    render_agent_pool,
    render_deployment_shape,
    render_instance_type,
)

GOLDEN = Path(__file__).parents[1] / "golden" / "azureml"
WS = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"
PLATFORM = MLOpsPlatform.model_validate(
    {
        "metadata": {"name": "aml", "uid": "uid-aml"},
        "spec": {
            "backend": "azureml",
            "instanceTypes": [
                {
                    "name": "gpu-model",
                    "resources": {
                        "requests": {"cpu": 4, "memory": "16Gi"},
                        "limits": {"cpu": 8, "memory": "32Gi", "nvidia.com/gpu": 1},
                    },
                    "nodeSelector": {"agentpool": "mlpool"},
                    "tolerations": [{"key": "ml.azure.com/amlarc-workload", "value": "true", "effect": "NoSchedule"}],
                }
            ],
            "azure": {
                "subscriptionId": "00000000-1111-2222-3333-444444444444",
                "resourceGroup": "rg",
                "workspace": {"name": "mlw"},
                "cluster": {"name": "aks"},
                "extension": {"allowInsecureConnections": True},
            },
        },
    }
)


def _on_an_nvidia_pool() -> MLOpsPlatform:
    """The platform with an operator-managed NVIDIA pool and a GPU instance type that names no nodes."""
    wire = PLATFORM.to_wire()
    wire["spec"]["azure"]["nodePool"] = {
        "name": "gpupool",
        "vmSize": "Standard_NC24ads_A100_v4",
        "accelerator": "nvidia",
    }
    wire["spec"]["instanceTypes"][0].pop("nodeSelector")
    wire["spec"]["instanceTypes"][0].pop("tolerations")
    return MLOpsPlatform.model_validate(wire)


ON_AN_NVIDIA_POOL = _on_an_nvidia_pool()
DEPLOYMENT = ModelDeployment.model_validate(
    {
        "metadata": {"name": "blue", "namespace": "ml", "generation": 3},
        "spec": {
            "platformRef": {"name": "aml"},
            "endpoint": {"name": "scoring"},
            "model": {"name": "m", "version": "2"},
            "environment": {"image": "example.azurecr.io/serving:1"},
            "instanceType": "gpu-model",
            "instanceCount": 2,
            "requestSettings": {"requestTimeoutMs": 3000, "maxConcurrentRequestsPerInstance": 2},
            "livenessProbe": {"initialDelay": 30, "failureThreshold": 3},
            "scaleSettings": {"type": "targetUtilization", "minInstances": 2, "maxInstances": 5},
            "resources": {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"cpu": "4", "nvidia.com/gpu": "1"}},
            "environmentVariables": {"WORKERS": "2"},
        },
    }
)


def _cases() -> dict[str, Any]:
    ha = ExtensionSettings(allow_insecure_connections=True)
    tls = ExtensionSettings(ssl_secret_ref={"name": "router-tls"}, ssl_cname="scoring.example.com")
    return {
        "instancetype-gpu": render_instance_type(PLATFORM.spec.instance_types[0], PLATFORM),
        "instancetype-gpu-on-nvidia-pool": render_instance_type(
            ON_AN_NVIDIA_POOL.spec.instance_types[0], ON_AN_NVIDIA_POOL
        ),
        "extension-insecure-ha": extension_settings(ha, node_count=3, ssl_secret=None).__dict__,
        "extension-small-cluster": extension_settings(ha, node_count=2, ssl_secret=None).__dict__,
        "extension-tls": extension_settings(tls, node_count=3, ssl_secret="mlops-aml-tls").__dict__,
        "agentpool-default-taint": render_agent_pool(NodePoolSettings(name="mlpool", labels={"pool": "ml"}), "aml"),
        "deployment-shape": render_deployment_shape(
            DEPLOYMENT, f"{WS}/models/m/versions/2", f"{WS}/environments/e/versions/1"
        ),
    }


CASES = _cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_rendered_azureml_shape_matches_the_golden_file(name: str, matches_golden: Callable[[Any, Path], None]) -> None:
    matches_golden(CASES[name], GOLDEN / f"{name}.yaml")


def test_instance_types_are_cluster_scoped_and_keep_gpus_in_limits_only() -> None:
    rendered = CASES["instancetype-gpu"]
    assert "namespace" not in rendered["metadata"]
    assert "nvidia.com/gpu" not in rendered["spec"]["resources"]["requests"]
    assert rendered["spec"]["resources"]["limits"]["nvidia.com/gpu"] == "1"


def test_router_ha_is_turned_off_below_three_nodes_and_says_so() -> None:
    plan = CASES["extension-small-cluster"]
    assert plan["settings"]["inferenceRouterHA"] == "False"
    assert "3+ nodes" in plan["notes"][0]


def test_https_inference_uses_the_copied_tls_secret_and_the_cname() -> None:
    settings = CASES["extension-tls"]["settings"]
    assert (settings["allowInsecureConnections"], settings["sslSecret"], settings["sslCname"]) == (
        "False",
        "mlops-aml-tls",
        "scoring.example.com",
    )

"""Building azureml test resources and waiting on what the operator does with them."""

from __future__ import annotations

from typing import Any

from polling import wait_for

from fake_arm import DEFAULT_SUBSCRIPTION
from mlops_operator.kube import Kube, KubeError

RG, WS, AKS = "rg-mlops", "mlw-demo", "aks-mlops"
PLATFORM = "aml"
MODEL_URI = "azureml://datastores/workspaceblobstore/paths/models/sample/"
IMAGE = "mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu-inference:latest"
API = "mlops.dev/v1alpha1"


def platform_body(name: str = PLATFORM, **azure: Any) -> dict[str, Any]:
    cpu = {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}
    gpu = {"requests": {"cpu": "4", "memory": "16Gi"}, "limits": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "1"}}
    toleration = [{"key": "ml.azure.com/amlarc-workload", "operator": "Equal", "value": "true", "effect": "NoSchedule"}]
    return {
        "apiVersion": API,
        "kind": "MLOpsPlatform",
        "metadata": {"name": name},
        "spec": {
            "backend": "azureml",
            "defaultInstanceType": "small-cpu-model",
            "instanceTypes": [
                {"name": "small-cpu-model", "resources": cpu, "nodeSelector": {"agentpool": "mlpool"}},
                {
                    "name": "gpu-model",
                    "resources": gpu,
                    "nodeSelector": {"agentpool": "mlpool"},
                    "tolerations": toleration,
                },
            ],
            "azure": {
                "subscriptionId": DEFAULT_SUBSCRIPTION,
                "resourceGroup": RG,
                "workspace": {"name": WS},
                "cluster": {"name": AKS},
                "extension": {"allowInsecureConnections": True, "inferenceRouterServiceType": "LoadBalancer"},
                **azure,
            },
        },
    }


def md_body(
    namespace: str, name: str, endpoint: str = "mlops-endpoint", annotations: dict[str, str] | None = None, **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "ModelDeployment",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations or {}},
        "spec": {
            "platformRef": {"name": PLATFORM},
            "endpoint": {"name": endpoint},
            "model": {"name": "sample-model", "version": "1", "uri": MODEL_URI},
            "environment": {"image": IMAGE},
            "instanceCount": 2,
            **spec,
        },
    }


def conditions(kube: Kube, kind: str, name: str, namespace: str | None = None) -> dict[str, dict[str, Any]]:
    body = kube.get(API, kind, name, namespace) or {}
    return {c["type"]: c for c in (body.get("status") or {}).get("conditions", [])}


def wait_condition(
    kube: Kube,
    kind: str,
    name: str,
    type_: str,
    status: str,
    namespace: str | None = None,
    reason: str | None = None,
    timeout: float = 60,
) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        found = conditions(kube, kind, name, namespace).get(type_)
        if found and found["status"] == status and (reason is None or found["reason"] == reason):
            return found
        return None

    try:
        return wait_for(check, timeout, f"{kind} {name} {type_}={status} {reason or ''}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; conditions now: {conditions(kube, kind, name, namespace)}") from None


def status_of(kube: Kube, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    return (kube.get(API, kind, name, namespace) or {}).get("status") or {}


def create_ready_platform(kube: Kube, **azure: Any) -> dict[str, Any]:
    kube.create(platform_body(**azure))
    wait_condition(kube, "MLOpsPlatform", PLATFORM, "Ready", "True")
    return status_of(kube, "MLOpsPlatform", PLATFORM)


def delete_everything(kube: Kube) -> None:
    """After the operator stopped: drop finalizers and delete what the tests created (the fake is reset anyway)."""
    unfinalize = {"metadata": {"finalizers": None}}
    doomed = [(i["metadata"]["name"], i["metadata"]["namespace"]) for i in kube.list(API, "ModelDeployment")]
    doomed_platforms = [
        i["metadata"]["name"] for i in kube.list(API, "MLOpsPlatform") if i["spec"].get("backend") == "azureml"
    ]
    for kind, items in (("ModelDeployment", doomed), ("MLOpsPlatform", [(n, None) for n in doomed_platforms])):
        for name, namespace in items:
            try:
                kube.patch_merge(API, kind, name, namespace, unfinalize)
                kube.delete(API, kind, name, namespace)
            except KubeError as exc:
                if exc.status != 404:
                    raise
    wait_for(
        lambda: not [p for p in kube.list(API, "MLOpsPlatform") if p["spec"].get("backend") == "azureml"],
        30,
        "platforms gone",
    )

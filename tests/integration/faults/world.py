"""What the churn runs in: one namespace, a native and an azureml platform, the fake ARM server's faults,
and the ModelDeployment bodies the plan's actions turn into."""

from __future__ import annotations

from typing import Any

from azureml.helpers import AKS, RG, WS, md_body, platform_body

from fake_arm import FakeArm
from mlops_operator.kube import Kube

from .plan import AZUREML, Action, Expected

API = "mlops.dev/v1alpha1"
NAMESPACE = "churn"
NATIVE_PLATFORM, AZUREML_PLATFORM = "churn-native", "aml"
FIELD_MANAGER = "churn-test"
RETRY_AFTER_SECONDS = 4
SLOW_POLLS, SLOW_SECONDS = 4, 12.0  # longer than an operator's restart
ML_TOLERATION = {"key": "workload", "operator": "Equal", "value": "ml", "effect": "NoSchedule"}


def prepare(kube: Kube, fake: FakeArm) -> None:
    """The namespace with the native models' files, both platforms, and the Azure world the recipe expects."""
    fake.seed_workspace(RG, WS)
    fake.seed_aks_cluster(RG, AKS)
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    for name, key in (("model", "model.pkl"), ("code", "score.py")):
        data = {key: "placeholder: kwok pods never read it"}
        kube.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": NAMESPACE},
                     "data": data})  # fmt: skip
    kube.apply(native_platform(), FIELD_MANAGER)
    kube.apply(platform_body(AZUREML_PLATFORM), FIELD_MANAGER)


def native_platform() -> dict[str, Any]:
    """Small requests, so ~150 fake pods fit on the three tainted kwok nodes."""
    resources = {"requests": {"cpu": "20m", "memory": "32Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
    instance_type = {"name": "tiny", "resources": resources, "nodeSelector": {"agentpool": "mlpool"},
                     "tolerations": [ML_TOLERATION]}  # fmt: skip
    spec = {"backend": "native", "defaultInstanceType": "tiny", "instanceTypes": [instance_type]}
    return {"apiVersion": API, "kind": "MLOpsPlatform", "metadata": {"name": NATIVE_PLATFORM}, "spec": spec}


def model_deployment(model: Expected, spec: dict[str, Any]) -> dict[str, Any]:
    if model.backend == AZUREML:
        return md_body(NAMESPACE, model.name, endpoint=model.endpoint, **spec)
    body = {
        "platformRef": {"name": NATIVE_PLATFORM},
        "endpoint": {"name": model.endpoint},
        "model": {"name": "churn", "version": "1", "uri": "configmap://model"},
        "code": {"scoringScript": "score.py", "configMap": {"name": "code"}},
        **spec,
    }
    return {"apiVersion": API, "kind": "ModelDeployment", "metadata": {"name": model.name, "namespace": NAMESPACE},
            "spec": body}  # fmt: skip


def apply_action(kube: Kube, models: dict[str, Expected], action: Action) -> None:
    """One create, update or delete, as a user (or a GitOps tool) would send it."""
    if action.verb == "create":
        kube.create(model_deployment(models[action.name], action.change))
    elif action.verb == "update":
        kube.patch_merge(API, "ModelDeployment", action.name, NAMESPACE, {"spec": action.change})
    elif action.verb == "delete":
        kube.delete(API, "ModelDeployment", action.name, NAMESPACE)
    else:
        raise ValueError(f"not a ModelDeployment action: {action}")


def deployment_path(model: Expected) -> str:
    """The Azure online deployment's ARM path, as a regex the fake matches (case-insensitive)."""
    return f"/onlineEndpoints/{model.endpoint}/deployments/{model.name}$"


def program_faults(fake: FakeArm, models: dict[str, Expected]) -> dict[str, Any]:
    """Each faulty model's misbehaviour, on its own deployment's path; returns the rules (their hits count)."""
    rules: dict[str, Any] = {}
    for model in models.values():
        if model.fault is None:
            continue
        path = deployment_path(model)
        rules[model.name] = _program(fake, model.fault, path)
    return rules


def _program(fake: FakeArm, fault: str, path: str) -> Any:
    method = "PUT" if fault.endswith("-put") else "GET"
    if fault.startswith("throttle"):
        return fake.inject(method=method, path_regex=path, status=429, retry_after=RETRY_AFTER_SECONDS)
    if fault.startswith("unavailable"):
        return fake.inject(method=method, path_regex=path, status=500 if method == "GET" else 503)
    if fault.startswith("reset"):
        return fake.inject(method=method, path_regex=path, status=None, reset=True)
    if fault == "lro-failed":
        message = "Deployment failed: the scoring container exited (injected)."
        return fake.fail_operations(path, method="PUT", code="DeploymentFailed", message=message)
    if fault == "lro-canceled":
        return fake.fail_operations(path, method="PUT", code="Canceled", message="Canceled (injected).",
                                    status="Canceled")  # fmt: skip
    if fault == "slow":
        return fake.slow_operations(path, method="PUT", polls=SLOW_POLLS, seconds=SLOW_SECONDS)
    raise ValueError(f"unknown fault {fault}")

"""The azureml flow against a real subscription and AKS cluster. Opt-in: `pytest --azure` (see docs/testing.md).

Uses production credentials (DefaultAzureCredential: `az login`, environment, workload identity); no test
hook. Needs, in the environment:
  MLOPS_TEST_AZURE_SUBSCRIPTION, MLOPS_TEST_AZURE_RESOURCE_GROUP, MLOPS_TEST_AZURE_WORKSPACE,
  MLOPS_TEST_AZURE_AKS (cluster name), MLOPS_TEST_AKS_KUBECONFIG (kubeconfig of that cluster, with our CRDs
  installed: `mlopsctl crds | kubectl apply -f -`), MLOPS_TEST_AZURE_MODEL_URI (azureml:// or https:// model
  files) and optionally MLOPS_TEST_AZURE_IMAGE (an image that serves that model).
It creates endpoint `mlops-e2e-<random>` and deletes it again. Expect 20-40 minutes (extension, deployment).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from kopf.testing import KopfRunner

from mlops_operator.kube import Kube, load_api_client

pytestmark = pytest.mark.azure
API = "mlops.dev/v1alpha1"
NEEDED = (
    "MLOPS_TEST_AZURE_SUBSCRIPTION",
    "MLOPS_TEST_AZURE_RESOURCE_GROUP",
    "MLOPS_TEST_AZURE_WORKSPACE",
    "MLOPS_TEST_AZURE_AKS",
    "MLOPS_TEST_AKS_KUBECONFIG",
    "MLOPS_TEST_AZURE_MODEL_URI",
)
IMAGE = "mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu-inference:latest"


def _env() -> dict[str, str]:
    missing = [k for k in NEEDED if not os.environ.get(k)]
    if missing:
        pytest.skip(f"set {', '.join(missing)} to run against a real subscription")
    return {k: os.environ[k] for k in NEEDED}


def _wait(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(10)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _ready(kube: Kube, kind: str, name: str, namespace: str | None = None) -> bool:
    body = kube.get(API, kind, name, namespace) or {}
    return any(c["type"] == "Ready" and c["status"] == "True" for c in body.get("status", {}).get("conditions", []))


def test_a_platform_and_a_model_deployment_become_ready_on_real_azure(monkeypatch: pytest.MonkeyPatch) -> None:
    env = _env()
    monkeypatch.setenv("KUBECONFIG", env["MLOPS_TEST_AKS_KUBECONFIG"])
    kube = Kube(load_api_client(env["MLOPS_TEST_AKS_KUBECONFIG"]))
    suffix = uuid.uuid4().hex[:6]
    platform, namespace, endpoint = f"e2e-{suffix}", f"mlops-e2e-{suffix}", f"mlops-e2e-{suffix}"
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    kube.create(
        {
            "apiVersion": API,
            "kind": "MLOpsPlatform",
            "metadata": {"name": platform, "annotations": {"mlops.dev/reconcile-policy": "detach-on-delete"}},
            "spec": {
                "backend": "azureml",
                "instanceTypes": [
                    {
                        "name": f"e2e-{suffix}",
                        "resources": {
                            "requests": {"cpu": "100m", "memory": "512Mi"},
                            "limits": {"cpu": "1", "memory": "1Gi"},
                        },
                    }
                ],
                "defaultInstanceType": f"e2e-{suffix}",
                "azure": {
                    "subscriptionId": env["MLOPS_TEST_AZURE_SUBSCRIPTION"],
                    "resourceGroup": env["MLOPS_TEST_AZURE_RESOURCE_GROUP"],
                    "workspace": {"name": env["MLOPS_TEST_AZURE_WORKSPACE"]},
                    "cluster": {"name": env["MLOPS_TEST_AZURE_AKS"]},
                    "computeName": f"e2e-{suffix}",
                    "extension": {"mode": "adopt", "allowInsecureConnections": True},
                },
            },
        }
    )
    deployment = {
        "apiVersion": API,
        "kind": "ModelDeployment",
        "metadata": {"name": "blue", "namespace": namespace},
        "spec": {
            "platformRef": {"name": platform},
            "endpoint": {"name": endpoint},
            "model": {"name": f"e2e-{suffix}", "version": "1", "uri": env["MLOPS_TEST_AZURE_MODEL_URI"]},
            "environment": {"image": os.environ.get("MLOPS_TEST_AZURE_IMAGE", IMAGE)},
            "traffic": 100,
        },
    }
    args = ["run", "--namespace", namespace, "--standalone", "-m", "mlops_operator.handlers"]
    with KopfRunner(args, timeout=120) as runner:
        _wait(lambda: _ready(kube, "MLOpsPlatform", platform), 1800, "the platform to become Ready")
        kube.create(deployment)
        _wait(lambda: _ready(kube, "ModelDeployment", "blue", namespace), 2400, "blue to become Ready")
        status = kube.get(API, "ModelDeployment", "blue", namespace)["status"]
        assert status["scoringUri"]
        assert status["traffic"] == {"blue": 100}
        kube.delete(API, "ModelDeployment", "blue", namespace)
        _wait(lambda: kube.get(API, "ModelDeployment", "blue", namespace) is None, 1800, "blue to be deleted")
        kube.delete(API, "MLOpsPlatform", platform)
        _wait(lambda: kube.get(API, "MLOpsPlatform", platform) is None, 1200, "the platform to be released")
    kube.delete("v1", "Namespace", namespace)
    assert runner.exception is None, runner.exception

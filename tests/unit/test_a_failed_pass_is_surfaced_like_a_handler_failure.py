"""A pass that fails unexpectedly, whoever woke it, writes the error on the object and asks to look again."""

from __future__ import annotations

from typing import Any

from mlops_operator.backends.base import Outcome
from mlops_operator.config import OperatorSettings
from mlops_operator.handlers.context import OperatorContext
from mlops_operator.handlers.flows import FAILURE_RETRY_SECONDS, deployment_key, look

SMALL = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
PLATFORM = {
    "apiVersion": "mlops.dev/v1alpha1",
    "kind": "MLOpsPlatform",
    "metadata": {"name": "local"},
    "spec": {"instanceTypes": [{"name": "small", "resources": SMALL}], "defaultInstanceType": "small"},
}
BLUE = {
    "apiVersion": "mlops.dev/v1alpha1",
    "kind": "ModelDeployment",
    "metadata": {"name": "blue", "namespace": "ml", "generation": 4},
    "spec": {
        "platformRef": {"name": "local"},
        "endpoint": {"name": "scoring"},
        "model": {"name": "m", "version": "1", "uri": "configmap://m"},
    },
}


class FakeKube:
    """Serves two objects and records status patches."""

    def __init__(self) -> None:
        self.patches: list[dict[str, Any]] = []

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        return {"MLOpsPlatform": PLATFORM, "ModelDeployment": BLUE}.get(kind)

    def patch_merge(self, *args: Any, subresource: str = "") -> dict[str, Any]:
        self.patches.append(args[-1])
        return {}


class BrokenBackend:
    def reconcile_deployment(self, md: Any, platform: Any) -> Outcome:
        raise KeyError("spec.surprise")


def test_an_unexpected_error_becomes_reconcile_error_on_deployment_ready_and_a_retry() -> None:
    kube = FakeKube()
    ctx = OperatorContext(kube=kube, settings=OperatorSettings(), backends={"native": BrokenBackend()})

    delay = look(ctx, deployment_key("ml", "blue"))

    assert delay == FAILURE_RETRY_SECONDS
    [patch] = kube.patches
    conditions = {c["type"]: c for c in patch["status"]["conditions"]}
    assert (conditions["DeploymentReady"]["reason"], conditions["DeploymentReady"]["severity"]) == (
        "ReconcileError",
        "Warning",
    )
    assert "KeyError: 'spec.surprise'; retrying in 10s" in conditions["DeploymentReady"]["message"]
    assert (conditions["Ready"]["status"], conditions["Ready"]["reason"]) == ("False", "ReconcileError")
    assert patch["status"]["lastFailure"]["reason"] == "ReconcileError"
    ctx.waker.stop()

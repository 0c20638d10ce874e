"""Argo CD's own health code shows objects the operator has not judged yet (no status, or a status for an
older generation) as Progressing. The operator is started and stopped inside each test, so no other
module's operator may run meanwhile (module-scoped operators are stopped before the next module starts)."""

from __future__ import annotations

import uuid
from typing import Any

from native_backend.helpers import apply_platform, create_model_files, model_deployment, start_operator
from polling import wait_for

from mlops_operator.kube import Kube

from .argocd import ArgoHealth, Health

API = "mlops.dev/v1alpha1"
TIMEOUT_S = 60


def healthy_at(kube: Kube, kind: str, name: str, namespace: str | None, generation: int) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        obj = kube.get(API, kind, name, namespace) or {}
        status = obj.get("status", {})
        ready = [c for c in status.get("conditions", []) if c["type"] == "Ready" and c["status"] == "True"]
        return obj if ready and status.get("observedGeneration") == generation else None

    return wait_for(check, TIMEOUT_S, f"{kind} {name} Ready at generation {generation}")


def test_a_model_deployment_is_progressing_until_the_operator_observes_its_generation(
    kube: Kube, kubeconfig_env: str, namespace: str, argocd_health: ArgoHealth
) -> None:
    apply_platform(kube)
    create_model_files(kube, namespace)
    created = kube.create(model_deployment(namespace, "blue", traffic=100))
    assert created is not None
    unjudged = kube.get(API, "ModelDeployment", "blue", namespace)

    assert argocd_health(unjudged) == Health("Progressing", "Waiting for the operator to write status")

    with start_operator() as runner:
        assert argocd_health(healthy_at(kube, "ModelDeployment", "blue", namespace, 1)).status == "Healthy"
    assert runner.exception is None, runner.exception

    patch = {"spec": {"model": {"version": "2"}}}
    kube.patch_merge(API, "ModelDeployment", "blue", namespace, patch)
    stale = kube.get(API, "ModelDeployment", "blue", namespace)
    assert (stale["metadata"]["generation"], stale["status"]["observedGeneration"]) == (2, 1)

    assert argocd_health(stale) == Health("Progressing", "Waiting for the operator to observe generation 2")

    with start_operator() as runner:
        assert argocd_health(healthy_at(kube, "ModelDeployment", "blue", namespace, 2)).status == "Healthy"
        # Gone before the operator stops: its finalizer would otherwise keep the namespace terminating.
        kube.delete(API, "ModelDeployment", "blue", namespace)
        wait_for(lambda: kube.get(API, "ModelDeployment", "blue", namespace) is None, TIMEOUT_S, "blue deleted")
    assert runner.exception is None, runner.exception


def test_a_platform_is_progressing_until_the_operator_writes_its_status(
    kube: Kube, kubeconfig_env: str, argocd_health: ArgoHealth
) -> None:
    name = f"argo-{uuid.uuid4().hex[:8]}"
    apply_platform(kube, name)
    unjudged = kube.get(API, "MLOpsPlatform", name)

    assert argocd_health(unjudged) == Health("Progressing", "Waiting for the operator to write status")

    with start_operator() as runner:
        assert argocd_health(healthy_at(kube, "MLOpsPlatform", name, None, 1)).status == "Healthy"
        kube.delete(API, "MLOpsPlatform", name)
        wait_for(lambda: kube.get(API, "MLOpsPlatform", name) is None, TIMEOUT_S, f"platform {name} deleted")
    assert runner.exception is None, runner.exception

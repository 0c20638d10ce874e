"""Level-based reconcile: a resync of an unchanged object writes nothing; a restart converges cleanly."""

from __future__ import annotations

from typing import Any

from mlops_operator.config import OperatorSettings
from mlops_operator.handlers.context import build_context
from mlops_operator.handlers.flows import deployment_key, look
from mlops_operator.kube import Kube

from .helpers import apply_platform, create_model_files, model_deployment, start_operator, wait_condition, wait_for

CHILDREN = (
    ("apps/v1", "Deployment", "blue"),
    ("v1", "Service", "blue"),
    ("policy/v1", "PodDisruptionBudget", "blue"),
    ("v1", "Service", "scoring-endpoint"),
    ("v1", "Secret", "scoring-endpoint-keys"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute", "scoring-endpoint"),
)


def _versions(kube: Kube, namespace: str) -> dict[str, Any]:
    found = {
        kind + "/" + name: (kube.get(api, kind, name, namespace) or {}).get("metadata", {}).get("resourceVersion")
        for api, kind, name in CHILDREN
    }
    found["ModelDeployment/blue"] = kube.get("mlops.dev/v1alpha1", "ModelDeployment", "blue", namespace)["metadata"][
        "resourceVersion"
    ]
    return found


def test_reconciling_an_unchanged_deployment_writes_nothing(kubeconfig_env: str, kube: Kube, namespace: str) -> None:
    apply_platform(kube)
    create_model_files(kube, namespace)
    kube.create(model_deployment(namespace, "blue", traffic=100, instanceCount=2))
    with start_operator():
        wait_condition(kube, namespace, "blue", "Ready", "True")
    before = _versions(kube, namespace)
    assert all(before.values()), before
    ctx = build_context(OperatorSettings(), kubeconfig_env)

    for _ in range(3):
        look(ctx, deployment_key(namespace, "blue"))

    assert ctx.kube.writes == 0, {k: n for k, n in ctx.kube.requests.items() if not k.startswith("GET")}
    assert _versions(kube, namespace) == before


def test_an_operator_stopped_mid_reconcile_converges_after_restart_without_duplicates(
    kubeconfig_env: str, kube: Kube, namespace: str
) -> None:
    apply_platform(kube)
    create_model_files(kube, namespace)
    kube.create(model_deployment(namespace, "blue", traffic=50, instanceCount=3))
    kube.create(model_deployment(namespace, "green", traffic=50))

    with start_operator():
        wait_for(lambda: kube.get("apps/v1", "Deployment", "blue", namespace), what="blue's Deployment")
    first = kube.get("apps/v1", "Deployment", "blue", namespace)["metadata"]["uid"]
    with start_operator():
        for name in ("blue", "green"):
            wait_condition(kube, namespace, name, "Ready", "True")

    assert kube.get("apps/v1", "Deployment", "blue", namespace)["metadata"]["uid"] == first
    managed = "app.kubernetes.io/managed-by=mlops-operator"
    assert sorted(d["metadata"]["name"] for d in kube.list("apps/v1", "Deployment", namespace, managed)) == [
        "blue",
        "green",
    ]
    assert sorted(s["metadata"]["name"] for s in kube.list("v1", "Service", namespace, managed)) == [
        "blue",
        "green",
        "scoring-endpoint",
    ]
    assert len(kube.list("v1", "Secret", namespace, managed)) == 1
    assert len(kube.list("apps/v1", "ReplicaSet", namespace, "mlops.dev/deployment=blue")) == 1
    pods = kube.list("v1", "Pod", namespace, "mlops.dev/deployment=blue")
    assert len([p for p in pods if not p["metadata"].get("deletionTimestamp")]) == 3

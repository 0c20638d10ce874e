"""Change detection by what this field manager applied: a removed field reaches the live children in one
pass, a field another manager owns causes no write, and an idle pass writes nothing (the API server's own
request counter says so). Passes run in-process, one at a time, so "one pass" is exactly that."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from mlops_operator.config import OperatorSettings
from mlops_operator.devcluster import LocalCluster
from mlops_operator.handlers.context import OperatorContext, build_context
from mlops_operator.handlers.flows import deployment_key, look
from mlops_operator.kube import Kube

from .helpers import (
    OPERATOR_RESOURCES,
    WRITE_VERBS,
    apiserver_writes,
    apply_platform,
    create_model_files,
    model_deployment,
    settled_apiserver_writes,
    wait_for,
)

API = "mlops.dev/v1alpha1"
ML_TOLERATION = {"key": "workload", "operator": "Equal", "value": "ml", "effect": "NoSchedule"}
GPU_TOLERATION = {"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}
SMALL = {
    "name": "small",
    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
    "nodeSelector": {"agentpool": "mlpool", "kubernetes.io/os": "linux"},
    "tolerations": [ML_TOLERATION, GPU_TOLERATION],
}
AUTOSCALED = {"type": "targetUtilization", "minInstances": 1, "maxInstances": 3, "targetUtilizationPercentage": 60}


@pytest.fixture
def ctx(kubeconfig_env: str) -> Iterator[OperatorContext]:
    context = build_context(OperatorSettings(), kubeconfig_env)
    yield context
    context.waker.stop()


@pytest.fixture
def platform(kube: Kube) -> Iterator[str]:
    name = f"removals-{uuid.uuid4().hex[:8]}"
    apply_platform(kube, name, instanceTypes=[SMALL])
    yield name
    kube.delete(API, "MLOpsPlatform", name)


def one_pass(ctx: OperatorContext, namespace: str, name: str = "blue") -> None:
    look(ctx, deployment_key(namespace, name))


def pod_spec(kube: Kube, namespace: str, name: str = "blue") -> dict[str, Any]:
    return kube.get("apps/v1", "Deployment", name, namespace)["spec"]["template"]["spec"]


def scoring_container(kube: Kube, namespace: str) -> dict[str, Any]:
    return pod_spec(kube, namespace)["containers"][0]


def deploy(kube: Kube, ctx: OperatorContext, namespace: str, platform: str, **spec: Any) -> None:
    create_model_files(kube, namespace)
    kube.create(model_deployment(namespace, "blue", traffic=100, platformRef={"name": platform}, **spec))
    one_pass(ctx, namespace)


def test_removing_a_node_selector_entry_from_the_instance_type_reaches_the_pods_in_one_pass(
    kube: Kube, ctx: OperatorContext, namespace: str, platform: str
) -> None:
    deploy(kube, ctx, namespace, platform)
    assert pod_spec(kube, namespace)["nodeSelector"] == {"agentpool": "mlpool", "kubernetes.io/os": "linux"}

    apply_platform(kube, platform, instanceTypes=[{**SMALL, "nodeSelector": {"agentpool": "mlpool"}}])
    one_pass(ctx, namespace)

    assert pod_spec(kube, namespace)["nodeSelector"] == {"agentpool": "mlpool"}


def test_removing_a_toleration_from_the_instance_type_reaches_the_pods_in_one_pass(
    kube: Kube, ctx: OperatorContext, namespace: str, platform: str
) -> None:
    deploy(kube, ctx, namespace, platform)
    assert pod_spec(kube, namespace)["tolerations"] == [ML_TOLERATION, GPU_TOLERATION]

    apply_platform(kube, platform, instanceTypes=[{**SMALL, "tolerations": [ML_TOLERATION]}])
    one_pass(ctx, namespace)

    assert pod_spec(kube, namespace)["tolerations"] == [ML_TOLERATION]


def test_removing_a_memory_limit_from_the_instance_type_reaches_the_pods_in_one_pass(
    kube: Kube, ctx: OperatorContext, namespace: str, platform: str
) -> None:
    deploy(kube, ctx, namespace, platform)
    assert scoring_container(kube, namespace)["resources"]["limits"] == {"cpu": "1", "memory": "1Gi"}

    no_memory_limit = {**SMALL, "resources": {**SMALL["resources"], "limits": {"cpu": "1"}}}
    apply_platform(kube, platform, instanceTypes=[no_memory_limit])
    one_pass(ctx, namespace)

    assert scoring_container(kube, namespace)["resources"]["limits"] == {"cpu": "1"}


def test_removing_an_environment_variable_from_the_deployment_reaches_the_pods_in_one_pass(
    kube: Kube, ctx: OperatorContext, namespace: str, platform: str
) -> None:
    deploy(kube, ctx, namespace, platform, environmentVariables={"KEEP": "1", "DROP": "2"})
    assert {"KEEP", "DROP"} <= {e["name"] for e in scoring_container(kube, namespace)["env"]}

    kube.patch_merge(API, "ModelDeployment", "blue", namespace, {"spec": {"environmentVariables": {"DROP": None}}})
    one_pass(ctx, namespace)

    names = {e["name"] for e in scoring_container(kube, namespace)["env"]}
    assert "KEEP" in names
    assert "DROP" not in names


def test_removing_the_autoscaler_deletes_the_hpa_and_gives_replicas_back_in_one_pass(
    kube: Kube, ctx: OperatorContext, namespace: str, platform: str
) -> None:
    deploy(kube, ctx, namespace, platform, scaleSettings=AUTOSCALED)
    assert kube.get("autoscaling/v2", "HorizontalPodAutoscaler", "blue", namespace) is not None

    kube.patch_merge(API, "ModelDeployment", "blue", namespace, {"spec": {"scaleSettings": None, "instanceCount": 2}})
    one_pass(ctx, namespace)

    assert kube.get("autoscaling/v2", "HorizontalPodAutoscaler", "blue", namespace) is None
    assert kube.get("apps/v1", "Deployment", "blue", namespace)["spec"]["replicas"] == 2


def test_replicas_set_by_the_autoscaler_are_left_alone_without_a_write(
    kube: Kube, ctx: OperatorContext, namespace: str, platform: str, crds: LocalCluster
) -> None:
    deploy(kube, ctx, namespace, platform, scaleSettings=AUTOSCALED)
    settle(ctx, kube, namespace)
    # What the HPA controller does: write the scale subresource as its own field manager.
    scale = {"spec": {"replicas": 3}}
    kube.patch_merge("apps/v1", "Deployment", "blue", namespace, scale, subresource="scale")
    settled_apiserver_writes(crds, OPERATOR_RESOURCES)
    # DELETEs left out: the namespace controller may still be emptying earlier tests' namespaces.
    child_writes = apiserver_writes(crds, OPERATOR_RESOURCES, WRITE_VERBS - {"DELETE"})
    before = Counter(ctx.kube.requests)

    one_pass(ctx, namespace)

    assert kube.get("apps/v1", "Deployment", "blue", namespace)["spec"]["replicas"] == 3
    sent = {k: n - before[k] for k, n in ctx.kube.requests.items() if n > before[k] and not k.startswith("GET")}
    assert all(k.endswith("/status") for k in sent), sent  # at most status.replicas follows the HPA
    assert apiserver_writes(crds, OPERATOR_RESOURCES, WRITE_VERBS - {"DELETE"}) == child_writes


def test_idle_passes_write_nothing_by_the_api_servers_own_count(
    kube: Kube, ctx: OperatorContext, namespace: str, platform: str, crds: LocalCluster
) -> None:
    deploy(kube, ctx, namespace, platform, instanceCount=2, environmentVariables={"A": "1"})
    settle(ctx, kube, namespace)
    # DELETEs are left out of the server's count: the namespace controller is still emptying earlier tests'
    # namespaces (no operator runs here to let them finish). The operator's own client counts every verb.
    verbs = WRITE_VERBS - {"DELETE"}
    before = settled_apiserver_writes(crds)
    server_before = apiserver_writes(crds, verbs=verbs)
    writes = ctx.kube.writes

    for _ in range(3):
        one_pass(ctx, namespace)

    assert ctx.kube.writes == writes
    assert apiserver_writes(crds, verbs=verbs) == server_before
    assert before > 0


def settle(ctx: OperatorContext, kube: Kube, namespace: str) -> None:
    """Pass until Ready and until a pass writes nothing (pods on fake nodes become ready within seconds)."""
    seen: list[Any] = []

    def settled() -> bool:
        before = Counter(ctx.kube.requests)
        one_pass(ctx, namespace)
        status = kube.get(API, "ModelDeployment", "blue", namespace).get("status", {})
        ready = [c for c in status.get("conditions", []) if c["type"] == "Ready"]
        sent = {k: n - before[k] for k, n in ctx.kube.requests.items() if n > before[k] and not k.startswith("GET")}
        seen[:] = [ready, sent]
        return bool(ready) and ready[0]["status"] == "True" and not sent

    try:
        wait_for(settled, 30, "blue Ready with a pass that writes nothing")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last Ready and writes: {seen}") from exc

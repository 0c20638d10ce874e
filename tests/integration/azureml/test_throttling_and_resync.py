"""ARM throttling is waited out without calls inside the window; an unchanged resync writes nothing."""

from __future__ import annotations

from kopf.testing import KopfRunner

from fake_arm import FakeArm
from mlops_operator.config import OperatorSettings
from mlops_operator.handlers.context import build_context
from mlops_operator.handlers.flows import deployment_key, look, platform_key
from mlops_operator.kube import Kube

from .conftest import start_operator
from .helpers import PLATFORM, create_ready_platform, md_body, wait_condition
from .operator_entry import static_token

MD = "ModelDeployment"
RETRY_AFTER = 5


def test_a_429_with_retry_after_is_waited_out_with_no_call_inside_the_window(
    operator: KopfRunner, azure_env: FakeArm, kube: Kube, namespace: str
) -> None:
    create_ready_platform(kube)
    fault = azure_env.inject(method="PUT", path_regex=r"/onlineEndpoints/[^/]+$", status=429, retry_after=RETRY_AFTER)
    kube.create(md_body(namespace, "blue", traffic=100))

    throttled = wait_condition(kube, MD, "blue", "EndpointReady", "False", namespace, reason="AzureThrottled")
    wait_condition(kube, MD, "blue", "Ready", "True", namespace)

    assert fault.hits == 1
    assert "TooManyRequests" in throttled["message"]
    refused = azure_env.requests("PUT", r"/onlineEndpoints/[^/]+$")[0]
    assert refused.status == 429
    inside = [r for r in azure_env.requests() if refused.at < r.at < refused.at + RETRY_AFTER - 0.1]
    assert inside == [], [(r.method, r.path, r.at - refused.at) for r in inside]
    retried = azure_env.requests("PUT", r"/onlineEndpoints/[^/]+$")[1]
    assert retried.at - refused.at >= RETRY_AFTER - 0.1


def test_a_resync_with_nothing_changed_makes_no_writes_to_azure_or_kubernetes(
    azure_env: FakeArm, kube: Kube, namespace: str, kubeconfig: str
) -> None:
    with start_operator():
        create_ready_platform(kube, nodePool={"name": "mlpool"})
        kube.create(md_body(namespace, "blue", traffic=100))
        kube.create(md_body(namespace, "green", traffic=0))
        for name in ("blue", "green"):
            wait_condition(kube, MD, name, "Ready", "True", namespace)
    ctx = build_context(OperatorSettings(), kubeconfig, credential_factory=static_token)
    azure_env.reset_log()

    for _ in range(2):
        look(ctx, platform_key(PLATFORM))
        for name in ("blue", "green"):
            look(ctx, deployment_key(namespace, name))

    writes = {k: n for k, n in azure_env.call_counts().items() if k[0] != "GET"}
    assert writes == {}
    assert ctx.kube.writes == 0, {k: n for k, n in ctx.kube.requests.items() if not k.startswith("GET")}
    assert azure_env.calls("GET") > 0
    # Every ARM request the fake saw went through the operator's metrics policy, labelled by resource type.
    counted = {
        (s.labels["operation"], s.labels["code"]): s.value
        for family in ctx.metrics.registry.collect()
        if family.name == "mlops_operator_azure_requests"
        for s in family.samples
        if s.name.endswith("_total")
    }
    assert sum(counted.values()) == len(azure_env.requests())
    assert counted.get(("GET workspaces/onlineEndpoints/deployments", "200"), 0) > 0

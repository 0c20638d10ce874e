"""`azureml-model-deployment: <name>` reaches that deployment every time, even one the split gives 0%."""

from __future__ import annotations

from polling import wait_for

from mlops_operator.api.v1alpha1.platform import GatewayParentRef
from mlops_operator.devcluster import LocalCluster
from mlops_operator.devcluster.gateway import Traefik

from .traffic import Caller, Deployments, apply_route, endpoint

PINNED_REQUESTS = 200


def test_every_pinned_request_reaches_the_named_deployment_including_one_at_zero_weight(
    cluster: LocalCluster, traefik: Traefik, gateway: GatewayParentRef, deployments: Deployments, namespace: str
) -> None:
    deployments.add("blue", "green", "shadow")
    apply_route(cluster, endpoint(namespace, "pinned", {"blue": 80, "green": 20, "shadow": 0}), gateway)
    caller = Caller(traefik.web_port, namespace, "pinned")
    wait_for(lambda: caller.count(10, pin="shadow") == {(200, "shadow"): 10}, timeout=30, what="the pin rule")

    pinned = {name: caller.count(PINNED_REQUESTS, pin=name) for name in ("blue", "green", "shadow")}
    unpinned = caller.count(PINNED_REQUESTS)

    assert pinned == {name: {(200, name): PINNED_REQUESTS} for name in ("blue", "green", "shadow")}
    assert (200, "shadow") not in unpinned
    assert sum(unpinned.values()) == unpinned[(200, "blue")] + unpinned[(200, "green")] == PINNED_REQUESTS

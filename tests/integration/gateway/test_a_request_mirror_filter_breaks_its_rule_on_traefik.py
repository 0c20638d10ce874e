"""Traefik v3.6 does not support RequestMirror and does not skip it either: the rule answers 500.

Worse, the HTTPRoute's status still says Accepted and ResolvedRefs; only Traefik's log names the filter.
So the operator cannot learn this from the route: it must not write a mirror filter for a GatewayClass
that does not publish the mirror features (render.gateway_features). The pin rules of the same route carry
no mirror and keep serving.
"""

from __future__ import annotations

from kubernetes import client
from polling import wait_for

from mlops_operator.api.v1alpha1.platform import GatewayParentRef
from mlops_operator.devcluster import LocalCluster
from mlops_operator.devcluster.gateway import Traefik

from .traffic import Caller, Deployments, apply_route, endpoint, route_parent_conditions

REQUESTS = 100
TRAEFIKS_COMPLAINT = 'error="unsupported filter RequestMirror"'


def test_a_mirrored_split_answers_500_while_the_pins_of_the_same_route_still_serve(
    cluster: LocalCluster, kube_api: client.ApiClient, traefik: Traefik, gateway: GatewayParentRef,
    deployments: Deployments, namespace: str,
) -> None:  # fmt: skip
    deployments.add("blue", "green")
    mirrored = endpoint(namespace, "mirrored", {"blue": 100, "green": 0}, mirror={"green": 20})
    route = apply_route(cluster, mirrored, gateway)
    caller = Caller(traefik.web_port, namespace, "mirrored")
    wait_for(lambda: caller.count(5, pin="blue") == {(200, "blue"): 5}, timeout=30, what="the route to load")

    split = caller.count(REQUESTS)
    pinned = caller.count(REQUESTS, pin="green")

    assert split == {(500, None): REQUESTS}
    assert pinned == {(200, "green"): REQUESTS}
    conditions = route_parent_conditions(kube_api, namespace, route["metadata"]["name"])
    assert conditions["Accepted"]["status"] == conditions["ResolvedRefs"]["status"] == "True"
    assert any(
        TRAEFIKS_COMPLAINT in line and f"namespace={namespace}" in line
        for line in traefik.log_path.read_text().splitlines()
    )

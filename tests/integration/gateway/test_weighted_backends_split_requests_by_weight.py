"""Weights in the rendered HTTPRoute become the share of requests each deployment answers."""

from __future__ import annotations

from kubernetes import client
from polling import wait_for

from mlops_operator.api.v1alpha1.platform import GatewayParentRef
from mlops_operator.devcluster import LocalCluster
from mlops_operator.devcluster.gateway import Traefik

from .traffic import Caller, Deployments, apply_route, endpoint, route_parent_conditions

REQUESTS = 1000
TOLERANCE_POINTS = 5.0


def test_ninety_ten_over_a_thousand_requests_lands_within_five_points(
    cluster: LocalCluster, kube_api: client.ApiClient, traefik: Traefik, gateway: GatewayParentRef,
    deployments: Deployments, namespace: str,
) -> None:  # fmt: skip
    deployments.add("blue", "green")
    route = apply_route(cluster, endpoint(namespace, "split", {"blue": 90, "green": 10}), gateway)
    caller = Caller(traefik.web_port, namespace, "split")
    wait_for(lambda: caller.count(20) == {(200, "blue"): 18, (200, "green"): 2}, timeout=30, what="the split")

    counts = caller.count(REQUESTS)

    assert sum(n for (status, _), n in counts.items() if status != 200) == 0, counts
    blue_share = 100.0 * counts[(200, "blue")] / REQUESTS
    green_share = 100.0 * counts[(200, "green")] / REQUESTS
    assert abs(blue_share - 90) <= TOLERANCE_POINTS, counts
    assert abs(green_share - 10) <= TOLERANCE_POINTS, counts
    conditions = route_parent_conditions(kube_api, namespace, route["metadata"]["name"])
    assert conditions["Accepted"]["status"] == conditions["ResolvedRefs"]["status"] == "True"

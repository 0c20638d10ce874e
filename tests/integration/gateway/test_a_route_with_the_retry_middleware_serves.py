"""`spec.native.gateway.retry` on Traefik: the route with the retry Middleware's ExtensionRef is accepted,
its references resolve, and it serves. (Traefik answers 500 for every request of a rule whose filter it
cannot resolve, so this is the check that the operator's Middleware and filter are what Traefik expects.)

What the retry is for, a refused connection tried again on another pod, needs two pod addresses; Traefik
keeps one endpoint per address, and local backends here share this machine's one address. The real node
has them: tests/integration/realnode/test_serving_survives_a_killed_pod.py.
"""

from __future__ import annotations

from kubernetes import client
from polling import wait_for

from mlops_operator.api.v1alpha1.platform import GatewayParentRef, GatewayRetry
from mlops_operator.devcluster import LocalCluster
from mlops_operator.devcluster.gateway import Traefik

from .traffic import Caller, Deployments, apply_route, endpoint, route_parent_conditions

REQUESTS = 100


def test_a_route_with_the_retry_middleware_is_accepted_resolved_and_serves(
    cluster: LocalCluster, traefik: Traefik, gateway: GatewayParentRef, deployments: Deployments, namespace: str
) -> None:
    deployments.add("blue")
    route = apply_route(
        cluster, endpoint(namespace, "retry", {"blue": 100}), gateway.model_copy(update={"retry": GatewayRetry()})
    )
    filters = [f["type"] for f in route["spec"]["rules"][0]["filters"]]
    assert filters == ["URLRewrite", "ExtensionRef"]
    caller = Caller(traefik.web_port, namespace, "retry")
    wait_for(lambda: caller.count(20) == {(200, "blue"): 20} or None, 30, "the route with the retry Middleware")
    assert caller.count(REQUESTS) == {(200, "blue"): REQUESTS}
    with cluster.api_client() as api:
        conditions = route_parent_conditions(api, namespace, route["metadata"]["name"])
        middleware = client.CustomObjectsApi(api).get_namespaced_custom_object(
            "traefik.io", "v1alpha1", namespace, "middlewares", "retry-endpoint-retry"
        )
    assert conditions["Accepted"]["status"] == "True", conditions
    assert conditions["ResolvedRefs"]["status"] == "True", conditions
    assert middleware["spec"]["retry"] == {"attempts": 10}

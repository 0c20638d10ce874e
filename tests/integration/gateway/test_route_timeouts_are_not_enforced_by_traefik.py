"""Traefik v3.6 accepts an HTTPRoute rule's `timeouts.request` and does not enforce it.

It does not publish HTTPRouteRequestTimeout either, so the feature check already says so; this test shows
what a route with a timeout really does, which is why request timeouts must be enforced by the scoring
server itself (SCORING_TIMEOUT_MS) when the Gateway cannot.
"""

from __future__ import annotations

import json
import time

from kubernetes import client
from polling import wait_for

from mlops_operator.api.v1alpha1.platform import GatewayParentRef
from mlops_operator.devcluster import LocalCluster
from mlops_operator.devcluster.gateway import Traefik, apply_manifest, read_gateway_class
from mlops_operator.render.endpoint import render_httproute
from mlops_operator.render.gateway_features import Need, feature_support, route_needs

from .traffic import Caller, Deployments, endpoint

ROUTE_TIMEOUT = "500ms"
SCORING_SECONDS = 1.5


def test_a_request_slower_than_the_route_timeout_still_gets_its_answer(
    cluster: LocalCluster, kube_api: client.ApiClient, traefik: Traefik, gateway: GatewayParentRef,
    deployments: Deployments, namespace: str,
) -> None:  # fmt: skip
    deployments.add("blue")
    route = render_httproute(endpoint(namespace, "timed", {"blue": 100}), gateway)
    route["metadata"].pop("ownerReferences")
    for rule in route["spec"]["rules"]:
        rule["timeouts"] = {"request": ROUTE_TIMEOUT}
    apply_manifest(cluster, route)
    caller = Caller(traefik.web_port, namespace, "timed")
    wait_for(lambda: caller.count(5) == {(200, "blue"): 5}, timeout=30, what="the route to load")

    started = time.monotonic()
    slow = caller.call(body=json.dumps({"sleep_s": SCORING_SECONDS}).encode())
    took = time.monotonic() - started

    stored = client.CustomObjectsApi(kube_api).get_namespaced_custom_object(
        "gateway.networking.k8s.io", "v1", namespace, "httproutes", route["metadata"]["name"]
    )
    assert {rule["timeouts"]["request"] for rule in stored["spec"]["rules"]} == {ROUTE_TIMEOUT}
    assert (slow.status, slow.deployment) == (200, "blue")
    assert took >= SCORING_SECONDS
    assert Need.TIMEOUTS in route_needs(route)
    assert not feature_support(read_gateway_class(cluster)).supports(Need.TIMEOUTS)

"""The scoring URI is the Gateway's (address and listener port); mirroring is only written where supported."""

from __future__ import annotations

from typing import Any

from mlops_operator.api.v1alpha1.platform import GatewayParentRef
from mlops_operator.backends.native.endpoint import GatewayView, _scoring_uri, in_cluster_scoring_uri, traffic_verdict
from mlops_operator.conditions import Reason
from mlops_operator.render.endpoint import Endpoint, EndpointMember, render_httproute
from mlops_operator.render.gateway_features import TRAEFIK_CONTROLLER, feature_support

ENDPOINT = Endpoint(
    "diabetes",
    "models",
    (
        EndpointMember("blue", "uid-b", 90, 0),
        EndpointMember("green", "uid-g", 10, 0),
        EndpointMember("shadow", "u", 0, 20),
    ),
)
PARENT = GatewayParentRef(name="mlops-gateway", namespace="mlops-system")
PATH = "/api/v1/namespaces/models/endpoints/diabetes/score"


def _gateway(*listeners: tuple[str, int], address: str = "127.0.0.1") -> dict[str, Any]:
    return {
        "spec": {"listeners": [{"name": n, "protocol": "HTTP", "port": p} for n, p in listeners]},
        "status": {"addresses": [{"type": "IPAddress", "value": address}]},
    }


def test_the_scoring_uri_carries_the_listener_port() -> None:
    assert _scoring_uri(ENDPOINT, _gateway(("http", 8000)), PARENT) == f"http://127.0.0.1:8000{PATH}"


def test_port_80_is_left_out_and_a_named_listener_wins() -> None:
    parent = GatewayParentRef(name="g", section_name="public")
    gateway = _gateway(("internal", 8080), ("public", 80), address="203.0.113.7")

    assert _scoring_uri(ENDPOINT, gateway, parent) == f"http://203.0.113.7{PATH}"


def test_without_a_gateway_address_the_scoring_uri_is_the_in_cluster_service() -> None:
    assert _scoring_uri(ENDPOINT, None, PARENT) == in_cluster_scoring_uri(ENDPOINT)
    assert in_cluster_scoring_uri(ENDPOINT) == "http://diabetes-endpoint.models.svc.cluster.local/score"


def test_mirroring_on_a_class_without_it_is_refused_on_traffic_applied_while_the_split_serves() -> None:
    traefik = feature_support({"spec": {"controllerName": TRAEFIK_CONTROLLER}})
    view = GatewayView(_gateway(("http", 8000)), traefik)

    verdict = traffic_verdict(ENDPOINT, True, True, PARENT, view)
    route = render_httproute(ENDPOINT, PARENT, mirror=view.mirror_ok)

    assert verdict.status == "False"
    assert verdict.reason == Reason.MIRRORING_UNSUPPORTED
    assert "shadow=20" in verdict.message
    assert "blue=90" in verdict.message
    filters = [f["type"] for rule in route["spec"]["rules"] for f in rule.get("filters", [])]
    assert "RequestMirror" not in filters


def test_a_class_that_publishes_mirroring_gets_the_mirror_filter() -> None:
    features = [{"name": n} for n in ("HTTPRoute", "HTTPRouteRequestMirror", "HTTPRouteRequestPercentageMirror")]
    support = feature_support({"spec": {"controllerName": "example.com/gw"}, "status": {"supportedFeatures": features}})
    view = GatewayView(_gateway(("http", 80)), support)

    verdict = traffic_verdict(ENDPOINT, True, True, PARENT, view)
    route = render_httproute(ENDPOINT, PARENT, mirror=view.mirror_ok)

    assert verdict.reason == Reason.TRAFFIC_APPLIED
    assert verdict.status == "True"
    mirrors = [f for rule in route["spec"]["rules"] for f in rule.get("filters", []) if f["type"] == "RequestMirror"]
    assert len(mirrors) == 1
    assert mirrors[0]["requestMirror"]["percent"] == 20

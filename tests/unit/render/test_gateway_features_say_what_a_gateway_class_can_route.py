"""A GatewayClass's supportedFeatures (or the fallback table) decide which of our route needs are met."""

from __future__ import annotations

from typing import Any

from mlops_operator.render.endpoint import Endpoint, EndpointMember, render_httproute
from mlops_operator.render.gateway_features import (
    CORE_ONLY,
    TRAEFIK_CONTROLLER,
    Need,
    feature_support,
    published_features,
    route_needs,
)

# Exactly what Traefik v3.6.12 wrote into its GatewayClass's status.supportedFeatures on this machine.
TRAEFIK_PUBLISHED = [
    "BackendTLSPolicy", "GRPCRoute", "Gateway", "GatewayPort8080", "HTTPRoute", "HTTPRouteBackendProtocolH2C",
    "HTTPRouteBackendProtocolWebSocket", "HTTPRouteDestinationPortMatching", "HTTPRouteHostRewrite",
    "HTTPRouteMethodMatching", "HTTPRoutePathRedirect", "HTTPRoutePathRewrite", "HTTPRoutePortRedirect",
    "HTTPRouteQueryParamMatching", "HTTPRouteResponseHeaderModification", "HTTPRouteSchemeRedirect",
    "ReferenceGrant", "TLSRoute",
]  # fmt: skip
EVERYTHING = [
    *TRAEFIK_PUBLISHED,
    "HTTPRouteRequestMirror",
    "HTTPRouteRequestPercentageMirror",
    "HTTPRouteRequestTimeout",
]
SPLIT = (EndpointMember("blue", "uid-blue", 90, 0), EndpointMember("green", "uid-green", 10, 0))
MIRRORED = (EndpointMember("blue", "uid-blue", 100, 0), EndpointMember("green", "uid-green", 0, 20))


def gateway_class(controller: str, features: list[Any] | None) -> dict[str, Any]:
    status = {} if features is None else {"supportedFeatures": features}
    return {"spec": {"controllerName": controller}, "status": status}


def test_traefiks_published_features_cover_weights_pins_and_rewrites_but_not_mirrors_or_timeouts() -> None:
    support = feature_support(gateway_class(TRAEFIK_CONTROLLER, [{"name": n} for n in TRAEFIK_PUBLISHED]))
    assert support.published
    assert support.supported == {Need.WEIGHTS, Need.HEADER_MATCH, Need.PREFIX_REWRITE}
    assert support.unsupported(Need) == [Need.REQUEST_MIRROR, Need.TIMEOUTS]


def test_mirroring_needs_both_the_mirror_and_the_percentage_feature() -> None:
    only_mirror = [{"name": n} for n in [*TRAEFIK_PUBLISHED, "HTTPRouteRequestMirror"]]
    assert not feature_support(gateway_class("example.com/gw", only_mirror)).supports(Need.REQUEST_MIRROR)
    everything = [{"name": n} for n in EVERYTHING]
    assert feature_support(gateway_class("example.com/gw", everything)).supported == set(Need)


def test_bare_string_features_from_older_gateway_api_versions_are_read() -> None:
    assert published_features(gateway_class("x", ["HTTPRoute", {"name": "HTTPRoutePathRewrite"}, 7])) == {
        "HTTPRoute",
        "HTTPRoutePathRewrite",
    }


def test_a_known_controller_that_publishes_nothing_falls_back_to_the_table() -> None:
    support = feature_support(gateway_class(TRAEFIK_CONTROLLER, None))
    assert not support.published
    assert support.supported == {Need.WEIGHTS, Need.HEADER_MATCH, Need.PREFIX_REWRITE}


def test_an_unknown_controller_that_publishes_nothing_is_trusted_with_core_features_only() -> None:
    support = feature_support(gateway_class("example.com/unknown", []))
    assert (support.published, support.supported) == (False, CORE_ONLY)
    assert support.unsupported([Need.PREFIX_REWRITE, Need.WEIGHTS]) == [Need.PREFIX_REWRITE]


def test_a_rendered_split_needs_weights_pins_and_the_prefix_rewrite() -> None:
    route = render_httproute(Endpoint("diabetes", "ml", SPLIT), None)
    assert route_needs(route) == {Need.WEIGHTS, Need.HEADER_MATCH, Need.PREFIX_REWRITE}


def test_a_rendered_mirror_adds_the_mirror_need() -> None:
    route = render_httproute(Endpoint("diabetes", "ml", MIRRORED), None)
    assert Need.REQUEST_MIRROR in route_needs(route)


def test_rule_timeouts_are_a_need() -> None:
    route = {"spec": {"rules": [{"timeouts": {"request": "5s"}, "backendRefs": [{"name": "blue", "port": 80}]}]}}
    assert route_needs(route) == {Need.TIMEOUTS}

"""What the Gateway implementation can do with the HTTPRoutes we render, and what a route asks of it.

Why: an implementation that does not support a filter does not ignore it. Traefik v3.6 turns the whole
rule into 500s when it meets a RequestMirror filter (tests/integration/gateway), so the operator must know
before it writes a route. The source of truth is the GatewayClass's `status.supportedFeatures` (Gateway
API feature names, published by implementations since Gateway API v1.2); when a class publishes nothing,
`FALLBACK_SUPPORT` below says what each known controller supports, and an unknown controller is trusted
with core HTTPRoute features only.

Pure: inputs are plain dicts as read from the API, no client calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Need(StrEnum):
    """A routing behaviour an endpoint's HTTPRoute relies on."""

    WEIGHTS = "Weights"
    """Weighted backendRefs (the traffic split)."""
    HEADER_MATCH = "HeaderMatch"
    """Exact header match (the `azureml-model-deployment` pin)."""
    PREFIX_REWRITE = "PrefixRewrite"
    """URLRewrite with ReplacePrefixMatch (the endpoint path prefix becomes `/`)."""
    REQUEST_MIRROR = "RequestMirror"
    """RequestMirror filters with a percentage (mirror traffic)."""
    TIMEOUTS = "Timeouts"
    """Rule `timeouts.request`."""


# Gateway API feature names (sigs.k8s.io/gateway-api pkg/features) each need requires, all of them.
# Weights and exact header matches are part of core HTTPRoute conformance; we mirror with `percent`.
FEATURES_FOR_NEED: Mapping[Need, frozenset[str]] = {
    Need.WEIGHTS: frozenset({"HTTPRoute"}),
    Need.HEADER_MATCH: frozenset({"HTTPRoute"}),
    Need.PREFIX_REWRITE: frozenset({"HTTPRoutePathRewrite"}),
    Need.REQUEST_MIRROR: frozenset({"HTTPRouteRequestMirror", "HTTPRouteRequestPercentageMirror"}),
    Need.TIMEOUTS: frozenset({"HTTPRouteRequestTimeout"}),
}

TRAEFIK_CONTROLLER = "traefik.io/gateway-controller"
CORE_ONLY: frozenset[Need] = frozenset({Need.WEIGHTS, Need.HEADER_MATCH})

# Used only when a GatewayClass publishes no supportedFeatures. Each entry must say where it comes from.
FALLBACK_SUPPORT: Mapping[str, frozenset[Need]] = {
    # Traefik v3.6.12, measured here (tests/integration/gateway, docs/testing.md "Gateway"): weights,
    # header match and ReplacePrefixMatch work; RequestMirror turns the rule into 500s; `timeouts` are
    # accepted and ignored (traefik/traefik#11902). The same as v3.6.12's own supportedFeatures.
    TRAEFIK_CONTROLLER: frozenset({Need.WEIGHTS, Need.HEADER_MATCH, Need.PREFIX_REWRITE}),
}


@dataclass(frozen=True)
class FeatureSupport:
    """Which of our needs a GatewayClass supports, and how we know."""

    controller: str
    supported: frozenset[Need]
    published: bool
    """True if read from the class's status.supportedFeatures, False if from FALLBACK_SUPPORT or core only."""

    def supports(self, need: Need) -> bool:
        return need in self.supported

    def unsupported(self, needs: Iterable[Need]) -> list[Need]:
        """The needs this class cannot meet, in declaration order (stable for messages and reasons)."""
        wanted = set(needs)
        return [need for need in Need if need in wanted and need not in self.supported]


def published_features(gateway_class: Mapping[str, Any]) -> frozenset[str]:
    """Feature names in status.supportedFeatures: objects `{name: ...}` (v1.2+) or bare strings (v1.1)."""
    entries = (gateway_class.get("status") or {}).get("supportedFeatures") or []
    names = (entry.get("name") if isinstance(entry, Mapping) else entry for entry in entries)
    return frozenset(name for name in names if isinstance(name, str) and name)


def needs_met_by(features: frozenset[str]) -> frozenset[Need]:
    return frozenset(need for need, required in FEATURES_FOR_NEED.items() if required <= features)


def feature_support(gateway_class: Mapping[str, Any]) -> FeatureSupport:
    """Read a GatewayClass (as a dict from the API) and say which of our needs it supports."""
    controller = str((gateway_class.get("spec") or {}).get("controllerName", ""))
    features = published_features(gateway_class)
    if features:
        return FeatureSupport(controller, needs_met_by(features), published=True)
    return FeatureSupport(controller, FALLBACK_SUPPORT.get(controller, CORE_ONLY), published=False)


def route_needs(httproute: Mapping[str, Any]) -> frozenset[Need]:
    """What a rendered HTTPRoute asks of the implementation (compare with `FeatureSupport.unsupported`)."""
    return frozenset(_needs_of_rules((httproute.get("spec") or {}).get("rules") or []))


def _needs_of_rules(rules: Iterable[Mapping[str, Any]]) -> Iterator[Need]:
    for rule in rules:
        if any("weight" in ref for ref in rule.get("backendRefs") or []):
            yield Need.WEIGHTS
        if any(match.get("headers") for match in rule.get("matches") or []):
            yield Need.HEADER_MATCH
        if rule.get("timeouts"):
            yield Need.TIMEOUTS
        for item in rule.get("filters") or []:
            if item.get("type") == "RequestMirror":
                yield Need.REQUEST_MIRROR
            path = (item.get("urlRewrite") or {}).get("path") or {}
            if item.get("type") == "URLRewrite" and path.get("type") == "ReplacePrefixMatch":
                yield Need.PREFIX_REWRITE

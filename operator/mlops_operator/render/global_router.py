"""The global router's desired state for a GlobalEndpoint: Traefik's dynamic configuration (file provider).

Pure: the spec and the regions in the rotation in, a configuration out. Each region is a `loadBalancer`
service with an active health check (the regional endpoint's liveness route) and a passive one (a refused
connection marks it down at once, inside the request), so the router itself moves traffic within one probe;
which regions are in the configuration at all is the operator's hysteresis (globalendpoint/hysteresis.py).
Traefik keeps no health across reloads, so a region taken out is removed from the file rather than marked.

Policies: `priority` is a chain of `failover` services, one `weighted` group per priority value; `weighted` is
one `weighted` service; `latency` is one `loadBalancer` over every region with Traefik's `leasttime` strategy,
which favours the regions answering fastest from the router's own vantage point. That approximates Front
Door's latency routing (measured from each client's edge) and is reported as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from typing import Any

from mlops_operator.api.v1alpha1.globalendpoint import GlobalEndpointSpec
from mlops_operator.conditions import Reason

PASSIVE_FAILURES = 1  # one refused connection marks a region down until its active probe passes again
RETRY_ATTEMPTS = 4  # a request refused before it was written is sent again, to the region now in favour


@dataclass(frozen=True)
class RoutedRegion:
    """A region the router may send traffic to: where it is reached and its share."""

    name: str
    origin: str  # scheme://host[:port]
    priority: int
    weight: int


@dataclass(frozen=True)
class PolicySupport:
    supported: bool
    reason: str
    message: str


def router_id(namespace: str, name: str) -> str:
    """Names inside the router's configuration; unique per GlobalEndpoint on a shared router."""
    return f"{namespace}-{name}"


def render_traefik_config(
    spec: GlobalEndpointSpec, rid: str, prefix: str, regions: list[RoutedRegion]
) -> dict[str, Any]:
    """Traefik's dynamic configuration routing `prefix` to `regions` by the spec's policy (empty: no route)."""
    if not regions:
        return {"http": {}}
    top, tree = _policy_services(spec, rid, prefix, regions)
    services = dict(tree)
    if spec.routing.type != "latency":  # latency balances over the regions' origins directly
        services.update({_region_service(rid, r.name): _region(spec, prefix, r) for r in regions})
    retry = f"{rid}-retry"
    router = {
        "entryPoints": [spec.router.traefik.entry_point if spec.router.traefik else "web"],
        "rule": f"PathPrefix(`{prefix}`)",
        "service": top,
        "middlewares": [retry],
    }
    middlewares = {retry: {"retry": {"attempts": RETRY_ATTEMPTS}}}
    return {"http": {"routers": {rid: router}, "middlewares": middlewares, "services": services}}


def policy_support(spec: GlobalEndpointSpec) -> PolicySupport:
    """Whether the router applies the spec's policy as written."""
    if spec.router.front_door is not None or spec.routing.type != "latency":
        return PolicySupport(True, Reason.POLICY_HONOURED, f"routing by {spec.routing.type}")
    return PolicySupport(
        False,
        Reason.LATENCY_APPROXIMATED,
        "Traefik cannot route by each client's latency (Front Door's policy); it sends more traffic to the "
        "regions answering fastest from the router (least time), which is an approximation",
    )


def _region_service(rid: str, region: str) -> str:
    return f"{rid}-{region}"


def _health_check(spec: GlobalEndpointSpec, prefix: str) -> dict[str, Any]:
    probe = spec.health_probe
    return {
        "path": prefix + probe.path,
        "method": probe.method,
        "interval": f"{probe.interval_seconds}s",
        "timeout": f"{probe.timeout_seconds}s",
        "followRedirects": False,
    }


def _region(spec: GlobalEndpointSpec, prefix: str, region: RoutedRegion) -> dict[str, Any]:
    passive = {"failureWindow": f"{spec.health_probe.interval_seconds}s", "maxFailedAttempts": PASSIVE_FAILURES}
    return {
        "loadBalancer": {
            "servers": [{"url": region.origin}],
            "healthCheck": _health_check(spec, prefix),
            "passiveHealthCheck": passive,
        }
    }


def _policy_services(
    spec: GlobalEndpointSpec, rid: str, prefix: str, regions: list[RoutedRegion]
) -> tuple[str, dict[str, Any]]:
    """The service tree above the regions, and the name of its root."""
    if spec.routing.type == "latency":
        servers = [{"url": r.origin, "weight": r.weight} for r in regions]
        balancer = {"servers": servers, "strategy": "leasttime", "healthCheck": _health_check(spec, prefix)}
        return f"{rid}-latency", {f"{rid}-latency": {"loadBalancer": balancer}}
    if spec.routing.type == "weighted":
        return _weighted(rid, "all", regions)
    ordered = sorted(regions, key=lambda r: r.priority)
    tiers = [list(group) for _, group in groupby(ordered, key=lambda r: r.priority)]
    services: dict[str, Any] = {}
    names = []
    for tier in tiers:
        name, tree = _weighted(rid, f"p{tier[0].priority}", tier)
        services.update(tree)
        names.append(name)
    return _failover_chain(rid, names, services)


def _weighted(rid: str, label: str, regions: list[RoutedRegion]) -> tuple[str, dict[str, Any]]:
    """One region is its own service; several share a `weighted` service that skips those down."""
    if len(regions) == 1:
        return _region_service(rid, regions[0].name), {}
    name = f"{rid}-{label}"
    children = [{"name": _region_service(rid, r.name), "weight": r.weight} for r in regions]
    return name, {name: {"weighted": {"services": children, "healthCheck": {}}}}


def _failover_chain(rid: str, tiers: list[str], services: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """`failover` has two children, so N tiers nest: failover(t1, failover(t2, t3))."""
    current = tiers[-1]
    for index in range(len(tiers) - 2, -1, -1):
        name = f"{rid}-failover{index}"
        services[name] = {"failover": {"service": tiers[index], "fallback": current, "healthCheck": {}}}
        current = name
    return current, services

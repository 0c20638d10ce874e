"""Reconcile the objects an endpoint's deployments share: Service, keys Secret and (Gateway API) HTTPRoute."""

from __future__ import annotations

import dataclasses
import secrets
import time
from dataclasses import dataclass
from typing import Any

from mlops_operator import naming
from mlops_operator.api.v1alpha1.platform import GatewayParentRef
from mlops_operator.backends.shared.apply import apply_if_changed
from mlops_operator.backends.shared.endpoint import ensure_keys_secret
from mlops_operator.conditions import ConditionType, Reason, Verdict
from mlops_operator.kube import Kube
from mlops_operator.render.endpoint import (
    TRAEFIK_GROUP,
    Endpoint,
    render_endpoint_service,
    render_httproute,
    render_retry_middleware,
)
from mlops_operator.render.gateway_features import FeatureSupport, Need, feature_support

GATEWAY_GROUP = "gateway.networking.k8s.io"
HTTPROUTE_CRD = f"httproutes.{GATEWAY_GROUP}"
MIDDLEWARE_CRD = f"middlewares.{TRAEFIK_GROUP}"
_CRD_CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class GatewayView:
    """The live Gateway a route attaches to and what its class can do (None: unknown or no Gateway)."""

    gateway: dict[str, Any] | None
    support: FeatureSupport | None

    @property
    def mirror_ok(self) -> bool:
        return self.support is None or self.support.supports(Need.REQUEST_MIRROR)


@dataclass(frozen=True)
class RetryState:
    """Whether the platform asked the Gateway to retry connection errors, and whether the route does."""

    asked: bool
    applied: bool


def with_retry_note(verdict: Verdict, retry: RetryState) -> Verdict:
    """Retry is an addition to routing, not a condition of it: a missing Middleware CRD is said, not failed."""
    if not retry.asked or retry.applied or verdict.status != "True":
        return verdict
    note = (
        f"; retry on connection errors not applied: CRD {MIDDLEWARE_CRD} is not installed (run Traefik with its "
        "kubernetesCRD provider and CRDs, or remove spec.native.gateway.retry)"
    )
    return dataclasses.replace(verdict, message=verdict.message + note)


@dataclass(frozen=True)
class EndpointState:
    """What the endpoint looks like after a pass, for every member's status."""

    endpoint: Endpoint
    verdict: Verdict
    scoring_uri: str
    entry: Verdict
    route_applied: bool


class EndpointReconciler:
    """Applies endpoint objects; remembers for a minute whether the Gateway API is installed."""

    def __init__(self, kube: Kube) -> None:
        self._kube = kube
        self._crds: dict[str, tuple[float, bool]] = {}
        self._classes: dict[str, tuple[float, FeatureSupport | None]] = {}

    def _crd_established(self, name: str) -> bool:
        now = time.monotonic()
        cached = self._crds.get(name)
        if cached is None or now - cached[0] > _CRD_CACHE_SECONDS:
            cached = self._crds[name] = (now, self._kube.crd_established(name))
        return cached[1]

    def gateway_api_installed(self) -> bool:
        return self._crd_established(HTTPROUTE_CRD)

    def _retry(self, endpoint: Endpoint, gateway: GatewayParentRef | None) -> RetryState:
        """Apply the endpoint's retry Middleware when the platform asks for one and Traefik's CRD is there."""
        if gateway is None or gateway.retry is None:
            return RetryState(asked=False, applied=False)
        if not self._crd_established(MIDDLEWARE_CRD):
            return RetryState(asked=True, applied=False)
        apply_if_changed(self._kube, render_retry_middleware(endpoint, gateway.retry))
        return RetryState(asked=True, applied=True)

    def reconcile(
        self, endpoint: Endpoint, gateway: GatewayParentRef | None, with_keys: bool, draining: bool = False
    ) -> EndpointState:
        """`draining`: a member with traffic is leaving. Its share goes to the others in proportion (route
        weights are relative) before its pods stop, even while the remaining traffic does not sum to 100:
        deleting a deployment drains it instead of failing its share of requests."""
        if not endpoint.members:
            empty = Verdict(ConditionType.TRAFFIC_APPLIED, "False", Reason.NO_TRAFFIC)
            return EndpointState(endpoint, empty, "", empty, False)
        apply_if_changed(self._kube, render_endpoint_service(endpoint))
        if with_keys:
            ensure_keys_secret(self._kube, endpoint, _fresh_keys)
        route_applied = False
        api = self.gateway_api_installed()
        view = self._gateway(endpoint, gateway) if api else GatewayView(None, None)
        retry = RetryState(asked=False, applied=False)
        if api and (endpoint.traffic_valid or (draining and endpoint.traffic_total > 0)):
            retry = self._retry(endpoint, gateway)
            route = render_httproute(endpoint, gateway, mirror=view.mirror_ok, retry=retry.applied)
            apply_if_changed(self._kube, route)
            route_applied = True
        verdict = with_retry_note(traffic_verdict(endpoint, route_applied, api, gateway, view), retry)
        live = view.gateway if route_applied else None
        entry = entry_verdict(endpoint, gateway if route_applied else None, live)
        uri = _scoring_uri(endpoint, live, gateway)
        return EndpointState(endpoint, verdict, uri, entry, route_applied)

    def _gateway(self, endpoint: Endpoint, gateway: GatewayParentRef | None) -> GatewayView:
        if gateway is None:
            return GatewayView(None, None)
        namespace = gateway.namespace or endpoint.namespace
        live = self._kube.get(f"{GATEWAY_GROUP}/v1", "Gateway", gateway.name, namespace)
        class_name = str(((live or {}).get("spec") or {}).get("gatewayClassName", ""))
        return GatewayView(live, self._class_support(class_name) if class_name else None)

    def _class_support(self, name: str) -> FeatureSupport | None:
        """What a GatewayClass supports, re-read at most once a minute (classes change rarely)."""
        now = time.monotonic()
        cached = self._classes.get(name)
        if cached is None or now - cached[0] > _CRD_CACHE_SECONDS:
            found = self._kube.get(f"{GATEWAY_GROUP}/v1", "GatewayClass", name)
            cached = (now, feature_support(found) if found is not None else None)
            self._classes[name] = cached
        return cached[1]


def _fresh_keys() -> tuple[str, str]:
    return secrets.token_urlsafe(32), secrets.token_urlsafe(32)


def in_cluster_scoring_uri(endpoint: Endpoint) -> str:
    return f"http://{naming.endpoint_object_name(endpoint.name)}.{endpoint.namespace}.svc.cluster.local/score"


def _scoring_uri(endpoint: Endpoint, gateway: dict[str, Any] | None, parent: GatewayParentRef | None) -> str:
    """Where clients call, as Azure ML's scoring URI is the public one: the Gateway's address and the port of
    the listener the route attaches to, plus the endpoint's path; the in-cluster Service without a Gateway."""
    address = _gateway_address(gateway)
    if address is None:
        return in_cluster_scoring_uri(endpoint)
    port = _listener_port(gateway or {}, parent.section_name if parent else None)
    host = address if port in (None, 80) else f"{address}:{port}"
    return f"http://{host}{naming.scoring_path(endpoint.namespace, endpoint.name)}/score"


def _listener_port(gateway: dict[str, Any], section: str | None) -> int | None:
    """The named listener's port, else the first HTTP listener's."""
    listeners = [lst for lst in (gateway.get("spec") or {}).get("listeners") or [] if lst.get("protocol") == "HTTP"]
    chosen = next((lst for lst in listeners if section is None or lst.get("name") == section), None)
    return int(chosen["port"]) if chosen and "port" in chosen else None


def entry_verdict(endpoint: Endpoint, gateway: GatewayParentRef | None, live: dict[str, Any] | None) -> Verdict:
    """`EndpointReady`: the endpoint Service exists, and the Gateway its route attaches to (if any) too."""
    if gateway is not None and live is None:
        where = f"{gateway.namespace or endpoint.namespace}/{gateway.name}"
        return Verdict(
            ConditionType.ENDPOINT_READY,
            "False",
            Reason.GATEWAY_NOT_FOUND,
            f"Gateway {where} named by the platform's spec.native.gateway does not exist; create it or fix the "
            "platform",
            "Error",
        )
    via = f" behind Gateway {gateway.name}" if gateway is not None else ""
    service = naming.endpoint_object_name(endpoint.name)
    return Verdict(ConditionType.ENDPOINT_READY, "True", Reason.ENDPOINT_READY, f"Service {service}{via}")


def _gateway_address(gateway: dict[str, Any] | None) -> str | None:
    addresses = (gateway or {}).get("status", {}).get("addresses", [])
    return str(addresses[0]["value"]) if addresses else None


def traffic_verdict(
    endpoint: Endpoint,
    route_applied: bool,
    gateway_api: bool,
    gateway: GatewayParentRef | None,
    view: GatewayView | None = None,
) -> Verdict:
    """`TrafficApplied`, the same on every deployment of the endpoint."""
    split = ", ".join(f"{name}={pct}" for name, pct in endpoint.traffic.items())
    if not endpoint.traffic_valid:
        return Verdict(
            ConditionType.TRAFFIC_APPLIED,
            "False",
            Reason.TRAFFIC_SUM_INVALID,
            f"endpoint {endpoint.name} traffic sums to {endpoint.traffic_total} ({split}); "
            "make the deployments' traffic add up to 0 or 100",
            "Error",
        )
    needs_split = sum(1 for m in endpoint.members if m.traffic) > 1 or bool(endpoint.mirror_traffic)
    if not gateway_api:
        if needs_split:
            return Verdict(
                ConditionType.TRAFFIC_APPLIED,
                "False",
                Reason.GATEWAY_API_MISSING,
                f"traffic split ({split}) needs the Gateway API: install its CRDs and a Gateway controller",
                "Warning",
            )
        return Verdict(
            ConditionType.TRAFFIC_APPLIED, "True", Reason.TRAFFIC_APPLIED, f"served by the endpoint Service ({split})"
        )
    where = f"HTTPRoute {naming.endpoint_object_name(endpoint.name)}"
    if gateway is None:
        where += " (attached to no Gateway: set MLOpsPlatform spec.native.gateway)"
    mirror = ", ".join(f"{n}={p}" for n, p in endpoint.mirror_traffic.items())
    if mirror and view is not None and not view.mirror_ok and view.support is not None:
        return _mirroring_unsupported(where, split, mirror, view.support)
    message = f"{where}: {split}" + (f"; mirroring {mirror}" if mirror else "")
    return Verdict(ConditionType.TRAFFIC_APPLIED, "True" if route_applied else "False", Reason.TRAFFIC_APPLIED, message)


def _mirroring_unsupported(where: str, split: str, mirror: str, support: FeatureSupport) -> Verdict:
    """The split is applied without the mirror filters: the endpoint keeps serving, and status says why."""
    source = "its status.supportedFeatures" if support.published else "the documented support of its controller"
    return Verdict(
        ConditionType.TRAFFIC_APPLIED,
        "False",
        Reason.MIRRORING_UNSUPPORTED,
        f"{where}: {split} applied; mirroring {mirror} is not: the Gateway's class ({support.controller}) does not "
        f"support RequestMirror with a percentage (from {source}); remove mirrorTraffic or use a Gateway that does",
        "Warning",
    )

"""Reconcile the objects an endpoint's deployments share: Service, keys Secret and (Gateway API) HTTPRoute."""

from __future__ import annotations

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
from mlops_operator.render.endpoint import Endpoint, render_endpoint_service, render_httproute

HTTPROUTE_CRD = "httproutes.gateway.networking.k8s.io"
_CRD_CACHE_SECONDS = 60.0


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
        self._gateway_api: tuple[float, bool] | None = None

    def gateway_api_installed(self) -> bool:
        now = time.monotonic()
        if self._gateway_api is None or now - self._gateway_api[0] > _CRD_CACHE_SECONDS:
            self._gateway_api = (now, self._kube.crd_established(HTTPROUTE_CRD))
        return self._gateway_api[1]

    def reconcile(self, endpoint: Endpoint, gateway: GatewayParentRef | None, with_keys: bool) -> EndpointState:
        if not endpoint.members:
            empty = Verdict(ConditionType.TRAFFIC_APPLIED, "False", Reason.NO_TRAFFIC)
            return EndpointState(endpoint, empty, "", empty, False)
        apply_if_changed(self._kube, render_endpoint_service(endpoint))
        if with_keys:
            ensure_keys_secret(self._kube, endpoint, _fresh_keys)
        route_applied = False
        if endpoint.traffic_valid and self.gateway_api_installed():
            apply_if_changed(self._kube, render_httproute(endpoint, gateway))
            route_applied = True
        verdict = traffic_verdict(endpoint, route_applied, self.gateway_api_installed(), gateway)
        live = self._gateway(endpoint, gateway) if route_applied else None
        entry = entry_verdict(endpoint, gateway if route_applied else None, live)
        return EndpointState(endpoint, verdict, _scoring_uri(endpoint, live), entry, route_applied)

    def _gateway(self, endpoint: Endpoint, gateway: GatewayParentRef | None) -> dict[str, Any] | None:
        if gateway is None:
            return None
        namespace = gateway.namespace or endpoint.namespace
        return self._kube.get("gateway.networking.k8s.io/v1", "Gateway", gateway.name, namespace)


def _fresh_keys() -> tuple[str, str]:
    return secrets.token_urlsafe(32), secrets.token_urlsafe(32)


def _scoring_uri(endpoint: Endpoint, gateway: dict[str, Any] | None) -> str:
    """The Gateway's address plus the endpoint's path when it has one, else the in-cluster Service."""
    address = _gateway_address(gateway)
    if address is None:
        return f"http://{naming.endpoint_object_name(endpoint.name)}.{endpoint.namespace}.svc.cluster.local/score"
    return f"http://{address}{naming.scoring_path(endpoint.namespace, endpoint.name)}/score"


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
    endpoint: Endpoint, route_applied: bool, gateway_api: bool, gateway: GatewayParentRef | None
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
    message = f"{where}: {split}" + (f"; mirroring {mirror}" if mirror else "")
    return Verdict(ConditionType.TRAFFIC_APPLIED, "True" if route_applied else "False", Reason.TRAFFIC_APPLIED, message)

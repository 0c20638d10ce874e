"""Reconcile the objects an endpoint's deployments share: Service, keys Secret and (Gateway API) HTTPRoute."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from mlops_operator import naming
from mlops_operator.api.v1alpha1.platform import GatewayParentRef
from mlops_operator.backends.native.apply import apply_if_changed
from mlops_operator.conditions import Reason, Verdict
from mlops_operator.kube import Kube, KubeError
from mlops_operator.render.endpoint import (
    Endpoint,
    EndpointMember,
    render_endpoint_service,
    render_httproute,
    render_keys_secret,
    render_keys_secret_metadata,
)

ANNOTATION_REVISION = naming.ANNOTATION_ENDPOINT_REVISION
HTTPROUTE_CRD = "httproutes.gateway.networking.k8s.io"
_CRD_CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class EndpointState:
    """What the endpoint looks like after a pass, for every member's status."""

    endpoint: Endpoint
    verdict: Verdict
    scoring_uri: str
    route_applied: bool


def endpoint_members(kube: Kube, namespace: str, endpoint: str, without: str | None = None) -> Endpoint:
    """All live ModelDeployments of an endpoint (deleting ones and `without` excluded), sorted by name."""
    members = []
    for item in kube.list("mlops.dev/v1alpha1", "ModelDeployment", namespace):
        meta, spec = item["metadata"], item.get("spec", {})
        if spec.get("endpoint", {}).get("name") != endpoint or meta.get("deletionTimestamp"):
            continue
        if meta["name"] == without:
            continue
        recorded = (meta.get("annotations") or {}).get(ANNOTATION_REVISION, "")
        traffic, mirror = int(spec.get("traffic", 0)), int(spec.get("mirrorTraffic", 0))
        members.append(EndpointMember(meta["name"], meta["uid"], traffic, mirror, recorded))
    return Endpoint(endpoint, namespace, tuple(sorted(members, key=lambda m: m.name)))


def nudge_members(kube: Kube, endpoint: Endpoint, skip: str, current: str) -> None:
    """Record `current` on every other member whose recorded revision differs: the change wakes its handler."""
    patch = {"metadata": {"annotations": {ANNOTATION_REVISION: current}}}
    for member in endpoint.members:
        if member.name == skip or member.recorded_revision == current:
            continue
        try:
            kube.patch_merge("mlops.dev/v1alpha1", "ModelDeployment", member.name, endpoint.namespace, patch)
        except KubeError as exc:
            if exc.status != 404:  # a member deleted since the list needs no waking
                raise


def revision(endpoint: Endpoint) -> str:
    """Changes whenever any member's traffic changes or members come and go."""
    parts = [f"{m.name}={m.traffic}/{m.mirror_traffic}" for m in endpoint.members]
    return naming.short_hash(*parts)


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
            return EndpointState(endpoint, Verdict("TrafficApplied", "False", Reason.NO_TRAFFIC), "", False)
        apply_if_changed(self._kube, render_endpoint_service(endpoint))
        if with_keys:
            self._ensure_keys(endpoint)
        route_applied = False
        if endpoint.traffic_valid and self.gateway_api_installed():
            apply_if_changed(self._kube, render_httproute(endpoint, gateway))
            route_applied = True
        verdict = traffic_verdict(endpoint, route_applied, self.gateway_api_installed(), gateway)
        return EndpointState(endpoint, verdict, self._scoring_uri(endpoint, gateway, route_applied), route_applied)

    def _ensure_keys(self, endpoint: Endpoint) -> None:
        name = naming.keys_secret_name(endpoint.name)
        if self._kube.get("v1", "Secret", name, endpoint.namespace) is None:
            keys = render_keys_secret(endpoint, secrets.token_urlsafe(32), secrets.token_urlsafe(32))
            if self._kube.create(keys) is not None:
                return
        apply_if_changed(self._kube, render_keys_secret_metadata(endpoint))

    def _scoring_uri(self, endpoint: Endpoint, gateway: GatewayParentRef | None, routed: bool) -> str:
        in_cluster = f"http://{naming.endpoint_object_name(endpoint.name)}.{endpoint.namespace}.svc.cluster.local/score"
        if gateway is None or not routed:
            return in_cluster
        live = self._kube.get(
            "gateway.networking.k8s.io/v1", "Gateway", gateway.name, gateway.namespace or endpoint.namespace
        )
        address = _gateway_address(live)
        if address is None:
            return in_cluster
        return f"http://{address}{naming.scoring_path(endpoint.namespace, endpoint.name)}/score"


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
            "TrafficApplied",
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
                "TrafficApplied",
                "False",
                Reason.GATEWAY_API_MISSING,
                f"traffic split ({split}) needs the Gateway API: install its CRDs and a Gateway controller",
                "Warning",
            )
        return Verdict("TrafficApplied", "True", Reason.TRAFFIC_APPLIED, f"served by the endpoint Service ({split})")
    where = f"HTTPRoute {naming.endpoint_object_name(endpoint.name)}"
    if gateway is None:
        where += " (attached to no Gateway: set MLOpsPlatform spec.native.gateway)"
    mirror = ", ".join(f"{n}={p}" for n, p in endpoint.mirror_traffic.items())
    message = f"{where}: {split}" + (f"; mirroring {mirror}" if mirror else "")
    return Verdict("TrafficApplied", "True" if route_applied else "False", Reason.TRAFFIC_APPLIED, message)

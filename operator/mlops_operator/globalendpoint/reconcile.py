"""One pass over a GlobalEndpoint: place and read each region, probe, step the hysteresis, drive the router.

Level-based like every pass: everything it needs is on the object's status (each region's counters, when it
went out, what was last applied) and in the regions themselves, so any pass after a restart continues.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from mlops_operator.api.v1alpha1.globalendpoint import (
    FailoverRecord,
    GlobalEndpoint,
    GlobalEndpointStatus,
    Region,
    RegionStatus,
)
from mlops_operator.backends.base import Outcome
from mlops_operator.backends.routing import GlobalRouterDriver, Rotation, RouterResult
from mlops_operator.conditions import Announcement, ConditionType, Reason, Verdict
from mlops_operator.globalendpoint import placement
from mlops_operator.globalendpoint.hysteresis import Observation, step
from mlops_operator.globalendpoint.probe import ProbeResult, probe_all
from mlops_operator.globalendpoint.regions import RegionClients, RegionUnreachableError
from mlops_operator.kube import Kube, KubeError
from mlops_operator.render.global_router import RoutedRegion, policy_support

SCORE_SUFFIX = "/score"
T = ConditionType


@dataclass(frozen=True)
class GlobalDeps:
    """What a pass needs besides the object: the hub, the regions' clients, and the router drivers."""

    hub: Kube
    regions: RegionClients
    routers: Callable[[GlobalEndpoint], GlobalRouterDriver]
    now: Callable[[], datetime] = lambda: datetime.now(UTC)


@dataclass(frozen=True)
class RegionView:
    """One region as this pass found it."""

    region: Region
    serving: placement.RegionServing | None
    origin: str | None
    prefix: str | None
    problem: str = ""
    reason: str = Reason.REGION_UNREACHABLE  # why it has no view, when it has none


def reconcile_global(ge: GlobalEndpoint, deps: GlobalDeps) -> Outcome:
    keys = placement.hub_keys(deps.hub, ge) if ge.spec.endpoint.auth_mode == "key" and ge.spec.deployments else {}
    views = [_view(ge, deps, region, keys) for region in ge.spec.regions]
    probes = _probe(ge, views)
    previous = {r.name: r for r in (ge.status.regions if ge.status else [])}
    now = deps.now()
    states, records = [], []
    for view in views:
        state, record = step(
            view.region.name, previous.get(view.region.name), _observe(view, probes), ge.spec.failover, now
        )
        states.append(state.model_copy(update={"origin": view.origin}))
        records.extend([record] if record else [])
    prefixes = {v.prefix for v in views if v.prefix}
    if len(prefixes) > 1:
        message = f"regions serve the endpoint under different paths ({sorted(prefixes)}); use one namespace"
        return _outcome(
            ge, views, states, records, None, Verdict(T.ROUTED, "False", Reason.REGION_PATHS_DIFFER, message, "Error")
        )
    rotation = _rotation(views, states, prefixes)
    result = deps.routers(ge).apply(ge, rotation) if rotation is not None else None
    return _outcome(ge, views, states, records, result, _routed(rotation, result, states))


def _view(ge: GlobalEndpoint, deps: GlobalDeps, region: Region, keys: dict[str, str]) -> RegionView:
    try:
        kube = deps.regions.client(str(ge.metadata.namespace), region)
        if ge.spec.deployments:
            _ensure_namespace(kube, placement.region_namespace(ge, region))
            if keys:
                placement.copy_keys(kube, ge, region, keys)
            placement.place(kube, ge, region)
        serving = placement.read_serving(kube, ge, region)
    except placement.PlacementConflictError as exc:
        return RegionView(region, None, None, None, str(exc), Reason.PLACEMENT_CONFLICT)
    except (RegionUnreachableError, KubeError, OSError) as exc:
        return RegionView(region, None, None, None, f"{type(exc).__name__}: {exc}"[:500])
    except Exception as exc:  # urllib3's errors are not OSErrors; a region must not stop the others
        return RegionView(
            region, None, None, None, f"region {region.name} unreachable: {type(exc).__name__}: {exc}"[:500]
        )
    uri = urlsplit(serving.scoring_uri) if serving.scoring_uri else None
    origin = region.url or (f"{uri.scheme}://{uri.netloc}" if uri else None)
    prefix = uri.path.removesuffix(SCORE_SUFFIX) if uri else None
    return RegionView(region, serving, origin, prefix, serving.message)


def _ensure_namespace(kube: Kube, namespace: str) -> None:
    if kube.get("v1", "Namespace", namespace) is None:
        kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})


def _probe(ge: GlobalEndpoint, views: list[RegionView]) -> dict[str, ProbeResult]:
    """The operator probes for the Traefik router only: Front Door probes from its own edges."""
    if ge.spec.router.traefik is None:
        return {}
    probe = ge.spec.health_probe
    urls = {v.region.name: f"{v.origin}{v.prefix}{probe.path}" for v in views if v.origin and v.prefix}
    return probe_all(urls, probe.method, probe.timeout_seconds)


def _observe(view: RegionView, probes: dict[str, ProbeResult]) -> Observation:
    serving = view.serving
    result = probes.get(view.region.name)
    probe_ok = result.ok if result else (False if serving is None and probes else None)
    message = "; ".join(m for m in (view.problem, result.message if result else "") if m)
    return Observation(
        ready=bool(serving and serving.all_ready),
        deployments_ready=serving.summary if serving else "unknown",
        probe_ok=probe_ok,
        latency_ms=result.latency_ms if result else None,
        enabled=view.region.enabled,
        message=message,
    )


def _rotation(views: list[RegionView], states: list[RegionStatus], prefixes: set[str]) -> Rotation | None:
    if not prefixes:
        return None
    routed = tuple(
        RoutedRegion(v.region.name, v.origin, v.region.priority, v.region.weight) for v in views if v.origin is not None
    )
    in_service = frozenset(s.name for s in states if s.receiving_traffic)
    return Rotation(next(iter(prefixes)), routed, in_service)


def _routed(rotation: Rotation | None, result: RouterResult | None, states: list[RegionStatus]) -> Verdict:
    if rotation is None or result is None:
        return Verdict(T.ROUTED, "False", Reason.NO_HEALTHY_REGION, "no region serves the endpoint yet", "Info")
    if not result.settled:
        return Verdict(T.ROUTED, "False", Reason.ROUTER_PENDING, result.message, "Info")
    serving = [s.name for s in states if s.receiving_traffic]
    if not serving:
        message = "no region is healthy; the router keeps every region it can reach (fail open): " + result.message
        return Verdict(T.ROUTED, "False", Reason.NO_HEALTHY_REGION, message, "Warning")
    out = [s.name for s in states if not s.receiving_traffic]
    message = f"serving from {', '.join(serving)}" + (f"; out: {', '.join(out)}" if out else "")
    return Verdict(T.ROUTED, "True", Reason.ROUTER_CONFIGURED, message)


def _placed(views: list[RegionView], states: list[RegionStatus]) -> Verdict:
    conflicts = [v.problem for v in views if v.reason == Reason.PLACEMENT_CONFLICT and v.serving is None]
    if conflicts:
        return Verdict(T.PLACED, "False", Reason.PLACEMENT_CONFLICT, "; ".join(conflicts)[:1500], "Error")
    ready = [s.name for s in states if s.ready]
    summary = ", ".join(f"{s.name} {s.deployments_ready}" for s in states)
    if ready:
        return Verdict(
            T.PLACED, "True", Reason.REGIONS_PLACED, f"Ready in {len(ready)}/{len(states)} regions: {summary}"
        )
    reason = (
        Reason.REGION_UNREACHABLE
        if all(s.deployments_ready == "unknown" for s in states)
        else Reason.DEPLOYMENTS_NOT_READY
    )
    detail = "; ".join(f"{s.name}: {s.message}" for s in states if s.message)[:1500]
    return Verdict(T.PLACED, "False", reason, f"not Ready in any region ({summary}): {detail}", "Warning")


def _outcome(
    ge: GlobalEndpoint,
    views: list[RegionView],
    states: list[RegionStatus],
    records: list[FailoverRecord],
    result: RouterResult | None,
    routed: Verdict,
) -> Outcome:
    support = policy_support(ge.spec)
    verdicts = [
        _placed(views, states),
        routed,
        Verdict(T.POLICY_SUPPORTED, "True" if support.supported else "False", support.reason, support.message),
    ]
    last = records[-1] if records else (ge.status.last_failover if ge.status else None)
    status = GlobalEndpointStatus(
        url=result.url if result else None,
        policy_in_force=ge.spec.routing.type if support.supported else "leastTime",
        regions=states,
        last_failover=last,
    )
    if result is not None and ge.spec.router.front_door is not None:
        status.applied, status.operations = result.applied, result.operations
    events = [_announcement(r) for r in records]
    return Outcome(verdicts, status, requeue_after=float(ge.spec.health_probe.interval_seconds), events=events)


def _announcement(record: FailoverRecord) -> Announcement:
    if record.direction == "Removed":
        return Announcement("Warning", "RegionRemoved", f"{record.region} taken out: {record.reason}: {record.message}")
    return Announcement("Normal", "RegionRestored", f"{record.region} back in the rotation: {record.message}")

"""Microsoft.Cdn: Azure Front Door Standard/Premium profiles, endpoints, origin groups, origins and routes.

Bodies are validated with the ``azure.mgmt.cdn`` TypeSpec models (14.1.0, api-version 2026-10-01). The SDK
marks ``sku.name``, an origin's ``hostName`` and a route's ``originGroup`` optional, so the rules Front Door
documents are checked by hand: the two Front Door SKUs, origin ``priority`` 1-5 and ``weight`` 1-1000, ports
1-65535, probe interval 1-255 s, ``successfulSamplesRequired <= sampleSize``, and a route's origin group
existing in the same profile. Two rules are this fake's reading rather than verified ARM behaviour: a
profile's SKU cannot change in place (ARM has a separate upgrade action), and an origin group a route still
uses cannot be deleted. Deleting a profile deletes everything under it, as ARM does. Listing a profile's
children counts as a look at their operations (as a GET of each does), so one list shows them finishing.
"""

from __future__ import annotations

import functools
import hashlib
from typing import TYPE_CHECKING, Any

from azure.mgmt.cdn import models as cdn_models

from .errors import ArmError
from .lro import Operation
from .resources import Kind, list_resources, new_guid, resource_routes, strip_provider
from .routing import Request, Response, Router
from .state import StoredResource
from .validation import validate_typespec

if TYPE_CHECKING:
    from .app import FakeArmApp, Settings

NS = "Microsoft.Cdn"
PROFILE = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Cdn/profiles/{profile}"
FRONT_DOOR_SKUS = ("Standard_AzureFrontDoor", "Premium_AzureFrontDoor")


def _bad(message: str, target: str) -> ArmError:
    return ArmError(400, "BadRequest", message, target=target)


def _in_range(props: dict[str, Any], name: str, low: int, high: int, where: str = "properties") -> None:
    value = props.get(name)
    if value is not None and not low <= value <= high:
        raise _bad(f"{name} must be between {low} and {high}, got {value}.", f"{where}.{name}")


def _profile_of(resource_id: str) -> str:
    """The profile id of any resource under it."""
    head, _, rest = resource_id.partition("/profiles/")
    return f"{head}/profiles/{rest.split('/', 1)[0]}"


def _check_profile(app: FakeArmApp, req: Request, body: dict[str, Any], existing: StoredResource | None) -> None:
    sku = (body.get("sku") or {}).get("name")
    if sku not in FRONT_DOOR_SKUS:
        raise _bad(f"sku.name must be one of {', '.join(FRONT_DOOR_SKUS)}, got {sku!r}.", "sku.name")
    old = ((existing.body.get("sku") or {}).get("name") or "") if existing else ""
    if existing is not None and old.lower() != sku.lower():
        raise _bad(f"The SKU of profile cannot change from {old} to {sku}; use the upgrade action.", "sku.name")
    _in_range(body.get("properties") or {}, "originResponseTimeoutSeconds", 16, 240)


def _check_origin_group(app: FakeArmApp, req: Request, body: dict[str, Any], existing: StoredResource | None) -> None:
    props = body.get("properties") or {}
    probe = props.get("healthProbeSettings") or {}
    _in_range(probe, "probeIntervalInSeconds", 1, 255, "properties.healthProbeSettings")
    balancing = props.get("loadBalancingSettings") or {}
    sample, required = balancing.get("sampleSize"), balancing.get("successfulSamplesRequired")
    if sample is not None and required is not None and required > sample:
        raise _bad(
            f"successfulSamplesRequired ({required}) must not exceed sampleSize ({sample}).",
            "properties.loadBalancingSettings.successfulSamplesRequired",
        )


def _check_origin(app: FakeArmApp, req: Request, body: dict[str, Any], existing: StoredResource | None) -> None:
    props = body.get("properties") or {}
    if not props.get("hostName"):
        raise _bad("hostName is required for an origin.", "properties.hostName")
    _in_range(props, "priority", 1, 5)
    _in_range(props, "weight", 1, 1000)
    _in_range(props, "httpPort", 1, 65535)
    _in_range(props, "httpsPort", 1, 65535)


def _check_route(app: FakeArmApp, req: Request, body: dict[str, Any], existing: StoredResource | None) -> None:
    group = ((body.get("properties") or {}).get("originGroup") or {}).get("id")
    if not group:
        raise _bad("originGroup.id is required for a route.", "properties.originGroup.id")
    same_profile = _profile_of(group).lower() == _profile_of(req.resource_id).lower()
    if "/origingroups/" not in group.lower() or not same_profile or app.store.get(group) is None:
        raise _bad(
            f"The origin group '{group}' does not exist in this profile.",
            "properties.originGroup.id",
        )


def _check_origin_group_delete(app: FakeArmApp, req: Request, stored: StoredResource) -> None:
    users = [
        route.id
        for route in app.store.children(_profile_of(stored.id), "routes")
        if str((route.body["properties"].get("originGroup") or {}).get("id") or "").lower() == stored.id.lower()
    ]
    if users:
        raise ArmError(409, "Conflict", f"The origin group is used by route(s) {', '.join(users)}; delete them first.")


def _back_references(stored: StoredResource) -> None:
    """The read-only parent names Front Door reports on each child."""
    props, parts = stored.body["properties"], stored.id.split("/")
    lowered = [p.lower() for p in parts]
    props["profileName"] = parts[lowered.index("profiles") + 1]
    if "origingroups" in lowered and stored.kind == "origins":
        props["originGroupName"] = parts[lowered.index("origingroups") + 1]
    if "afdendpoints" in lowered and stored.kind == "routes":
        props["endpointName"] = parts[lowered.index("afdendpoints") + 1]
        props.pop("profileName")
    if stored.kind == "origins":
        props.pop("profileName")


def _shape_child(app: FakeArmApp, req: Request, stored: StoredResource, existing: StoredResource | None) -> None:
    _back_references(stored)
    stored.body["properties"]["deploymentStatus"] = "NotStarted"


def _shape_profile(app: FakeArmApp, req: Request, stored: StoredResource, existing: StoredResource | None) -> None:
    props = stored.body["properties"]
    old = existing.body["properties"] if existing else {}
    stored.body["kind"] = "frontdoor"
    props["resourceState"] = "Active"
    props["frontDoorId"] = old.get("frontDoorId") or new_guid()
    props.setdefault("originResponseTimeoutSeconds", 60)
    props.setdefault("extendedProperties", {})


def _shape_endpoint(app: FakeArmApp, req: Request, stored: StoredResource, existing: StoredResource | None) -> None:
    _shape_child(app, req, stored, existing)
    props = stored.body["properties"]
    suffix = hashlib.sha256(stored.id.lower().encode()).hexdigest()[:16]
    props["hostName"] = f"{stored.body['name']}-{suffix}.z01.azurefd.net"
    props.setdefault("enabledState", "Enabled")
    props.setdefault("autoGeneratedDomainNameLabelScope", "TenantReuse")


def _settled(app: FakeArmApp, stored: StoredResource, op: Operation) -> None:
    props = stored.body["properties"]
    if "deploymentStatus" in props:
        props["deploymentStatus"] = "Succeeded" if op.status == "Succeeded" else "Failed"


def kinds(settings: Settings) -> tuple[Kind, Kind, Kind, Kind, Kind]:
    def v(model: type):
        return functools.partial(validate_typespec, model, reject_unknown=settings.reject_unknown_fields)

    def kind(name: str, arm_type: str, model: type, patch_model: type, **hooks: Any) -> Kind:
        on_settled = _settled if name != "profiles" else None
        return Kind(name, f"{NS}/{arm_type}", NS, v(model), v(patch_model), on_settled=on_settled, **hooks)

    m = cdn_models
    return (
        kind("profiles", "profiles", m.Profile, m.ProfileUpdateParameters, check=_check_profile, shape=_shape_profile),
        kind(
            "afdEndpoints", "profiles/afdendpoints", m.AFDEndpoint, m.AFDEndpointUpdateParameters, shape=_shape_endpoint
        ),
        kind(
            "originGroups",
            "profiles/origingroups",
            m.AFDOriginGroup,
            m.AFDOriginGroupUpdateParameters,
            check=_check_origin_group,
            check_delete=_check_origin_group_delete,
            shape=_shape_child,
        ),
        kind(
            "origins",
            "profiles/origingroups/origins",
            m.AFDOrigin,
            m.AFDOriginUpdateParameters,
            check=_check_origin,
            shape=_shape_child,
        ),
        kind(
            "routes",
            "profiles/afdendpoints/routes",
            m.Route,
            m.RouteUpdateParameters,
            check=_check_route,
            shape=_shape_child,
        ),
    )


def _observing_list(kind: Kind):
    """A list that shows each item's operations as far as they got, as a GET of each item would: a client
    that follows its origins by listing them (one read) sees them finish."""

    def handler(app: FakeArmApp, req: Request) -> Response:
        parent = strip_provider(req.resource_id.rsplit("/", 1)[0])
        for item in app.store.children(parent, kind.name):
            app.ops.observe_resource(item.id)
        return list_resources(app, req, kind)

    return handler


def register(router: Router, settings: Settings) -> None:
    profile, endpoint, group, origin, route = kinds(settings)
    methods = "GET PUT PATCH DELETE"
    for template, kind in (
        (PROFILE + "/originGroups/{og}/origins/{origin}", origin),
        (PROFILE + "/originGroups/{og}", group),
        (PROFILE + "/afdEndpoints/{ep}/routes/{route}", route),
        (PROFILE + "/afdEndpoints/{ep}", endpoint),
    ):
        router.add("GET", template.rsplit("/", 1)[0], _observing_list(kind), kind.name)
        resource_routes(router, template, kind, methods=methods)
    resource_routes(router, PROFILE, profile, methods=methods)

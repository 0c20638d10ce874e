"""What Azure Front Door should look like for one GlobalEndpoint, as the SDK models the driver PUTs.

Pure: no SDK calls, no clock. Five resources, one global URL: a profile (the Front Door), an AFD endpoint
(its `<name>-<hash>.z01.azurefd.net` host), an origin group (health probe and load balancing), one origin
per region (priority, weight, enabled) and a route (patterns and protocols, to the origin group).

Each resource has a key (also the key of its operation in `status.operations`) and a digest: a stable hash
of the body we would PUT. The driver compares the digest with the one it recorded when it last PUT the
resource ("applied"), never with what Azure reports: a field dropped from the desired body must still
cause a write, and an idle pass must write nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from azure.mgmt.cdn import models as cdn

FRONT_DOOR_SKUS = ("Standard_AzureFrontDoor", "Premium_AzureFrontDoor")
# A profile and an AFD endpoint are global resources: ARM knows them by this location.
GLOBAL_LOCATION = "Global"

PROFILE_KEY = "frontdoor/profile"
ENDPOINT_KEY = "frontdoor/endpoint"
ORIGIN_GROUP_KEY = "frontdoor/origingroup"
ROUTE_KEY = "frontdoor/route"
ORIGIN_PREFIX = "frontdoor/origin/"


@dataclass(frozen=True)
class FrontDoorOrigin:
    """One region behind the global URL."""

    name: str  # the region name (DNS label), also the origin's resource name
    host_name: str  # host of the regional endpoint
    http_port: int = 80
    https_port: int = 443
    origin_host_header: str | None = None  # None: the host name, as Front Door defaults it
    priority: int = 1  # 1-5, lower wins
    weight: int = 1000  # 1-1000
    enabled: bool = True  # False = take the region out (enabledState Disabled)


@dataclass(frozen=True)
class FrontDoorProbe:
    """Front Door's health probe of every origin; only a 200 counts as healthy."""

    path: str = "/"
    method: str = "GET"  # GET | HEAD
    protocol: str = "Https"  # Http | Https
    interval_seconds: int = 30


@dataclass(frozen=True)
class FrontDoorDesired:
    """Every Front Door setting one GlobalEndpoint decides; resource names are the caller's."""

    resource_group: str
    profile: str
    endpoint: str
    origin_group: str
    route: str
    origins: tuple[FrontDoorOrigin, ...]
    sku: str = "Standard_AzureFrontDoor"
    probe: FrontDoorProbe = FrontDoorProbe()
    sample_size: int = 4
    successful_samples_required: int = 3
    additional_latency_ms: int = 50  # latency sensitivity
    patterns_to_match: tuple[str, ...] = ("/*",)
    forwarding_protocol: str = "HttpsOnly"  # HttpOnly | HttpsOnly | MatchRequest
    supported_protocols: tuple[str, ...] = ("Http", "Https")
    origin_path: str | None = None
    origin_response_timeout_seconds: int | None = None


def origin_key(name: str) -> str:
    return ORIGIN_PREFIX + name.lower()


def problems(desired: FrontDoorDesired) -> list[str]:
    """What Front Door would refuse in `desired`, found before any call (empty: nothing)."""
    found = [f"sku must be one of {', '.join(FRONT_DOOR_SKUS)}"] if desired.sku not in FRONT_DOOR_SKUS else []
    names = [o.name.lower() for o in desired.origins]
    if len(set(names)) != len(names):
        found.append("origin names must be unique")
    for origin in desired.origins:
        if not 1 <= origin.priority <= 5:
            found.append(f"origin {origin.name}: priority must be between 1 and 5")
        if not 1 <= origin.weight <= 1000:
            found.append(f"origin {origin.name}: weight must be between 1 and 1000")
    if not 1 <= desired.probe.interval_seconds <= 255:
        found.append("probe interval must be between 1 and 255 seconds")
    if desired.successful_samples_required > desired.sample_size:
        found.append("successful samples required must not exceed the sample size")
    timeout = desired.origin_response_timeout_seconds
    if timeout is not None and not 16 <= timeout <= 240:
        found.append("origin response timeout must be between 16 and 240 seconds")
    return found


def profile_model(desired: FrontDoorDesired) -> cdn.Profile:
    timeout = desired.origin_response_timeout_seconds
    properties = cdn.ProfileProperties(origin_response_timeout_seconds=timeout) if timeout is not None else None
    return cdn.Profile(location=GLOBAL_LOCATION, sku=cdn.Sku(name=desired.sku), properties=properties)


def endpoint_model(desired: FrontDoorDesired) -> cdn.AFDEndpoint:
    return cdn.AFDEndpoint(location=GLOBAL_LOCATION, properties=cdn.AFDEndpointProperties(enabled_state="Enabled"))


def origin_group_model(desired: FrontDoorDesired) -> cdn.AFDOriginGroup:
    probe = desired.probe
    properties = cdn.AFDOriginGroupProperties(
        load_balancing_settings=cdn.LoadBalancingSettingsParameters(
            sample_size=desired.sample_size,
            successful_samples_required=desired.successful_samples_required,
            additional_latency_in_milliseconds=desired.additional_latency_ms,
        ),
        health_probe_settings=cdn.HealthProbeParameters(
            probe_path=probe.path,
            probe_request_type=probe.method,
            probe_protocol=probe.protocol,
            probe_interval_in_seconds=probe.interval_seconds,
        ),
        session_affinity_state="Disabled",
    )
    return cdn.AFDOriginGroup(properties=properties)


def origin_model(origin: FrontDoorOrigin) -> cdn.AFDOrigin:
    properties = cdn.AFDOriginProperties(
        host_name=origin.host_name,
        http_port=origin.http_port,
        https_port=origin.https_port,
        origin_host_header=origin.origin_host_header or origin.host_name,
        priority=origin.priority,
        weight=origin.weight,
        enabled_state="Enabled" if origin.enabled else "Disabled",
    )
    return cdn.AFDOrigin(properties=properties)


def route_model(desired: FrontDoorDesired, origin_group_id: str) -> cdn.Route:
    """The route, to the origin group's ARM id (as ARM reported it, so the digest stays stable)."""
    properties = cdn.RouteProperties(
        origin_group=cdn.ResourceReference(id=origin_group_id),
        patterns_to_match=list(desired.patterns_to_match),
        supported_protocols=list(desired.supported_protocols),
        forwarding_protocol=desired.forwarding_protocol,
        origin_path=desired.origin_path,
        link_to_default_domain="Enabled",
        https_redirect="Disabled",
        enabled_state="Enabled",
    )
    return cdn.Route(properties=properties)


def body_of(model: Any) -> dict[str, Any]:
    """The JSON body the SDK sends for `model` (wire names, read-only fields left out)."""
    return dict(model.as_dict(exclude_readonly=True))


def digest(model: Any) -> str:
    """A stable hash of the body we would PUT: key order and SDK version do not change it."""
    text = json.dumps(body_of(model), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]

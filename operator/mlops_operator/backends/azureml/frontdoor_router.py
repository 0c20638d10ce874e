"""Azure Front Door as a GlobalEndpoint's router: the rotation becomes origins, enabled or not.

The subscription and credentials are those of the `azureml` MLOpsPlatform that `router.frontDoor.platformRef`
names (in the hub). Front Door probes the regions from its own edges; the operator disables the origin of
a region it took out (its ModelDeployments not Ready, or drained), which Front Door honours at once.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from mlops_operator.api.problems import InvalidResourceError, parse_resource
from mlops_operator.api.v1alpha1 import API_VERSION, MLOpsPlatform
from mlops_operator.api.v1alpha1.globalendpoint import FrontDoorSettings, GlobalEndpoint
from mlops_operator.backends.azureml.backend import AzureMLBackend
from mlops_operator.backends.azureml.frontdoor import FrontDoorObserved, apply_front_door, delete_front_door
from mlops_operator.backends.azureml.frontdoor_desired import FrontDoorDesired, FrontDoorOrigin, FrontDoorProbe
from mlops_operator.backends.azureml.operations import azure_errors
from mlops_operator.backends.base import FatalError
from mlops_operator.backends.routing import Rotation, RouterResult
from mlops_operator.conditions import Reason
from mlops_operator.config import OperatorSettings
from mlops_operator.kube import Kube, KubeError

EVERY_REGION_IN_BAND_MS = 1000  # priority and weighted: latency must not narrow the choice (AFD's maximum)


class FrontDoorRouter:
    def __init__(self, kube: Kube, settings: OperatorSettings, backend: AzureMLBackend) -> None:
        self._kube = kube
        self._settings = settings
        self._backend = backend

    def apply(self, ge: GlobalEndpoint, rotation: Rotation) -> RouterResult:
        front_door, cdn, resource_group = self._connect(ge)
        status = ge.status
        with azure_errors():
            observed = apply_front_door(
                cdn,
                desired_front_door(ge, front_door, resource_group, rotation),
                status.applied if status else {},
                status.operations if status else {},
            )
        return _result(observed, rotation.prefix)

    def delete(self, ge: GlobalEndpoint) -> RouterResult:
        front_door, cdn, resource_group = self._connect(ge)
        desired = desired_front_door(ge, front_door, resource_group, Rotation("/", (), frozenset()))
        with azure_errors():
            observed = delete_front_door(cdn, desired, ge.status.operations if ge.status else {})
        if not observed.settled:  # the finalizer keeps no status of its own: the operations go on the object
            patch = {"status": {"operations": {k: v.to_wire() for k, v in observed.operations.items()}}}
            name, namespace = str(ge.metadata.name), ge.metadata.namespace
            try:
                self._kube.patch_merge(API_VERSION, "GlobalEndpoint", name, namespace, patch, subresource="status")
            except KubeError as exc:
                if exc.status != 404:  # gone already: nothing left to record on
                    raise
        return _result(observed, "")

    def _connect(self, ge: GlobalEndpoint) -> tuple[FrontDoorSettings, Any, str]:
        front_door = ge.spec.router.front_door
        assert front_door is not None
        platform = self._platform(front_door.platform_ref.name)
        assert platform.spec.azure is not None
        resource_group = front_door.resource_group or platform.spec.azure.resource_group
        return front_door, self._backend.clients(platform).cdn(), resource_group

    def _platform(self, name: str) -> MLOpsPlatform:
        body = self._kube.get(API_VERSION, "MLOpsPlatform", name)
        why = f"MLOpsPlatform {name!r} named by router.frontDoor.platformRef"
        if body is None:
            raise FatalError(f"{why} does not exist; create it or fix the reference", Reason.PLATFORM_NOT_FOUND)
        try:
            platform = parse_resource(body)
        except InvalidResourceError as exc:
            raise FatalError(f"{why} is invalid: {exc}", Reason.INVALID_SPEC) from None
        if not isinstance(platform, MLOpsPlatform) or platform.spec.azure is None:
            raise FatalError(f"{why} has no spec.azure; use an azureml platform", Reason.BACKEND_UNSUPPORTED)
        return platform


def desired_front_door(
    ge: GlobalEndpoint, front_door: FrontDoorSettings, resource_group: str, rotation: Rotation
) -> FrontDoorDesired:
    """The whole Front Door for this GlobalEndpoint: one endpoint, origin group, route; an origin per region."""
    name = str(ge.metadata.name)
    serving = rotation.in_service or frozenset(r.name for r in rotation.regions)  # none healthy: fail open
    policy = ge.spec.routing
    origins = tuple(
        _origin(r.name, r.origin, r.weight, r.priority, r.name in serving, policy.type) for r in rotation.regions
    )
    scheme = urlsplit(rotation.regions[0].origin).scheme if rotation.regions else "https"
    probe = ge.spec.health_probe
    return FrontDoorDesired(
        resource_group=resource_group,
        profile=front_door.profile,
        endpoint=front_door.endpoint or name,
        origin_group=name,
        route=name,
        origins=origins,
        sku=front_door.sku,
        probe=FrontDoorProbe(
            rotation.prefix + probe.path, probe.method, "Https" if scheme == "https" else "Http", probe.interval_seconds
        ),
        sample_size=probe.sample_size,
        successful_samples_required=probe.successful_samples_required,
        additional_latency_ms=policy.latency_sensitivity_ms if policy.type == "latency" else EVERY_REGION_IN_BAND_MS,
        patterns_to_match=(f"{rotation.prefix}/*",),
        forwarding_protocol=front_door.forwarding_protocol,
    )


def _origin(name: str, origin: str, weight: int, priority: int, enabled: bool, policy: str) -> FrontDoorOrigin:
    parts = urlsplit(origin)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return FrontDoorOrigin(
        name=name,
        host_name=parts.hostname or "",
        http_port=port if parts.scheme == "http" else 80,
        https_port=port if parts.scheme == "https" else 443,
        priority=priority if policy == "priority" else 1,
        weight=weight if policy != "latency" else 1000,
        enabled=enabled,
    )


def _result(observed: FrontDoorObserved, prefix: str) -> RouterResult:
    url = f"{observed.url}{prefix}/score" if observed.url and prefix else observed.url
    return RouterResult(url, observed.settled, observed.writes, observed.message, observed.applied, observed.operations)

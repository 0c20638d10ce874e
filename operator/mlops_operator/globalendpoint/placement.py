"""What a GlobalEndpoint places in each region, and what it reads back from there.

Placed ModelDeployments carry the GlobalEndpoint's label (so the ones no longer wanted are found and
removed) and the digest of the manifest last applied: a region is written only when that digest changes,
so an idle pass makes no writes in any region. With key auth the hub keeps one key pair and copies it into
every region's keys Secret, so one key works behind the global URL whichever region answers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from mlops_operator import naming
from mlops_operator.api.v1alpha1 import API_VERSION
from mlops_operator.api.v1alpha1.globalendpoint import DeploymentTemplate, GlobalEndpoint, Region
from mlops_operator.kube import Kube

LABEL_GLOBAL_ENDPOINT = "mlops.dev/global-endpoint"
ANNOTATION_APPLIED = "mlops.dev/global-applied"
FIELD_MANAGER = "mlops-operator-global"


class PlacementConflictError(Exception):
    """A ModelDeployment of the wanted name exists in the region and belongs to someone else."""


@dataclass(frozen=True)
class RegionServing:
    """The endpoint's ModelDeployments in one region, as read back."""

    ready: int
    expected: int
    scoring_uri: str | None
    message: str

    @property
    def all_ready(self) -> bool:
        return self.expected > 0 and self.ready >= self.expected

    @property
    def summary(self) -> str:
        return f"{self.ready}/{self.expected}"


def owner_label(ge: GlobalEndpoint) -> str:
    """The label value naming the GlobalEndpoint (a label value: at most 63 characters)."""
    value = f"{ge.metadata.namespace}.{ge.metadata.name}"
    return value if len(value) <= 63 else hashlib.sha256(value.encode()).hexdigest()[:63]


def region_namespace(ge: GlobalEndpoint, region: Region) -> str:
    return region.namespace or str(ge.metadata.namespace)


def render_placed(ge: GlobalEndpoint, region: Region, template: DeploymentTemplate) -> dict[str, Any]:
    """The ModelDeployment placed in `region` for `template`, with the region's overrides merged in."""
    spec = template.spec.to_wire()
    spec["endpoint"] = ge.spec.endpoint.to_wire()
    spec["platformRef"] = region.platform_ref.to_wire()
    overrides = region.overrides.to_wire()
    extra_env = overrides.pop("environmentVariables", {})
    spec.update(overrides)
    if extra_env:
        spec["environmentVariables"] = {**spec.get("environmentVariables", {}), **extra_env}
    metadata: dict[str, Any] = {
        "name": template.name,
        "namespace": region_namespace(ge, region),
        "labels": {LABEL_GLOBAL_ENDPOINT: owner_label(ge)},
    }
    manifest = {"apiVersion": API_VERSION, "kind": "ModelDeployment", "metadata": metadata, "spec": spec}
    metadata["annotations"] = {ANNOTATION_APPLIED: digest(manifest)}
    return manifest


def digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def place(kube: Kube, ge: GlobalEndpoint, region: Region) -> int:
    """Apply the region's ModelDeployments where they differ from what was last applied, remove the ones no
    longer wanted; the number of writes."""
    namespace = region_namespace(ge, region)
    writes = 0
    wanted = {t.name: render_placed(ge, region, t) for t in ge.spec.deployments}
    for name, manifest in wanted.items():
        live = kube.get(API_VERSION, "ModelDeployment", name, namespace)
        _check_owner(ge, region, live)
        applied = ((live or {}).get("metadata", {}).get("annotations") or {}).get(ANNOTATION_APPLIED)
        if applied != manifest["metadata"]["annotations"][ANNOTATION_APPLIED]:
            kube.apply(manifest, FIELD_MANAGER)
            writes += 1
    for stale in placed_names(kube, ge, namespace) - set(wanted):
        kube.delete(API_VERSION, "ModelDeployment", stale, namespace)
        writes += 1
    return writes


def _check_owner(ge: GlobalEndpoint, region: Region, live: dict[str, Any] | None) -> None:
    """Never take over a ModelDeployment someone else made (a user, another GlobalEndpoint)."""
    if live is None:
        return
    owner = (live["metadata"].get("labels") or {}).get(LABEL_GLOBAL_ENDPOINT)
    if owner != owner_label(ge):
        meta = live["metadata"]
        held = f"GlobalEndpoint {owner}" if owner else "no GlobalEndpoint (made by hand)"
        raise PlacementConflictError(
            f"ModelDeployment {meta['namespace']}/{meta['name']} in region {region.name} belongs to {held}; "
            "rename the deployment template or delete that ModelDeployment"
        )


def placed_names(kube: Kube, ge: GlobalEndpoint, namespace: str) -> set[str]:
    selector = f"{LABEL_GLOBAL_ENDPOINT}={owner_label(ge)}"
    return {m["metadata"]["name"] for m in kube.list(API_VERSION, "ModelDeployment", namespace, selector)}


def unplace(kube: Kube, ge: GlobalEndpoint, region: Region) -> int:
    """Delete what this GlobalEndpoint placed in the region; the number still there (0: gone)."""
    namespace = region_namespace(ge, region)
    names = placed_names(kube, ge, namespace)
    for name in names:
        kube.delete(API_VERSION, "ModelDeployment", name, namespace)
    return len(names)


def read_serving(kube: Kube, ge: GlobalEndpoint, region: Region) -> RegionServing:
    """Readiness and scoring URI of the endpoint's ModelDeployments in the region (placed or already there)."""
    namespace = region_namespace(ge, region)
    endpoint = ge.spec.endpoint.name
    members = kube.list(API_VERSION, "ModelDeployment", namespace, field_selector=f"spec.endpoint.name={endpoint}")
    expected = len(ge.spec.deployments) or len(members)
    ready = [m for m in members if _ready(m)]
    # A region not Ready keeps its address: the router disables it rather than forgetting it.
    uris = [(m.get("status") or {}).get("scoringUri") for m in [*ready, *members]]
    uri = next((u for u in uris if u), None)
    not_ready = [f"{m['metadata']['name']}: {_ready_message(m)}" for m in members if not _ready(m)]
    missing = sorted({t.name for t in ge.spec.deployments} - {m["metadata"]["name"] for m in members})
    message = "; ".join(not_ready + [f"{name}: not created yet" for name in missing])
    if not members and not ge.spec.deployments:
        message = f"no ModelDeployment serves endpoint {endpoint!r} in namespace {namespace}"
    return RegionServing(len(ready), expected, uri, message)


def _ready_condition(md: dict[str, Any]) -> dict[str, Any]:
    conditions = (md.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == "Ready"), {})


def _ready(md: dict[str, Any]) -> bool:
    condition = _ready_condition(md)
    current = condition.get("observedGeneration") in (None, md["metadata"].get("generation"))
    return condition.get("status") == "True" and current


def _ready_message(md: dict[str, Any]) -> str:
    condition = _ready_condition(md)
    return f"{condition.get('reason', 'NotReported')}: {condition.get('message', '')}"[:300]


def hub_keys(hub: Kube, ge: GlobalEndpoint) -> dict[str, str]:
    """The endpoint's key pair, kept in the hub (created once, never overwritten: users rotate it there)."""
    name = f"{ge.metadata.name}-global-keys"
    namespace = str(ge.metadata.namespace)
    live = hub.get("v1", "Secret", name, namespace)
    if live is None:
        keys = {"primaryKey": secrets.token_urlsafe(32), "secondaryKey": secrets.token_urlsafe(32)}
        body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace}}
        hub.create({**body, "type": "Opaque", "stringData": keys})
        live = hub.get("v1", "Secret", name, namespace) or {"data": {}}
    return {k: base64.b64decode(v).decode() for k, v in (live.get("data") or {}).items()}


def copy_keys(kube: Kube, ge: GlobalEndpoint, region: Region, keys: dict[str, str]) -> int:
    """The region's keys Secret holds the hub's keys; one write when it does not."""
    name = naming.keys_secret_name(ge.spec.endpoint.name)
    namespace = region_namespace(ge, region)
    live = kube.get("v1", "Secret", name, namespace)
    wanted = {k: base64.b64encode(v.encode()).decode() for k, v in keys.items()}
    if live is not None and all((live.get("data") or {}).get(k) == v for k, v in wanted.items()):
        return 0
    labels = {LABEL_GLOBAL_ENDPOINT: owner_label(ge)}
    meta = {"name": name, "namespace": namespace, "labels": labels}
    kube.apply(
        {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque", "data": wanted}, FIELD_MANAGER
    )
    return 1

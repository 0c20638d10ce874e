"""An endpoint's members and keys, the same for both backends.

An endpoint (`spec.endpoint.name`) is shared by every ModelDeployment naming it in the namespace; each
member's pass computes the endpoint from all members, so every member renders the same objects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlops_operator import naming
from mlops_operator.api.v1alpha1 import ModelDeployment
from mlops_operator.backends.base import ObjectKey
from mlops_operator.backends.shared.apply import apply_if_changed, needs_apply, stamped
from mlops_operator.kube import Kube
from mlops_operator.render.endpoint import Endpoint, EndpointMember, render_keys_secret, render_keys_secret_metadata
from mlops_operator.render.rollout_traffic import MemberTraffic, effective_split, member_from_item

KeysSource = Callable[[], tuple[str, str]]


def endpoint_members(
    kube: Kube, namespace: str, endpoint: str, without: str | None = None, me: ModelDeployment | None = None
) -> Endpoint:
    """All live ModelDeployments of an endpoint (deleting ones and `without` excluded), sorted by name, with
    the traffic in force: a candidate of a rollout at its rollout's share, its baseline carrying the rest.

    `me`, the deployment whose pass this is, counts as this pass leaves it (its new rollout state)."""
    listed: list[tuple[str, str, tuple[int, int], MemberTraffic | None]] = []
    selector = f"spec.endpoint.name={endpoint}"  # a selectable field of the CRD
    for item in kube.list("mlops.dev/v1alpha1", "ModelDeployment", namespace, field_selector=selector):
        meta, spec = item["metadata"], item.get("spec", {})
        if spec.get("endpoint", {}).get("name") != endpoint or meta.get("deletionTimestamp"):
            continue
        if meta["name"] == without:
            continue
        view = _own_view(me) if me is not None and _current(me, meta) else member_from_item(item)
        raw = (int(spec.get("traffic", 0)), int(spec.get("mirrorTraffic", 0)))
        listed.append((meta["name"], meta["uid"], raw, view))
    views = [view for *_, view in listed if view is not None]
    split = effective_split(views)
    # A member whose spec does not parse keeps its raw numbers (its pass reports InvalidSpec).
    members = [EndpointMember(name, uid, split.get(name, raw[0]), raw[1]) for name, uid, raw, _ in listed]
    return Endpoint(endpoint, namespace, tuple(sorted(members, key=lambda m: m.name)))


def _current(me: ModelDeployment, meta: dict[str, Any]) -> bool:
    """Whether `me` is this member as the API server has it. A pass that began before its spec changed must
    not push the older traffic against its siblings' newer specs (a blue/green switch would briefly route
    nowhere): the live spec counts, and the pass the change triggered follows with the new rollout state."""
    if me.metadata.name != meta["name"]:
        return False
    return int(meta.get("generation") or 0) <= int(me.metadata.generation or 0)


def _own_view(md: ModelDeployment) -> MemberTraffic:
    status = md.status
    recorded = (status.traffic.get(str(md.metadata.name), 0) if status else 0) or 0
    return MemberTraffic(str(md.metadata.name), md.spec, status.rollout if status else None, recorded)


def siblings_to_wake(endpoint: Endpoint, me: str, recorded: object, in_force: object) -> list[ObjectKey]:
    """The other members, when the traffic in force differs from what this member's status records.

    The first member to see a change wakes the others so their `status.traffic` follows; once each has
    written the new split, nobody differs and nobody is woken again.
    """
    if recorded == in_force:
        return []
    return [ObjectKey("ModelDeployment", endpoint.namespace, m.name) for m in endpoint.members if m.name != me]


def ensure_keys_secret(kube: Kube, endpoint: Endpoint, keys: KeysSource) -> str:
    """The endpoint keys Secret: created once with `keys()`, then only its labels and owners are applied.

    Keys are never overwritten, so users may rotate them in the Secret; a deleted Secret is created again.
    """
    name = naming.keys_secret_name(endpoint.name)
    metadata = render_keys_secret_metadata(endpoint)
    live = kube.get("v1", "Secret", name, endpoint.namespace)
    if live is None:
        created = render_keys_secret(endpoint, *keys())
        # Stamped as the metadata apply below would be, so the next pass finds nothing to change.
        created["metadata"] = stamped(metadata)["metadata"]
        if kube.create(created) is not None:
            return name
        apply_if_changed(kube, metadata)  # someone else created it meanwhile: read theirs
    elif needs_apply(metadata, live):
        kube.apply(stamped(metadata), naming.FIELD_MANAGER)
    return name

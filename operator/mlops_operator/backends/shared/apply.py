"""Apply children only when they differ from what this field manager last applied.

"Desired is a subset of live" cannot see a removed field: the renderers leave empty fields out, so a
toleration or a limit dropped from the desired object is simply not compared. Instead every applied
object carries a hash of its rendered form in an annotation. A pass applies when the hash differs (a
field was added, changed or removed), and also when a field we set was changed by someone else (drift).
Fields other managers own (an HPA's replicas, server defaults) are in neither, so they cause no write.
"""

from __future__ import annotations

import json
from typing import Any

from mlops_operator import naming
from mlops_operator.kube import Kube

ANNOTATION_APPLIED_HASH = naming.ANNOTATION_APPLIED_HASH


def is_subset(desired: Any, live: Any) -> bool:
    """True when every field we set already has that value live (the server adds defaults around ours)."""
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(is_subset(v, live.get(k)) for k, v in desired.items())
    if isinstance(desired, list):
        return isinstance(live, list) and len(desired) == len(live) and all(map(is_subset, desired, live))
    return bool(desired == live or str(desired) == str(live))


def applied_hash(desired: dict[str, Any]) -> str:
    """A stable hash of the rendered object (key order does not matter; list order does, as in Kubernetes)."""
    return naming.short_hash(json.dumps(desired, sort_keys=True, separators=(",", ":")), length=16)


def stamped(desired: dict[str, Any]) -> dict[str, Any]:
    """`desired` with the hash of itself in its annotations: what is sent, and what the next pass compares."""
    meta = desired["metadata"]
    annotations = {**meta.get("annotations", {}), ANNOTATION_APPLIED_HASH: applied_hash(desired)}
    return {**desired, "metadata": {**meta, "annotations": annotations}}


def needs_apply(desired: dict[str, Any], live: dict[str, Any] | None) -> bool:
    """True when `live` is missing, was last applied from another rendering, or drifted on a field we set."""
    if live is None:
        return True
    ours = stamped(desired)
    return not is_subset({k: v for k, v in ours.items() if k not in ("apiVersion", "kind")}, live)


def apply_if_changed(kube: Kube, desired: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Server-side apply `desired` unless it is what we last applied and still live; returns (live, changed)."""
    meta = desired["metadata"]
    live = kube.get(desired["apiVersion"], desired["kind"], meta["name"], meta.get("namespace"))
    if live is not None and not needs_apply(desired, live):
        return live, False
    return kube.apply(stamped(desired), naming.FIELD_MANAGER), True


def delete_if_present(kube: Kube, api_version: str, kind: str, name: str, namespace: str) -> bool:
    """Remove a child we no longer want (e.g. the HPA after switching to fixed scaling)."""
    if kube.get(api_version, kind, name, namespace) is None:
        return False
    return kube.delete(api_version, kind, name, namespace)

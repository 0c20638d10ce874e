"""Apply desired objects only when they differ from what the API server holds: resyncs write nothing."""

from __future__ import annotations

from typing import Any

from mlops_operator.kube import Kube
from mlops_operator.naming import FIELD_MANAGER


def is_subset(desired: Any, live: Any) -> bool:
    """True when every field we set already has that value live (the server adds defaults around ours)."""
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(is_subset(v, live.get(k)) for k, v in desired.items())
    if isinstance(desired, list):
        return isinstance(live, list) and len(desired) == len(live) and all(map(is_subset, desired, live))
    return bool(desired == live or str(desired) == str(live))


def apply_if_changed(kube: Kube, desired: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Server-side apply `desired` unless the live object already matches; returns (live, changed)."""
    meta = desired["metadata"]
    live = kube.get(desired["apiVersion"], desired["kind"], meta["name"], meta.get("namespace"))
    if live is not None and is_subset(_comparable(desired), live):
        return live, False
    return kube.apply(desired, FIELD_MANAGER), True


def _comparable(desired: dict[str, Any]) -> dict[str, Any]:
    # apiVersion may be served under another version string; compare the rest.
    return {k: v for k, v in desired.items() if k not in ("apiVersion", "kind")}


def delete_if_present(kube: Kube, api_version: str, kind: str, name: str, namespace: str) -> bool:
    """Remove a child we no longer want (e.g. the HPA after switching to fixed scaling)."""
    if kube.get(api_version, kind, name, namespace) is None:
        return False
    return kube.delete(api_version, kind, name, namespace)

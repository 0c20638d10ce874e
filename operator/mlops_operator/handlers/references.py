"""Watches on what ModelDeployments reference: a change there wakes exactly the deployments that use it.

kopf indices (registered next to each kind's handlers) map every referenced object to its referrers,
so an event on a ConfigMap, Secret or Gateway costs a dictionary lookup, and waking is O(referrers).
Events on objects nobody references return at once, without leaving the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kopf

from mlops_operator.api.problems import InvalidResourceError, parse_resource
from mlops_operator.backends.base import ObjectKey
from mlops_operator.handlers.flows import wake_dependents

GATEWAY_GROUP = "gateway.networking.k8s.io"


def index_entries(body: dict[str, Any], watched: Callable[[Any], list[ObjectKey]], value: Any) -> dict[Any, Any]:
    """kopf index entries {(kind, namespace, name): value} for what a parsed object references."""
    try:
        parsed = parse_resource(body)
    except InvalidResourceError:  # its status says why; it references nothing until fixed
        return {}
    return {(key.kind, key.namespace, key.name): value for key in watched(parsed)}


def _changed(kind: str, event_type: str | None, namespace: str | None, name: str, memo: Any) -> None:
    # The initial listing (type None) is covered by the resume handlers of the referrers themselves.
    if event_type is None:
        return
    wake_dependents(memo["ctx"], ObjectKey(kind, namespace, name))


@kopf.on.event("", "v1", "configmaps")
async def configmap_changed(type: str | None, namespace: str | None, name: str, memo: Any, **_: Any) -> None:
    """Code and model ConfigMaps: deletion, return and edits (content is hashed into the pod template)."""
    _changed("ConfigMap", type, namespace, name, memo)


@kopf.on.event("", "v1", "secrets")
async def secret_changed(type: str | None, namespace: str | None, name: str, memo: Any, **_: Any) -> None:
    """The endpoint keys Secret: a deleted one is created again (new keys) and pods are told."""
    _changed("Secret", type, namespace, name, memo)


@kopf.on.event(GATEWAY_GROUP, "v1", "gateways")
async def gateway_changed(type: str | None, namespace: str | None, name: str, memo: Any, **_: Any) -> None:
    """The platform's Gateway: its deletion and return show on every deployment routed through it."""
    _changed("Gateway", type, namespace, name, memo)

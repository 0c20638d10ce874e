"""Watches on what the operator creates: a change in a child wakes its ModelDeployment."""

from __future__ import annotations

from typing import Any

import kopf

from mlops_operator import naming
from mlops_operator.handlers.flows import deployment_key, wake

MANAGED: dict[str, Any] = {
    naming.LABEL_MANAGED_BY: naming.MANAGED_BY,
    naming.LABEL_DEPLOYMENT: kopf.PRESENT,
}


@kopf.on.event("apps", "v1", "deployments", labels=MANAGED)
@kopf.on.event("", "v1", "pods", labels=MANAGED)
async def child_changed(labels: kopf.Labels, namespace: str | None, memo: Any, **_: Any) -> None:
    wake(memo["ctx"], deployment_key(namespace, labels[naming.LABEL_DEPLOYMENT]))

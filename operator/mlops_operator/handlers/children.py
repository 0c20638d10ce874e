"""Watches on what the operator creates: a change in a child re-reconciles its ModelDeployment."""

from __future__ import annotations

from typing import Any

import kopf

from mlops_operator import naming
from mlops_operator.handlers.flows import reconcile_deployment_by_name

MANAGED: dict[str, Any] = {
    naming.LABEL_MANAGED_BY: naming.MANAGED_BY,
    naming.LABEL_DEPLOYMENT: kopf.PRESENT,
}


@kopf.on.event("apps", "v1", "deployments", labels=MANAGED)
@kopf.on.event("", "v1", "pods", labels=MANAGED)
def child_changed(labels: kopf.Labels, namespace: str | None, memo: Any, **_: Any) -> None:
    reconcile_deployment_by_name(memo["ctx"], str(namespace), labels[naming.LABEL_DEPLOYMENT])

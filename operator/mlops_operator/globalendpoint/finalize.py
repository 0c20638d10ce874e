"""Deleting a GlobalEndpoint: off the global router first (no traffic to what goes next), then what it
placed in each region. A region that cannot be reached keeps the object until it can (or the user removes
the region from the spec first, which leaves that region's deployments to the user)."""

from __future__ import annotations

from mlops_operator.api.v1alpha1.globalendpoint import GlobalEndpoint
from mlops_operator.globalendpoint import placement
from mlops_operator.globalendpoint.reconcile import GlobalDeps
from mlops_operator.globalendpoint.regions import RegionUnreachableError
from mlops_operator.kube import KubeError


def finalize_global(ge: GlobalEndpoint, deps: GlobalDeps) -> str:
    """What is still left to remove ("" once everything is gone)."""
    router = deps.routers(ge).delete(ge)
    if not router.settled:
        return router.message
    left = []
    for region in ge.spec.regions:
        try:
            kube = deps.regions.client(str(ge.metadata.namespace), region)
            remaining = placement.unplace(kube, ge, region)
        except (RegionUnreachableError, KubeError, OSError) as exc:
            left.append(f"{region.name}: {exc}")
            continue
        if remaining:
            left.append(f"{region.name}: {remaining} ModelDeployments being deleted")
    return "; ".join(left)

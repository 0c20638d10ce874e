"""Where an instance type's pods run: its own node selector and tolerations, plus GPU scheduling.

One pure function for both backends: the native Deployment's pod spec and Azure ML's InstanceType objects
get the same answer. What the instance type declares always wins; the platform only adds (docs/gpu.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mlops_operator.api.quantity import parse_quantity
from mlops_operator.api.v1alpha1 import InstanceType
from mlops_operator.api.v1alpha1.common import ResourceRequirements, Toleration
from mlops_operator.api.v1alpha1.gpu import GpuScheduling
from mlops_operator.api.v1alpha1.platform import TAINT_PATTERN, NodePoolSettings

POOL_LABEL = "kubernetes.azure.com/agentpool"
"""AKS puts this label, the pool's name, on every node of a pool (a reserved label: users cannot set it)."""
_POOL_KEYS = (POOL_LABEL, "agentpool")  # `agentpool` is its deprecated predecessor, still set by AKS


@dataclass(frozen=True)
class Placement:
    """The node selector and tolerations of an instance type's pods."""

    node_selector: dict[str, str]
    tolerations: tuple[Toleration, ...]

    def tolerations_wire(self) -> list[dict[str, Any]]:
        return [t.to_wire() for t in self.tolerations]


def requests_gpus(resources: ResourceRequirements) -> bool:
    """Whether the limits ask for at least one `nvidia.com/gpu` (a limit of 0 is no GPU)."""
    gpus = resources.limits.gpu if resources.limits else None
    return gpus is not None and parse_quantity(gpus) > 0


def placement(
    instance_type: InstanceType,
    gpu: GpuScheduling,
    pool: NodePoolSettings | None = None,
    resources: ResourceRequirements | None = None,
) -> Placement:
    """The instance type's placement, with GPU scheduling added when its pods ask for GPUs.

    `pool` is the node pool the platform manages (azureml `azure.nodePool`), `resources` what the pods
    actually ask for when a deployment overrides the instance type's. The instance type's own node selector
    keys and toleration key/effect pairs are never replaced, only added to.
    """
    own = Placement(dict(instance_type.node_selector), tuple(instance_type.tolerations))
    if not gpu.enabled or not requests_gpus(resources or instance_type.resources):
        return own
    gpu_pool = pool if pool is not None and pool.accelerator == "nvidia" else None
    selector = dict(own.node_selector)
    for key, value in {**gpu.node_selector, **_pool_selector(gpu_pool, selector, gpu)}.items():
        selector.setdefault(key, value)
    pool_tolerations = [taint_toleration(t) for t in gpu_pool.taints] if gpu_pool else []
    return Placement(selector, merge_tolerations(own.tolerations, [*gpu.tolerations, *pool_tolerations]))


def _pool_selector(pool: NodePoolSettings | None, own: dict[str, str], gpu: GpuScheduling) -> dict[str, str]:
    """Select the managed GPU pool, unless the instance type or `spec.gpu` already names a pool."""
    if pool is None or any(key in own or key in gpu.node_selector for key in _POOL_KEYS):
        return {}
    return {POOL_LABEL: pool.name}


def merge_tolerations(own: Iterable[Toleration], added: Iterable[Toleration]) -> tuple[Toleration, ...]:
    """`own` as declared, then each added toleration that nothing before it already covers."""
    merged = list(own)
    for toleration in added:
        if not any(_covers(existing, toleration) for existing in merged):
            merged.append(toleration)
    return tuple(merged)


def _covers(existing: Toleration, wanted: Toleration) -> bool:
    """Same key (or a match-all key) and same effect (or a match-all effect): `wanted` would add nothing new.

    A different value under the same key and effect counts as covered: the instance type's choice wins.
    """
    same_key = existing.key == wanted.key or (existing.key is None and existing.operator == "Exists")
    return same_key and (existing.effect is None or existing.effect == wanted.effect)


def taint_toleration(taint: str) -> Toleration:
    """The toleration of an AKS node taint written `key=value:Effect` (or `key:Effect`)."""
    match = re.fullmatch(TAINT_PATTERN, taint)
    if match is None:  # the model validated it; this is a programming error
        raise ValueError(f"not a taint: {taint!r}")
    key, value, effect = match.groups()
    if value is None:
        return Toleration.model_validate({"key": key, "operator": "Exists", "effect": effect})
    return Toleration.model_validate({"key": key, "operator": "Equal", "value": value, "effect": effect})

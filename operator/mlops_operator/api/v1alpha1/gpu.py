"""`spec.gpu` of a platform: what instance types with `nvidia.com/gpu` limits get, so they land on GPU nodes.

The defaults are tolerations only, because a toleration of a taint a cluster does not have changes nothing,
while a node selector for a label a cluster does not have makes pods unschedulable (docs/gpu.md).
"""

from __future__ import annotations

from pydantic import Field

from mlops_operator.api.v1alpha1.common import GPU_RESOURCE, CamelModel, Toleration

# The taint the AKS GPU documentation puts on GPU node pools (`az aks nodepool add --node-taints
# sku=gpu:NoSchedule`), and the toleration it gives GPU workloads.
AKS_GPU_TOLERATION = Toleration(key="sku", operator="Equal", value="gpu", effect="NoSchedule")
# NVIDIA's convention: GPU nodes tainted `nvidia.com/gpu` (GKE does it itself); the device plugin's and the
# GPU operator's DaemonSets tolerate it with `Exists`.
NVIDIA_GPU_TOLERATION = Toleration(key=GPU_RESOURCE, operator="Exists", effect="NoSchedule")


def _default_tolerations() -> list[Toleration]:
    return [AKS_GPU_TOLERATION.model_copy(), NVIDIA_GPU_TOLERATION.model_copy()]


class GpuScheduling(CamelModel):
    """Scheduling added to every instance type whose `resources.limits` ask for `nvidia.com/gpu`."""

    enabled: bool = Field(
        True,
        description=(
            "Add the tolerations and node selector below (and, on azureml, the placement on an NVIDIA "
            "`azure.nodePool`) to GPU instance types; `false` leaves them exactly as declared."
        ),
    )
    tolerations: list[Toleration] = Field(
        default_factory=_default_tolerations,
        max_length=16,
        description=(
            "Tolerations added to GPU instance types, unless the instance type already tolerates the same key "
            "and effect. Default: AKS's GPU pool taint `sku=gpu:NoSchedule` and NVIDIA's `nvidia.com/gpu` "
            "(Exists, NoSchedule); harmless where no node has them. `[]` adds none."
        ),
    )
    node_selector: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Node labels added to GPU instance types' node selectors (the instance type's own value wins on "
            "the same key), e.g. `kubernetes.azure.com/accelerator: nvidia` on AKS. Empty by default: a label "
            "the cluster's nodes lack would make the pods unschedulable."
        ),
    )

"""Placement checks shared by every backend: which instance type a deployment gets, and whether it fits."""

from __future__ import annotations

from mlops_operator.api.quantity import parse_quantity
from mlops_operator.api.v1alpha1 import InstanceType, MLOpsPlatform, ModelDeployment
from mlops_operator.conditions import ConditionType, Reason, Verdict


def resolve_instance_type(md: ModelDeployment, platform: MLOpsPlatform) -> InstanceType | Verdict:
    """The instance type this deployment runs on, or the verdict that says why there is none."""
    name = md.spec.instance_type or platform.spec.default_instance_type
    offered = [it.name for it in platform.spec.instance_types]
    if name is None:
        return blocked(
            Reason.INSTANCE_TYPE_NOT_FOUND,
            f"spec.instanceType is empty and platform {platform.metadata.name} has no defaultInstanceType; "
            f"set one of {offered}",
        )
    found = platform.spec.instance_type(name)
    if found is None:
        return blocked(
            Reason.INSTANCE_TYPE_NOT_FOUND,
            f"spec.instanceType {name!r} is not offered by platform {platform.metadata.name}; use one of {offered}",
        )
    return found


def check_resources_fit(md: ModelDeployment, instance_type: InstanceType) -> Verdict | None:
    """Azure ML refuses deployments asking for more than their instance type allows; so do we."""
    wanted = md.spec.resources
    limits = instance_type.resources.limits
    if wanted is None or limits is None:
        return None
    for side in ("requests", "limits"):
        amounts = getattr(wanted, side)
        for resource in ("cpu", "memory", "gpu"):
            mine, cap = getattr(amounts, resource, None) if amounts else None, getattr(limits, resource)
            if mine is not None and cap is not None and parse_quantity(mine) > parse_quantity(cap):
                return blocked(
                    Reason.RESOURCES_EXCEED_INSTANCE_TYPE,
                    f"spec.resources.{side}.{resource} ({mine}) exceeds instance type {instance_type.name}'s "
                    f"limit ({cap}); lower it or choose a larger instance type",
                )
    return None


def blocked(reason: str, message: str, type_: ConditionType = ConditionType.DEPLOYMENT_READY) -> Verdict:
    """A verdict for a problem only a spec change (or a missing object appearing) can fix."""
    return Verdict(type_, "False", reason, message, "Error")

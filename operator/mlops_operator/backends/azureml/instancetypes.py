"""InstanceType objects in the cluster, one per `spec.instanceTypes` entry; dropped entries are deleted.

Azure ML's InstanceType CRD (`instancetypes.amlarc.azureml.com`, installed by the extension) is
cluster-scoped: the objects carry no namespace (docs.microsoft.com: "How to create and manage instance
types"). Each is labelled with its platform and owned by it, so only our own objects are ever removed.
"""

from __future__ import annotations

from mlops_operator.api.v1alpha1 import MLOpsPlatform
from mlops_operator.backends.azureml.steps import StepResult, ready, waiting
from mlops_operator.backends.shared.apply import apply_if_changed
from mlops_operator.conditions import ConditionType, Reason
from mlops_operator.kube import Kube
from mlops_operator.render.azureml import INSTANCE_TYPE_API_VERSION, LABEL_PLATFORM, render_instance_type

INSTANCE_TYPE_CRD = "instancetypes.amlarc.azureml.com"


def sync_instance_types(kube: Kube, platform: MLOpsPlatform, poll: float) -> StepResult:
    """Apply what the spec lists and delete this platform's objects it no longer lists."""
    if not kube.crd_established(INSTANCE_TYPE_CRD):
        return waiting(
            ConditionType.INSTANCE_TYPES_READY,
            f"CRD {INSTANCE_TYPE_CRD} is not installed yet (the Azure ML extension installs it)",
            poll,
            Reason.INSTANCE_TYPE_CRD_MISSING,
        )
    wanted = [it.name for it in platform.spec.instance_types]
    for instance_type in platform.spec.instance_types:
        apply_if_changed(kube, render_instance_type(instance_type, platform))
    removed = delete_instance_types(kube, str(platform.metadata.name), keep=set(wanted))
    message = f"offers {', '.join(wanted)}" if wanted else "offers no instance types (Azure ML's default only)"
    if removed:
        message += f"; removed {', '.join(removed)}"
    return ready(ConditionType.INSTANCE_TYPES_READY, Reason.INSTANCE_TYPES_VALID, message, instanceTypes=wanted)


def delete_instance_types(kube: Kube, platform: str, keep: set[str] | None = None) -> list[str]:
    """Delete this platform's InstanceType objects except `keep`; returns the names deleted."""
    selector = f"{LABEL_PLATFORM}={platform}"
    removed = []
    for item in kube.list(INSTANCE_TYPE_API_VERSION, "InstanceType", None, selector):
        name = item["metadata"]["name"]
        if name not in (keep or set()) and not item["metadata"].get("deletionTimestamp"):
            kube.delete(INSTANCE_TYPE_API_VERSION, "InstanceType", name)
            removed.append(name)
    return sorted(removed)

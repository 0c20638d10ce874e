"""`mlops.dev/v1alpha1`: the MLOpsPlatform, ModelDeployment and GlobalEndpoint kinds."""

from mlops_operator.api.v1alpha1.common import API_VERSION, GROUP, VERSION, Condition
from mlops_operator.api.v1alpha1.deployment import ModelDeployment, ModelDeploymentSpec, ModelDeploymentStatus
from mlops_operator.api.v1alpha1.globalendpoint import GlobalEndpoint, GlobalEndpointSpec, GlobalEndpointStatus
from mlops_operator.api.v1alpha1.platform import (
    InstanceType,
    MLOpsPlatform,
    MLOpsPlatformSpec,
    MLOpsPlatformStatus,
)

__all__ = [
    "API_VERSION",
    "GROUP",
    "VERSION",
    "Condition",
    "GlobalEndpoint",
    "GlobalEndpointSpec",
    "GlobalEndpointStatus",
    "InstanceType",
    "MLOpsPlatform",
    "MLOpsPlatformSpec",
    "MLOpsPlatformStatus",
    "ModelDeployment",
    "ModelDeploymentSpec",
    "ModelDeploymentStatus",
]

"""A local Kubernetes control plane on 127.0.0.1 for integration tests and `mlopsctl dev`.

Binaries come from $MLOPS_CONTROLPLANE_ASSETS or hack/controlplane/build.sh; see docs/testing.md.
"""

from mlops_operator.devcluster.assets import AssetsError, ControlPlaneAssets, find_assets
from mlops_operator.devcluster.cluster import ClusterConfig, KubectlError, LocalCluster
from mlops_operator.devcluster.crds import CrdNotEstablishedError
from mlops_operator.devcluster.kubeconfig import write_token_kubeconfig
from mlops_operator.devcluster.nodes import NodePool, default_pools
from mlops_operator.devcluster.process import ComponentError
from mlops_operator.devcluster.state import read_state, stop_from_state

__all__ = [
    "AssetsError",
    "ClusterConfig",
    "ComponentError",
    "ControlPlaneAssets",
    "CrdNotEstablishedError",
    "KubectlError",
    "LocalCluster",
    "NodePool",
    "default_pools",
    "find_assets",
    "read_state",
    "stop_from_state",
    "write_token_kubeconfig",
]

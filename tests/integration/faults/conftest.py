"""The churn-with-faults tests (marker `faults`): their own control plane, because they stop its API server.

Three tainted kwok nodes (the churn's fake pods need the room), controllers without per-controller
ServiceAccounts (5 s less to start; nothing here needs their RBAC). One cluster for the package, stopped
after its last test so it does not load the machine during the rest of the session.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlops_operator.devcluster import AssetsError, ClusterConfig, LocalCluster, find_assets
from mlops_operator.devcluster.nodes import default_pools

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
SKIP_ENV = "MLOPS_SKIP_INTEGRATION"
INSTANCE_TYPES_CRD = REPO / "tests/integration/azureml/instancetypes.amlarc.azureml.com.yaml"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.faults)


@pytest.fixture(scope="package")
def faults_cluster() -> Iterator[LocalCluster]:
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1")
    try:
        assets = find_assets(REPO)
    except AssetsError as err:
        pytest.fail(f"control plane binaries unavailable (set {SKIP_ENV}=1 to skip):\n{err}", pytrace=False)
    config = ClusterConfig(assets=assets, node_pools=default_pools(mlpool_nodes=3), controller_service_accounts=False)
    with LocalCluster(config).start(controllers=True, scheduler=True, with_nodes=True) as cluster:
        cluster.install_crds(*sorted((REPO / "crds").glob("*.yaml")), INSTANCE_TYPES_CRD)
        yield cluster

"""The operator under KopfRunner on the real control plane, talking to the fake ARM server (a test double).

Everything here is marked `azureml`. The fake is pointed at through the production settings for other
clouds (MLOPS_AZURE_RESOURCE_MANAGER, MLOPS_AZURE_CA_BUNDLE); only the credential is swapped, through the
explicit test hook in operator_entry.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from kopf.testing import KopfRunner

from fake_arm import FakeArm
from fake_arm.pytest_plugin import fake_arm, fake_arm_server
from mlops_operator.devcluster import LocalCluster
from mlops_operator.kube import Kube, load_api_client

from .helpers import AKS, RG, WS, delete_everything

__all__ = ["fake_arm", "fake_arm_server"]
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
POLL_SECONDS = "0.5"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.azureml)


@pytest.fixture(scope="session")
def crds(cluster: LocalCluster) -> LocalCluster:
    cluster.install_crds(*sorted((REPO / "crds").glob("*.yaml")), HERE / "instancetypes.amlarc.azureml.com.yaml")
    return cluster


@pytest.fixture(scope="session")
def kube(crds: LocalCluster) -> Kube:
    return Kube(load_api_client(str(crds.kubeconfig_path)))


@pytest.fixture
def azure_env(crds: LocalCluster, fake_arm: FakeArm, monkeypatch: pytest.MonkeyPatch) -> FakeArm:
    """Settings pointing the operator at the fake, and the world the recipe starts from (workspace, AKS)."""
    monkeypatch.setenv("KUBECONFIG", str(crds.kubeconfig_path))
    monkeypatch.setenv("MLOPS_AZURE_RESOURCE_MANAGER", fake_arm.base_url)
    monkeypatch.setenv("MLOPS_AZURE_CA_BUNDLE", fake_arm.ca_bundle)
    monkeypatch.setenv("MLOPS_AZURE_POLL_SECONDS", POLL_SECONDS)
    monkeypatch.setenv("MLOPS_LIVENESS_PORT", "0")
    fake_arm.seed_workspace(RG, WS)
    fake_arm.seed_aks_cluster(RG, AKS)
    return fake_arm


@pytest.fixture
def blob_proxy_env(azure_env: FakeArm, monkeypatch: pytest.MonkeyPatch) -> FakeArm:
    """Blob storage (``<account>.blob.<suffix>``) reached through the fake's CONNECT proxy, ARM still direct."""
    for name, value in azure_env.proxy_env().items():
        monkeypatch.setenv(name, value)
    for name in ("https_proxy", "no_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)  # urllib prefers the lower-case names; none may point elsewhere
    monkeypatch.setenv("MLOPS_AZURE_STORAGE_SUFFIX", azure_env.storage_suffix)
    return azure_env


def start_operator() -> KopfRunner:
    return KopfRunner(["run", "--all-namespaces", "--standalone", "-m", "azureml.operator_entry"], timeout=60)


@pytest.fixture(autouse=True)
def process_environment() -> Iterator[None]:
    """azure-ai-ml writes the cloud it was given into os.environ (AZUREML_CURRENT_CLOUD), and so does the
    backend's CA setup (REQUESTS_CA_BUNDLE); restore the environment so later tests, and the processes they
    start, do not inherit a cloud that only existed in this test."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(autouse=True)
def leave_nothing_behind(kube: Kube) -> Iterator[None]:
    """After each test (and after its operator stopped), remove its objects: the fake forgets them anyway."""
    yield
    delete_everything(kube)


@pytest.fixture
def operator(azure_env: FakeArm, kube: Kube) -> Iterator[KopfRunner]:
    """One operator per test (the fake is reset per test)."""
    with start_operator() as runner:
        yield runner
    assert runner.exception is None, runner.exception


@pytest.fixture
def kubeconfig(crds: LocalCluster) -> str:
    return os.fspath(crds.kubeconfig_path)

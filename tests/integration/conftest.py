"""Fixtures for tests against a real kube-apiserver (see docs/testing.md).

One LocalCluster per session: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok with
fake nodes. Each test gets its own namespace. If the binaries cannot be found or built the session fails
with the build output; set MLOPS_SKIP_INTEGRATION=1 to skip these tests instead.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from mlops_operator.devcluster import AssetsError, ClusterConfig, ControlPlaneAssets, LocalCluster, find_assets

SKIP_ENV = "MLOPS_SKIP_INTEGRATION"
REPO_ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DEFAULT_SA_TIMEOUT_S = 30.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration is an integration test, whether or not its module says so."""
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.integration)


def _assets_or_fail() -> ControlPlaneAssets:
    """The binaries, built if needed (20-40 min on a cold cache); a failure fails the session, not skips it."""
    try:
        return find_assets(REPO_ROOT)
    except AssetsError as err:
        problem = str(err)
    pytest.fail(f"control plane binaries unavailable (set {SKIP_ENV}=1 to skip):\n{problem}", pytrace=False)


@pytest.fixture(scope="session")
def cluster() -> Iterator[LocalCluster]:
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1")
    local = LocalCluster(ClusterConfig(assets=_assets_or_fail()))
    with local.start(controllers=True, scheduler=True, with_nodes=True):
        yield local


@pytest.fixture(scope="session")
def kube_api(cluster: LocalCluster) -> Iterator[client.ApiClient]:
    """An admin (system:masters) ApiClient for the session cluster."""
    with cluster.api_client() as api:
        yield api


def _namespace_name(test_name: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", test_name.lower()).strip("-")[:40].strip("-")
    return f"{slug}-{uuid.uuid4().hex[:6]}"


def _wait_for_default_service_account(core: client.CoreV1Api, namespace: str) -> None:
    """Pods are rejected until the serviceaccount controller has created `default`; wait for it."""
    deadline = time.monotonic() + DEFAULT_SA_TIMEOUT_S
    while True:
        try:
            core.read_namespaced_service_account("default", namespace)
            return
        except ApiException as err:
            if err.status != 404 or time.monotonic() > deadline:
                raise
        time.sleep(0.1)


@pytest.fixture
def namespace(cluster: LocalCluster, kube_api: client.ApiClient, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace named after the test, deleted (without waiting) afterwards."""
    core = client.CoreV1Api(kube_api)
    name = _namespace_name(request.node.name)
    core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    if cluster.controllers:
        _wait_for_default_service_account(core, name)
    yield name
    try:
        core.delete_namespace(name)
    except ApiException as err:
        if err.status != 404:
            raise

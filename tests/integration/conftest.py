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
from mlops_operator.devcluster.images import ImageBuildError
from mlops_operator.devcluster.process import ComponentError
from mlops_operator.devcluster.realnode import RealNodeError

SKIP_ENV = "MLOPS_SKIP_INTEGRATION"
REPO_ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DEFAULT_SA_TIMEOUT_S = 30.0
ASSETS_KEY = pytest.StashKey["ControlPlaneAssets | str"]()
REAL_CLUSTER_KEY = pytest.StashKey["LocalCluster | str"]()
REALNODE_DIR = HERE / "realnode"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration is an integration test, whether or not its module says so."""
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.integration)
        if REALNODE_DIR in item.path.resolve().parents:
            item.add_marker(pytest.mark.realnode)


def _locate_assets() -> ControlPlaneAssets | str:
    """The binaries, or why there are none."""
    try:
        return find_assets(REPO_ROOT)
    except AssetsError as err:
        return str(err)


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Iterator[None]:
    """Find or build the binaries before the first test, outside every test's timeout.

    A cold build takes 10-40 min; inside the `cluster` fixture it would count against the first test's
    pytest-timeout (300 s) and die as a confusing timeout.
    """
    wanted = any(item.get_closest_marker("integration") for item in session.items)
    if wanted and os.environ.get(SKIP_ENV) != "1" and not session.config.option.collectonly:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("integration: locating control plane binaries (a cold build takes 10-40 min)")
        session.config.stash[ASSETS_KEY] = assets = _locate_assets()
        if any(item.get_closest_marker("realnode") for item in session.items) and not isinstance(assets, str):
            if reporter is not None:
                reporter.write_line("realnode: node components and images (cold: builds them, ~15 min)")
            session.config.stash[REAL_CLUSTER_KEY] = _start_real_cluster(assets)
    try:
        return (yield)
    finally:
        _stop_real_cluster(session)


def _start_real_cluster(assets: ControlPlaneAssets) -> LocalCluster | str:
    """One cluster with a real node for the whole session: its network guard then watches every test."""
    cluster = LocalCluster(ClusterConfig(assets=assets, real_node=True, startup_timeout=120))
    try:
        return cluster.start(controllers=True, scheduler=True, with_nodes=False)
    except (AssetsError, ComponentError, RealNodeError, ImageBuildError, OSError) as err:
        return f"{type(err).__name__}: {err}"


def _stop_real_cluster(session: pytest.Session) -> None:
    """Stop the real node; packets its guard dropped (bound off this machine) fail the session."""
    cluster = session.config.stash.get(REAL_CLUSTER_KEY, None)
    if not isinstance(cluster, LocalCluster):
        return
    cluster.stop()
    if cluster.dropped_packets:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"realnode: the network guard dropped {cluster.dropped_packets} packets", red=True)
        session.testsfailed += 1


@pytest.fixture(scope="session")
def cluster(pytestconfig: pytest.Config) -> Iterator[LocalCluster]:
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1")
    assets = pytestconfig.stash.get(ASSETS_KEY, None) or _locate_assets()
    if isinstance(assets, str):
        pytest.fail(f"control plane binaries unavailable (set {SKIP_ENV}=1 to skip):\n{assets}", pytrace=False)
    local = LocalCluster(ClusterConfig(assets=assets))
    with local.start(controllers=True, scheduler=True, with_nodes=True):
        yield local


@pytest.fixture(scope="session")
def real_cluster(pytestconfig: pytest.Config) -> LocalCluster:
    """The session's cluster with a real node (started before the first test, see pytest_runtestloop)."""
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1")
    found = pytestconfig.stash.get(REAL_CLUSTER_KEY, None)
    if not isinstance(found, LocalCluster):
        pytest.fail(f"the real node could not start (set {SKIP_ENV}=1 to skip):\n{found}", pytrace=False)
    return found


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

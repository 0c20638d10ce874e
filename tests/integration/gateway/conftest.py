"""Traefik serving one Gateway for the session cluster; each test starts its own loopback deployments.

The traefik binary comes from $MLOPS_GATEWAY_ASSETS or hack/gateway/build.sh (about 10 min cold, cached
after), found before the first test so a cold build never counts against a test's timeout.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlops_operator.api.v1alpha1.platform import GatewayParentRef
from mlops_operator.devcluster import AssetsError, LocalCluster
from mlops_operator.devcluster.gateway import (
    Traefik,
    apply_gateway,
    apply_gateway_class,
    apply_manifest,
    find_traefik,
)

from .traffic import Deployments

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
TRAEFIK_KEY = pytest.StashKey["Path | str"]()
GATEWAY_NAME = "mlops"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.traffic)


def _locate_traefik() -> Path | str:
    try:
        return find_traefik(REPO_ROOT)
    except AssetsError as err:
        return str(err)


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Iterator[None]:
    """Build or find Traefik before the first test, outside every test's timeout."""
    if any(item.get_closest_marker("traffic") for item in session.items) and not session.config.option.collectonly:
        session.config.stash[TRAEFIK_KEY] = _locate_traefik()
    return (yield)


@pytest.fixture(scope="session")
def traefik(cluster: LocalCluster, pytestconfig: pytest.Config) -> Iterator[Traefik]:
    binary = pytestconfig.stash.get(TRAEFIK_KEY, None) or _locate_traefik()
    if isinstance(binary, str):
        pytest.fail(f"traefik unavailable:\n{binary}", pytrace=False)
    cluster.install_gateway_api_crds()
    with Traefik(cluster, binary, middlewares=True).start() as running:
        yield running


@pytest.fixture(scope="session")
def gateway(cluster: LocalCluster, traefik: Traefik) -> GatewayParentRef:
    """The platform's Gateway: its own namespace, its listener on Traefik's entryPoint port."""
    namespace = f"gateway-{uuid.uuid4().hex[:6]}"
    apply_manifest(cluster, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    apply_gateway_class(cluster)
    apply_gateway(cluster, traefik, GATEWAY_NAME, namespace)
    traefik.wait_gateway(cluster, GATEWAY_NAME, namespace, timeout=30)
    return GatewayParentRef(name=GATEWAY_NAME, namespace=namespace)


@pytest.fixture
def deployments(cluster: LocalCluster, namespace: str, tmp_path: Path) -> Iterator[Deployments]:
    running = Deployments(cluster, namespace, tmp_path)
    try:
        yield running
    finally:
        running.stop()

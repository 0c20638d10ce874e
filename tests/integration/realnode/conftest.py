"""The operator (under KopfRunner) against the session's cluster with a real node, serving our image."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kopf.testing import KopfRunner
from native_backend.helpers import apply_platform, start_operator
from prometheus_server import Prometheus, prometheus_bin

from mlops_operator.devcluster import LocalCluster
from mlops_operator.devcluster.gateway import (
    Traefik,
    apply_gateway,
    apply_gateway_class,
    apply_manifest,
    find_traefik,
)
from mlops_operator.devcluster.nodeconfig import NODE_NAME
from mlops_operator.kube import Kube, load_api_client
from mlops_operator.render.prometheus import prometheus_config, scoring_pods_scrape_config

REPO = Path(__file__).resolve().parents[3]
GATEWAY, GATEWAY_NAMESPACE = "mlops-gateway", "mlops-system"


@pytest.fixture(scope="session")
def real_kube(real_cluster: LocalCluster) -> Kube:
    real_cluster.install_crds(*sorted((REPO / "crds").glob("*.yaml")))
    real_cluster.install_gateway_api_crds()
    return Kube(load_api_client(str(real_cluster.kubeconfig_path)))


@pytest.fixture
def real_namespace(real_cluster: LocalCluster, real_kube: Kube, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace on the real-node cluster, deleted afterwards (its pods go with it)."""
    name = f"rn-{request.node.name[:30].lower().replace('_', '-').strip('-')}-{uuid.uuid4().hex[:4]}"
    real_kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    real_kube.delete("v1", "Namespace", name)


@pytest.fixture(scope="module")
def real_operator(real_cluster: LocalCluster, real_kube: Kube) -> Iterator[KopfRunner]:
    """The operator, configured to run our scoring image (built from the Dockerfile) on the real node."""
    assert real_cluster.images is not None
    saved = dict(os.environ)
    os.environ["KUBECONFIG"] = str(real_cluster.kubeconfig_path)
    os.environ["MLOPS_SCORING_IMAGE"] = real_cluster.images.scoring
    os.environ["MLOPS_PROGRESS_REQUEUE_SECONDS"] = "1"
    apply_platform(real_kube)
    try:
        with start_operator() as runner:
            yield runner
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert runner.exception is None, runner.exception


@pytest.fixture(scope="module")
def traefik(real_cluster: LocalCluster, real_kube: Kube) -> Iterator[Traefik]:
    with Traefik(real_cluster, find_traefik(), middlewares=True).start() as running:
        apply_manifest(real_cluster, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": GATEWAY_NAMESPACE}})
        apply_gateway_class(real_cluster)
        apply_gateway(real_cluster, running, GATEWAY, GATEWAY_NAMESPACE)
        running.wait_gateway(real_cluster, GATEWAY, GATEWAY_NAMESPACE, timeout=30)
        apply_platform(real_kube, native={"gateway": {"name": GATEWAY, "namespace": GATEWAY_NAMESPACE}})
        yield running
    apply_platform(real_kube)


@pytest.fixture(scope="module")
def operator(real_cluster: LocalCluster, traefik: Traefik) -> Iterator[Callable[[], Any]]:
    """The operator's environment for this module (its platform on the Gateway, set by `traefik`); tests start
    (and restart) the operator with the returned factory."""
    assert real_cluster.images is not None
    saved = dict(os.environ)
    os.environ.update(
        KUBECONFIG=str(real_cluster.kubeconfig_path),
        MLOPS_SCORING_IMAGE=real_cluster.images.scoring,
        MLOPS_PROGRESS_REQUEUE_SECONDS="1",
    )
    try:
        yield start_operator
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def prometheus(real_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    job = scoring_pods_scrape_config(str(real_cluster.kubeconfig_path), NODE_NAME, interval="1s")
    server = Prometheus(prometheus_bin(), tmp_path_factory.mktemp("prometheus"), prometheus_config([job]))
    server.start()
    try:
        yield server
    finally:
        server.stop()

"""The operator running under KopfRunner against the session's real control plane."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from kopf.testing import KopfRunner

from mlops_operator.devcluster import LocalCluster
from mlops_operator.kube import Kube, load_api_client

from .helpers import apply_platform, start_operator

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def crds(cluster: LocalCluster) -> LocalCluster:
    cluster.install_crds(*sorted((REPO / "crds").glob("*.yaml")))
    cluster.install_gateway_api_crds()
    return cluster


@pytest.fixture(scope="session")
def kube(crds: LocalCluster) -> Kube:
    return Kube(load_api_client(str(crds.kubeconfig_path)))


@pytest.fixture(scope="session")
def kubeconfig_env(crds: LocalCluster) -> Iterator[str]:
    previous = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = str(crds.kubeconfig_path)
    yield str(crds.kubeconfig_path)
    if previous is None:
        os.environ.pop("KUBECONFIG", None)
    else:
        os.environ["KUBECONFIG"] = previous


@pytest.fixture(scope="module")
def operator(kubeconfig_env: str, kube: Kube) -> Iterator[KopfRunner]:
    """One operator per test module; modules that restart it use `start_operator` themselves."""
    apply_platform(kube)
    with start_operator() as runner:
        yield runner
    assert runner.exception is None, runner.exception

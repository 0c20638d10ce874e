"""KEDA's operator and metrics adapter (hack/keda/build.sh) for the autoscaling groundwork of issue 18: built
before the first test so a cold build (minutes) never counts against a test's timeout, then run as local
processes against the session's control plane for this package's tests.

Opt-in, not part of `make test`: these tests run when pytest is pointed at this directory (`make keda`), or
with MLOPS_KEDA=1; otherwise they are skipped with that reason and nothing is built."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client
from polling import wait_for

from mlops_operator.devcluster import AssetsError, LocalCluster

from .keda_support import (
    APISERVICE_NAME,
    KedaProcesses,
    apiservice_available,
    find_keda,
    register_external_metrics_api,
    unregister_external_metrics_api,
)

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
OPT_IN_ENV = "MLOPS_KEDA"
KEDA_ASSETS_KEY = pytest.StashKey["Path | str"]()
APISERVICE_TIMEOUT_S = 60.0


def _locate() -> Path | str:
    try:
        return find_keda(REPO_ROOT)
    except AssetsError as err:
        return str(err)


def _requested(config: pytest.Config) -> bool:
    """MLOPS_KEDA=1, or a command-line path inside this directory (what `make keda` passes)."""
    if os.environ.get(OPT_IN_ENV) == "1":
        return True
    for arg in config.args:
        path = (config.invocation_params.dir / arg.split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def _ours(item: pytest.Item) -> bool:
    return HERE in item.path.resolve().parents


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _requested(config):
        return
    skip = pytest.mark.skip(reason=f"opt-in: make keda, pytest tests/integration/keda, or {OPT_IN_ENV}=1")
    for item in items:
        if _ours(item):
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Iterator[None]:
    wanted = _requested(session.config) and any(_ours(item) for item in session.items)
    if wanted and not session.config.option.collectonly:
        session.config.stash[KEDA_ASSETS_KEY] = _locate()
    return (yield)


@pytest.fixture(scope="session")  # one per session: its teardown deletes the keda namespace, which takes a while
def keda(
    pytestconfig: pytest.Config,
    cluster: LocalCluster,
    kube_api: client.ApiClient,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[KedaProcesses]:
    """KEDA's CRDs, operator and adapter, and the external metrics APIService, Available."""
    assets = pytestconfig.stash.get(KEDA_ASSETS_KEY, None) or _locate()
    if isinstance(assets, str):
        pytest.fail(f"KEDA is unavailable (hack/keda/build.sh):\n{assets}", pytrace=False)
    cluster.install_crds(assets / "crds")
    processes = KedaProcesses(cluster, assets, tmp_path_factory.mktemp("keda")).start()
    try:
        register_external_metrics_api(kube_api, processes.adapter_port)
        try:
            try:
                wait_for(lambda: apiservice_available(kube_api)[0] or None, APISERVICE_TIMEOUT_S, "APIService")
            except AssertionError:
                reason = apiservice_available(kube_api)[1]
                pytest.fail(f"{APISERVICE_NAME} not Available: {reason}\n{processes.logs()}", pytrace=False)
            yield processes
        finally:
            unregister_external_metrics_api(kube_api)
    finally:
        processes.stop()

"""The native backend's fixtures (control plane, CRDs, operator under KopfRunner) for the GitOps tests, and
the Argo CD health helper (hack/argocd/build.sh), built before the first test so a cold build never counts
against a test's timeout."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from native_backend.conftest import crds, kube, kubeconfig_env, operator

from .argocd import ARGOCD_HELPER_KEY, ArgoHealth, locate_argocd_helper, lua51_health

__all__ = ["crds", "kube", "kubeconfig_env", "operator"]


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Iterator[None]:
    wanted = any(item.path.name.startswith("test_argocd") for item in session.items)
    if wanted and not session.config.option.collectonly:
        session.config.stash[ARGOCD_HELPER_KEY] = locate_argocd_helper()
    return (yield)


@pytest.fixture(scope="session")
def argocd_health(pytestconfig: pytest.Config) -> ArgoHealth:
    helper = pytestconfig.stash.get(ARGOCD_HELPER_KEY, None) or locate_argocd_helper()
    if isinstance(helper, str):
        pytest.fail(f"the Argo CD health helper is unavailable:\n{helper}", pytrace=False)
    return ArgoHealth(helper, lua51=lua51_health())

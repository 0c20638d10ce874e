"""The native backend's fixtures (control plane, CRDs, operator under KopfRunner) for the mlopsctl tests."""

from __future__ import annotations

from native_backend.conftest import crds, kube, kubeconfig_env, operator

__all__ = ["crds", "kube", "kubeconfig_env", "operator"]

"""GlobalEndpoints for unit tests: two regions behind a local Traefik."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mlops_operator.api.v1alpha1 import GlobalEndpoint


def _global_endpoint(**spec: Any) -> GlobalEndpoint:
    body: dict[str, Any] = {
        "apiVersion": "mlops.dev/v1alpha1",
        "kind": "GlobalEndpoint",
        "metadata": {"name": "churn", "namespace": "ml", "generation": 1},
        "spec": {
            "endpoint": {"name": "churn"},
            "deployments": [{"name": "blue", "spec": {"model": {"name": "churn", "version": "1"}, "traffic": 100}}],
            "regions": [
                {"name": "eastus", "cluster": {"kubeconfigSecretRef": {"name": "eastus"}}, "priority": 1},
                {
                    "name": "westus",
                    "cluster": {"kubeconfigSecretRef": {"name": "westus"}},
                    "priority": 2,
                    "overrides": {"instanceCount": 3, "environmentVariables": {"REGION": "westus"}},
                },
            ],
            "router": {"traefik": {"configPath": "/tmp/global.yaml", "url": "http://127.0.0.1:8000"}},
            **spec,
        },
    }
    return GlobalEndpoint.model_validate(body)


@pytest.fixture
def make_global_endpoint() -> Callable[..., GlobalEndpoint]:
    """Two regions (eastus priority 1, westus priority 2 with overrides); keyword arguments replace spec fields."""
    return _global_endpoint

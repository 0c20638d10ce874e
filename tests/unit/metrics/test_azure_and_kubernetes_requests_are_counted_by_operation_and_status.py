"""ARM requests are labelled by method and resource types (never names), 429s separately; Kubernetes by verb."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from mlops_operator.api.v1alpha1.common import OperationRecord
from mlops_operator.backends.azureml.clients import AzureMetricsPolicy, operation_of
from mlops_operator.backends.azureml.operations import Ledger
from mlops_operator.kube import Kube
from mlops_operator.metrics import OperatorMetrics

WS = "https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices"


@pytest.mark.parametrize(
    ("method", "url", "operation"),
    [
        ("PUT", f"{WS}/workspaces/w/onlineEndpoints/e?api-version=1", "PUT workspaces/onlineEndpoints"),
        ("GET", f"{WS}/workspaces/w/onlineEndpoints/e/deployments/d", "GET workspaces/onlineEndpoints/deployments"),
        ("GET", f"{WS}/workspaces/w/onlineEndpoints", "GET workspaces/onlineEndpoints"),
        ("GET", f"{WS}/locations/eastus/mfeOperationsStatus/abc", "GET locations/mfeOperationsStatus"),
        ("GET", "https://management.azure.com/subscriptions/s/resourcegroups/rg", "GET subscriptions"),
    ],
)
def test_an_arm_operation_is_named_by_its_resource_types(method: str, url: str, operation: str) -> None:
    assert operation_of(method, url) == operation


def arm_call(url: str, status: int) -> tuple[Any, Any]:
    request = SimpleNamespace(http_request=SimpleNamespace(method="PUT", url=url))
    return request, SimpleNamespace(http_response=SimpleNamespace(status_code=status))


def test_a_throttled_arm_call_counts_as_a_429_and_as_throttled() -> None:
    metrics = OperatorMetrics(CollectorRegistry())
    policy = AzureMetricsPolicy(metrics)

    policy.on_response(*arm_call(f"{WS}/workspaces/w/onlineEndpoints/e", 429))
    policy.on_response(*arm_call(f"{WS}/workspaces/w/onlineEndpoints/e", 200))

    operation = "PUT workspaces/onlineEndpoints"
    get = metrics.registry.get_sample_value
    assert get("mlops_operator_azure_requests_total", {"operation": operation, "code": "429"}) == 1
    assert get("mlops_operator_azure_requests_total", {"operation": operation, "code": "200"}) == 1
    assert get("mlops_operator_azure_throttled_total", {"operation": operation}) == 1


def test_a_finished_operation_observes_its_duration_from_the_recorded_start() -> None:
    observed: list[tuple[str, float]] = []
    ledger = Ledger(
        {"deployment": OperationRecord(started="2020-01-01T00:00:00Z")}, lambda s, t: observed.append((s, t))
    )

    ledger.finish("deployment")

    [(step, seconds)] = observed
    assert step == "deployment"
    assert seconds > 365 * 24 * 3600


class FakeResponse:
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status, self.reason, self._data = status, "x", json.dumps(body).encode()

    def read(self) -> bytes:
        return self._data


class FakeApiClient:
    def __init__(self, status: int) -> None:
        self.status = status

    def param_serialize(self, method: str, path: str, **kwargs: Any) -> tuple[Any, ...]:
        return method, path, kwargs["header_params"], kwargs["body"], None

    def call_api(self, method: str, url: str, **kwargs: Any) -> FakeResponse:
        return FakeResponse(self.status, {"kind": "Status", "message": "m", "reason": "NotFound"})


def test_kubernetes_requests_are_counted_by_verb_and_status_404_included() -> None:
    metrics = OperatorMetrics(CollectorRegistry())
    kube = Kube(FakeApiClient(404), metrics)  # type: ignore[arg-type]

    assert kube.get("v1", "ConfigMap", "absent", "ml") is None

    assert metrics.registry.get_sample_value("mlops_operator_kube_requests_total", {"verb": "GET", "code": "404"}) == 1

"""A delete Azure refuses (a human must act) is told apart from one under way (look again), and what a forced
release leaves behind is named per reconcile policy without asking Azure."""

from __future__ import annotations

import base64
import json
from typing import Any, cast

import pytest

from mlops_operator.api.v1alpha1 import MLOpsPlatform
from mlops_operator.backends.azureml.clients import AzureClients
from mlops_operator.backends.azureml.deletions import BegunDeletes, Deleter
from mlops_operator.backends.azureml.errors import to_backend_error
from mlops_operator.backends.azureml.finalize import platform_leftovers
from mlops_operator.backends.base import DeletionRefusedError, RetryableError
from mlops_operator.conditions import Reason

RESOURCE = "online deployment blue of endpoint scoring in workspace rg-ml/mlw-demo"
OPERATION_URL = "https://management.azure.com/operations/delete-blue"
POLL = 15.0


class _Poller:
    """What `operation_url` reads of a begun operation: azure-core's continuation token."""

    def continuation_token(self) -> str:
        token = {"data": {"response": {"headers": {"Azure-AsyncOperation": OPERATION_URL}}}}
        return base64.b64encode(json.dumps(token).encode()).decode()


class _Clients:
    """The one call a Deleter makes of AzureClients itself: reading a failed operation's status."""

    def __init__(self) -> None:
        self.read: list[str] = []

    def arm_get(self, url: str) -> tuple[int, dict[str, Any]]:
        self.read.append(url)
        return 200, {"status": "Failed", "error": {"code": "DeploymentDeleteFailed", "message": "pods stuck"}}


def _deleter(begun: BegunDeletes | None = None, clients: _Clients | None = None) -> Deleter:
    return Deleter(begun or BegunDeletes(), cast(AzureClients, clients or _Clients()), POLL)


def _refuse(code: str, status: int, message: str) -> Any:
    def begin() -> Any:
        raise to_backend_error(code, status, message)

    return begin


def test_a_delete_under_way_is_looked_at_again_and_not_begun_twice() -> None:
    begun: list[str] = []
    with pytest.raises(RetryableError) as raised:
        _deleter().delete("Deleting", RESOURCE, lambda: begun.append("again"))
    assert not isinstance(raised.value, DeletionRefusedError)
    assert raised.value.reason == Reason.AZURE_OPERATION_IN_PROGRESS
    assert raised.value.delay == POLL
    assert begun == []


def test_a_forbidden_delete_is_a_refusal_naming_the_resource_and_azures_error() -> None:
    with pytest.raises(DeletionRefusedError) as raised:
        _deleter().delete("Succeeded", RESOURCE, _refuse("AuthorizationFailed", 403, "no delete permission"))
    assert raised.value.resource == RESOURCE
    assert raised.value.detail == "ARM AuthorizationFailed: no delete permission"
    assert raised.value.reason == Reason.AZURE_AUTH_FAILED


def test_a_locked_resource_is_a_refusal_not_a_conflict_to_retry() -> None:
    with pytest.raises(DeletionRefusedError) as raised:
        _deleter().delete("Succeeded", RESOURCE, _refuse("ScopeLocked", 409, "locked by no-delete"))
    assert raised.value.reason == Reason.AZURE_RESOURCE_LOCKED


def test_another_operation_in_progress_is_retried_without_a_refusal() -> None:
    with pytest.raises(RetryableError) as raised:
        _deleter().delete("Succeeded", RESOURCE, _refuse("AnotherOperationInProgress", 409, "busy"))
    assert not isinstance(raised.value, DeletionRefusedError)
    assert raised.value.reason == Reason.AZURE_CONFLICT


def test_a_delete_of_ours_that_ended_failed_is_a_refusal_with_the_operations_error() -> None:
    begun, clients = BegunDeletes(), _Clients()
    with pytest.raises(RetryableError):
        _deleter(begun, clients).delete("Succeeded", RESOURCE, _Poller)
    with pytest.raises(DeletionRefusedError) as raised:
        _deleter(begun, clients).delete("Failed", RESOURCE, _Poller)
    assert raised.value.detail == "ARM DeploymentDeleteFailed: pods stuck"
    assert raised.value.reason == Reason.AZURE_OPERATION_FAILED
    assert clients.read == [OPERATION_URL]


def test_a_resource_failed_before_any_delete_of_ours_is_simply_deleted() -> None:
    begun: list[str] = []

    def begin() -> _Poller:
        begun.append(RESOURCE)
        return _Poller()

    with pytest.raises(RetryableError) as raised:
        _deleter().delete("Failed", RESOURCE, begin)
    assert not isinstance(raised.value, DeletionRefusedError)
    assert begun == [RESOURCE]


def _platform(node_pool: bool = True, created_extension: bool = True) -> MLOpsPlatform:
    annotations = {"mlops.dev/created-extension": "true"} if created_extension else {}
    azure: dict[str, Any] = {
        "subscriptionId": "00000000-0000-0000-0000-000000000000",
        "resourceGroup": "rg-ml",
        "workspace": {"name": "mlw-demo"},
        "cluster": {"name": "aks-ml"},
        "extension": {"allowInsecureConnections": True},
    }
    if node_pool:
        azure["nodePool"] = {"name": "mlpool", "minCount": 1, "maxCount": 3}
    body = {"metadata": {"name": "aml", "annotations": annotations}, "spec": {"backend": "azureml", "azure": azure}}
    return MLOpsPlatform.model_validate(body)


COMPUTE = "compute aks-compute attached to workspace rg-ml/mlw-demo"
EXTENSION = "extension azureml on cluster rg-ml/aks-ml"
NODE_POOL = "node pool mlpool of cluster rg-ml/aks-ml, if the operator created it (tagged with this platform)"


@pytest.mark.parametrize(
    ("platform", "policy", "expected"),
    [
        (_platform(), "manage", [COMPUTE, EXTENSION, NODE_POOL]),
        (_platform(node_pool=False, created_extension=False), "manage", [COMPUTE]),
        (_platform(), "detach-on-delete", [COMPUTE]),
        (_platform(), "skip", []),
    ],
)
def test_a_forced_platform_names_what_its_policy_would_still_have_released(
    platform: MLOpsPlatform, policy: str, expected: list[str]
) -> None:
    assert platform_leftovers(platform, policy) == expected

"""Writes happen only on a real difference between the spec and what ARM returns; traffic rules hold."""

from __future__ import annotations

import base64
import json
from typing import Any

from mlops_operator.api.v1alpha1 import ModelDeploymentStatus
from mlops_operator.backends.azureml.operations import Ledger, operation_url, state_of
from mlops_operator.backends.base import Outcome
from mlops_operator.reconcile import build_status
from mlops_operator.render.azureml import (
    agent_pool_drift,
    desired_traffic,
    redistribute,
    settings_drift,
    shape_drift,
    traffic_problem,
)

MODEL = (
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/models/m/versions/1"
)
SHAPE: dict[str, Any] = {
    "model": MODEL,
    "capacity": 2,
    "requestSettings": {"requestTimeout": "PT5S", "maxConcurrentRequestsPerInstance": 1, "maxQueueWait": "PT0.5S"},
}


def test_a_deployment_read_back_the_way_the_sdk_reports_it_has_no_drift() -> None:
    live = {**SHAPE, "model": MODEL.lower(), "requestSettings": {**SHAPE["requestSettings"], "maxQueueWait": "PT0S"}}
    assert shape_drift(SHAPE, live) == []


def test_a_changed_instance_count_or_timeout_is_drift() -> None:
    live = {**SHAPE, "capacity": 3, "requestSettings": {**SHAPE["requestSettings"], "requestTimeout": "PT9S"}}
    assert shape_drift(SHAPE, live) == ["capacity", "requestSettings"]


def test_the_autoscalers_node_count_is_not_drift_but_taints_are() -> None:
    desired = {
        "mode": "User",
        "vmSize": "Standard_DS3_v2",
        "enableAutoScaling": True,
        "minCount": 1,
        "maxCount": 4,
        "count": 1,
        "nodeTaints": ["a=b:NoSchedule"],
        "nodeLabels": {},
    }
    assert agent_pool_drift(desired, {**desired, "count": 4}) == []
    assert agent_pool_drift(desired, {**desired, "nodeTaints": []}) == ["nodeTaints"]


def test_extension_settings_compare_case_insensitively() -> None:
    assert settings_drift({"enableInference": "True"}, {"enableInference": "true", "other": "x"}) == []
    assert settings_drift({"inferenceRouterHA": "False"}, {"inferenceRouterHA": "True"}) == ["inferenceRouterHA"]


def test_traffic_must_sum_to_zero_or_a_hundred() -> None:
    assert desired_traffic({"Blue": 90, "green": 10, "red": 0}) == {"blue": 90, "green": 10}
    assert traffic_problem({"blue": 90, "green": 10}) is None
    assert traffic_problem({}) is None
    assert "sums to 110" in str(traffic_problem({"blue": 100, "green": 10}))


def test_a_leaving_deployments_share_moves_to_the_others_in_proportion() -> None:
    assert redistribute({"blue": 50, "green": 30, "red": 20}, "blue") == {"green": 60, "red": 40}
    assert redistribute({"blue": 100, "green": 0}, "blue") == {}
    assert sum(redistribute({"a": 34, "b": 33, "c": 33}, "a").values()) == 100


def test_operations_are_typed_records_and_finished_ones_are_removed_with_nulls() -> None:
    recorded = ModelDeploymentStatus.model_validate(
        {"operations": {"compute": "t|1|https://arm/op1", "endpoint": {"started": "t", "url": "https://arm/op2"}}}
    )
    ledger = Ledger(recorded.operations)
    ledger.finish("compute")
    assert ledger.url("endpoint") == "https://arm/op2"
    assert ledger.tag("compute") == ""
    outcome = Outcome([], status=ModelDeploymentStatus(operations=ledger.records()))
    body = {"kind": "ModelDeployment", "metadata": {"name": "blue"}, "status": recorded.model_dump(by_alias=True)}
    patch = build_status(body, "azureml", outcome, "serving", now="t").patch
    assert patch["operations"] == {"compute": None}  # the endpoint record is unchanged


class _Poller:
    def __init__(self, headers: dict[str, str]) -> None:
        state = {"response": {"status_code": 201, "headers": headers}}
        self._token = base64.b64encode(json.dumps({"version": 1, "data": state}).encode()).decode()

    def continuation_token(self) -> str:
        return self._token


def test_the_operation_url_comes_from_the_pollers_continuation_token() -> None:
    assert operation_url(_Poller({"Azure-AsyncOperation": "https://arm/ops/1"})) == "https://arm/ops/1"
    assert operation_url(_Poller({"Location": "https://arm/results/1"})) == "https://arm/results/1"
    assert operation_url(object()) == ""


def test_provisioning_states_of_every_provider_map_to_three_outcomes() -> None:
    assert [state_of(s) for s in ("Creating", "Scaling", "Succeeded", "Canceled", None)] == [
        "in-progress",
        "in-progress",
        "succeeded",
        "failed",
        "succeeded",
    ]

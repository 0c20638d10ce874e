"""An operation the operator begins starts no SDK polling thread; its status URL is still recorded."""

from __future__ import annotations

import threading
from types import SimpleNamespace

from azure.core.polling import LROPoller

from mlops_operator.backends.azureml.operations import operation_url
from mlops_operator.backends.azureml.writes import Begun

STATUS_URL = "https://arm/subscriptions/s/providers/Microsoft.MachineLearningServices/locations/l/mfeOperationsStatus/1"


def _initial_response(headers: dict[str, str]) -> SimpleNamespace:
    return SimpleNamespace(http_response=SimpleNamespace(headers=headers))


def test_a_begun_operation_is_done_at_once_without_a_polling_thread() -> None:
    threads = threading.active_count()

    poller = LROPoller(None, _initial_response({"Azure-AsyncOperation": STATUS_URL}), lambda r: r, Begun())

    assert poller.done()
    assert threading.active_count() == threads


def test_the_status_url_of_a_begun_operation_is_read_like_any_pollers() -> None:
    headers = {"Azure-AsyncOperation": STATUS_URL, "Retry-After": "1", "x-ms-request-id": "r"}
    assert operation_url(LROPoller(None, _initial_response(headers), lambda r: r, Begun())) == STATUS_URL
    location = {"Location": "https://arm/results/1"}
    assert operation_url(LROPoller(None, _initial_response(location), lambda r: r, Begun())) == "https://arm/results/1"
    assert operation_url(LROPoller(None, _initial_response({}), lambda r: r, Begun())) == ""

"""Operator log lines carry kind/namespace/name and a reconcile id: JSON in-cluster, text for humans."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from mlops_operator.logs import JsonFormatter, TextFormatter, configure_logging, reconcile_scope

LOGGER = "mlops_operator.test"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """The root logger writing into a buffer, restored afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    buffer = io.StringIO()
    handler = configure_logging("json")
    handler.setStream(buffer)  # type: ignore[attr-defined]
    yield buffer
    root.handlers[:], root.level = saved[0], saved[1]


def test_a_line_inside_a_pass_is_one_json_object_with_the_object_and_its_reconcile_id(stream: io.StringIO) -> None:
    with reconcile_scope("ModelDeployment", "ml", "blue") as reconcile_id:
        logging.getLogger(LOGGER).info("rolled out %s", "v2")

    line = json.loads(stream.getvalue())
    assert line["message"] == "rolled out v2"
    assert (line["kind"], line["namespace"], line["name"]) == ("ModelDeployment", "ml", "blue")
    assert line["reconcile_id"] == reconcile_id
    assert line["level"] == "INFO"


def test_two_passes_get_different_reconcile_ids() -> None:
    with reconcile_scope("ModelDeployment", "ml", "blue") as first:
        pass
    with reconcile_scope("ModelDeployment", "ml", "blue") as second:
        pass

    assert first != second


def test_a_kopf_object_line_is_named_by_its_k8s_ref() -> None:
    record = logging.LogRecord(LOGGER, logging.INFO, __file__, 1, "handler done", None, None)
    record.k8s_ref = {"kind": "MLOpsPlatform", "name": "local", "namespace": None}

    line = json.loads(JsonFormatter().format(record))

    assert (line["kind"], line["namespace"], line["name"]) == ("MLOpsPlatform", "", "local")


def test_an_exception_keeps_its_traceback_in_one_json_line() -> None:
    try:
        raise KeyError("spec.surprise")
    except KeyError:
        record = logging.LogRecord(LOGGER, logging.ERROR, __file__, 1, "failed", None, sys.exc_info())

    text = JsonFormatter().format(record)

    assert "\n" not in text
    assert "KeyError: 'spec.surprise'" in json.loads(text)["exception"]


def test_text_lines_prefix_the_object_for_humans() -> None:
    record = logging.LogRecord(LOGGER, logging.INFO, __file__, 1, "ready", None, None)
    with reconcile_scope("ModelDeployment", "ml", "blue") as reconcile_id:
        text = TextFormatter().format(record)

    assert f"[ModelDeployment ml/blue #{reconcile_id}] ready" in text

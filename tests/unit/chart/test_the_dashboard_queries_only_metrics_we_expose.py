"""The Grafana dashboard (a ConfigMap the sidecar loads) is well formed and every query names a metric the
operator or the scoring server really exposes. Its PromQL is evaluated by a real Prometheus in
tests/integration/metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from mlops_operator.metrics import OperatorMetrics
from mlops_operator.scoring.metrics import ROUTE_INDEX, MetricsBlock

DASHBOARD = Path(__file__).resolve().parents[3] / "charts" / "mlops-operator" / "dashboards" / "mlops.json"
METRIC = re.compile(r"\b(mlops_[a-z_]+)")
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def exposed() -> set[str]:
    """Family names (without sample suffixes) of both registries."""
    names = {family.name for family in OperatorMetrics(CollectorRegistry()).registry.collect()}
    block = MetricsBlock(1)
    block.recorder(0).request(ROUTE_INDEX["score"], 200, 0.001)
    names |= {m.group(1) for m in re.finditer(r"^# TYPE (\S+)", block.render().decode(), re.M)}
    return {strip(n) for n in names}


def strip(name: str) -> str:
    for suffix in SUFFIXES:
        name = name.removesuffix(suffix)
    return name


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def test_every_query_names_an_exposed_metric() -> None:
    known = exposed()
    queried = {strip(m) for p in dashboard()["panels"] for t in p["targets"] for m in METRIC.findall(t["expr"])}

    assert queried
    assert queried <= known, queried - known


def test_panels_have_unique_ids_a_place_and_queries_through_the_datasource_variable() -> None:
    panels = dashboard()["panels"]

    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        assert panel["datasource"]["uid"] == "${datasource}"
        assert [t["refId"] for t in panel["targets"]] == ["A", "B"][: len(panel["targets"])]


def test_the_dashboard_has_a_stable_uid_and_filters_by_namespace_and_deployment() -> None:
    board = dashboard()

    assert board["uid"] == "mlops-operator"
    assert [v["name"] for v in board["templating"]["list"]] == ["datasource", "namespace", "deployment"]

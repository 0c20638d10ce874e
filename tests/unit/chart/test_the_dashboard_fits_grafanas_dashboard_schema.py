"""The Grafana dashboard is checked against Grafana's own dashboard schema, as carried by Grafana's
maintained dashboard-as-code library (grafana-foundation-sdk, generated from Grafana's schemas): every field
we wrote must survive a decode and re-encode through its `Dashboard` model, so nothing is a typo or a field
Grafana does not know."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

DASHBOARD = Path(__file__).resolve().parents[3] / "charts" / "mlops-operator" / "dashboards" / "mlops.json"


def _lost(ours: Any, schema: Any, path: str = "") -> list[str]:
    """Paths present in `ours` but missing after the round trip through the schema's model."""
    if isinstance(ours, dict):
        if not isinstance(schema, dict):
            return [path or "/"]
        return [p for key, value in ours.items() for p in _lost(value, schema.get(key, _MISSING), f"{path}/{key}")]
    if isinstance(ours, list):
        if not isinstance(schema, list) or len(schema) != len(ours):
            return [path]
        return [p for i, (a, b) in enumerate(zip(ours, schema, strict=True)) for p in _lost(a, b, f"{path}[{i}]")]
    return [path] if schema is _MISSING else []


_MISSING = object()


def test_every_field_of_the_dashboard_is_one_grafanas_schema_knows() -> None:
    ours = json.loads(DASHBOARD.read_text())

    round_trip = json.loads(json.dumps(Dashboard.from_json(ours), cls=JSONEncoder))

    assert _lost(ours, round_trip) == []
    assert len(round_trip["panels"]) == len(ours["panels"]) > 0


def test_a_misspelt_field_is_caught() -> None:
    ours = json.loads(DASHBOARD.read_text())
    ours["panels"][0]["gridPoss"] = ours["panels"][0].pop("gridPos")

    round_trip = json.loads(json.dumps(Dashboard.from_json(ours), cls=JSONEncoder))

    assert "/panels[0]/gridPoss" in _lost(ours, round_trip)

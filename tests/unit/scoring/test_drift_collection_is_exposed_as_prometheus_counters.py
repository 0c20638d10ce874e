"""Drift counters parse as Prometheus text, escape odd feature names, show every bin from the first scrape
(so increase() has a baseline) and answer the operator's query. MLOPS_DRIFT_PROFILE turns them on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from exposition import unexported_selectors
from prometheus_client.parser import text_string_to_metric_families

from mlops_operator.drift.profile import FeatureProfile, Profile
from mlops_operator.monitoring.drift_driver import COUNTS_QUERY
from mlops_operator.scoring.config import ConfigError, load_config
from mlops_operator.scoring.drift import SKIP_REASONS, DriftBlock
from mlops_operator.scoring.metrics import MetricsBlock

ODD_NAME = 'the "odd" \\ name\nwith a newline'
ODD_CATEGORY = 'a "quoted" category'
PROFILE = Profile(
    (
        FeatureProfile("age", 0, "numeric", (0.3, 0.4, 0.3), 100, edges=(30.0, 60.0)),
        FeatureProfile(ODD_NAME, 1, "categorical", (0.6, 0.4), 100, categories=(ODD_CATEGORY,)),
    )
)
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """(sample name, its labels) -> value, read by prometheus-client's own parser."""
    families = text_string_to_metric_families(text)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for family in families for s in family.samples}


def test_every_bin_and_counter_is_exposed_at_zero_before_any_request() -> None:
    parsed = samples(DriftBlock(PROFILE, slots=2).render().decode())
    observations = {labels for name, labels in parsed if name == "mlops_drift_observations_total"}
    assert observations == {
        (("bin", "0"), ("feature", "age")),
        (("bin", "1"), ("feature", "age")),
        (("bin", "2"), ("feature", "age")),
        (("bin", ODD_CATEGORY), ("feature", ODD_NAME)),
        (("bin", "__other__"), ("feature", ODD_NAME)),
    }
    assert {labels for name, labels in parsed if name == "mlops_drift_missing_total"} == {
        (("feature", "age"),),
        (("feature", ODD_NAME),),
    }
    assert {dict(labels)["reason"] for name, labels in parsed if name == "mlops_drift_skipped_total"} == set(
        SKIP_REASONS
    )
    assert parsed[("mlops_drift_rows_total", ())] == 0
    assert set(parsed.values()) == {0}


def test_counts_are_read_back_under_their_escaped_labels() -> None:
    block = DriftBlock(PROFILE, slots=1)
    collector = block.collector(0, max_rows_per_second=100)
    collector.process(json.dumps([{"age": 45, ODD_NAME: ODD_CATEGORY}, {"age": 45}]).encode())
    parsed = samples(block.render().decode())
    assert parsed[("mlops_drift_observations_total", (("bin", ODD_CATEGORY), ("feature", ODD_NAME)))] == 1
    assert parsed[("mlops_drift_observations_total", (("bin", "1"), ("feature", "age")))] == 2
    assert parsed[("mlops_drift_missing_total", (("feature", ODD_NAME),))] == 1
    assert parsed[("mlops_drift_rows_total", ())] == 2


def test_scoring_and_drift_series_parse_together_with_the_types_they_declare() -> None:
    text = MetricsBlock(1).render().decode() + DriftBlock(PROFILE, slots=1).render().decode()
    types = {family.name: family.type for family in text_string_to_metric_families(text)}
    assert {types[name] for name in types if name.startswith("mlops_drift")} == {"counter"}
    assert {"mlops_drift_observations", "mlops_drift_missing", "mlops_drift_rows", "mlops_drift_skipped"} <= set(types)
    assert all(name.startswith(("mlops_scoring", "mlops_drift")) for name in types)


def test_the_operators_drift_query_selects_labels_the_server_exports() -> None:
    exported: dict[str, set[str]] = {}
    for name, labels in samples(DriftBlock(PROFILE, slots=1).render().decode()):
        exported.setdefault(name, set()).update(label for label, _ in labels)
    query = COUNTS_QUERY.format(namespace="ns", deployment="d", window=600)
    assert unexported_selectors(query, exported) == []


def test_the_profile_and_row_budget_come_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    path.write_text(PROFILE.to_json())
    config = load_config({"MLOPS_DRIFT_PROFILE": str(path), "MLOPS_DRIFT_MAX_ROWS_PER_SECOND": "500"})
    assert config.drift_profile == PROFILE
    assert config.drift_max_rows_per_second == 500


def test_no_profile_means_no_collection() -> None:
    config = load_config({"AML_APP_ROOT": "/app"})
    assert config.drift_profile is None
    assert config.drift_max_rows_per_second == 2000


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("{not json", "is not a usable drift profile: the drift profile is not JSON"),
        (
            '{"kind": "DriftProfile", "features": []}',
            "is not a usable drift profile: the drift profile has no features",
        ),
    ],
)
def test_a_bad_profile_is_a_config_error_naming_the_file(tmp_path: Path, content: str, complaint: str) -> None:
    path = tmp_path / "profile.json"
    path.write_text(content)
    with pytest.raises(ConfigError) as raised:
        load_config({"MLOPS_DRIFT_PROFILE": str(path)})
    assert f"MLOPS_DRIFT_PROFILE={str(path)!r}" in str(raised.value)
    assert complaint in str(raised.value)


def test_a_missing_profile_file_serves_without_collection(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The operator mounts the profile ConfigMap as optional: until it exists, the pods serve and count nothing."""
    config = load_config({"MLOPS_DRIFT_PROFILE": str(tmp_path / "absent.json")})
    assert config.drift_profile is None
    assert "does not exist: no drift collection" in caplog.text
    unreadable = tmp_path / "a-directory"
    unreadable.mkdir()
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config({"MLOPS_DRIFT_PROFILE": str(unreadable)})


def test_a_row_budget_below_one_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="MLOPS_DRIFT_MAX_ROWS_PER_SECOND=0 must be at least 1"):
        load_config({"MLOPS_DRIFT_MAX_ROWS_PER_SECOND": "0"})

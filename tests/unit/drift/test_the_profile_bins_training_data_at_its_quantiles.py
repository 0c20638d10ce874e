"""`mlopsctl profile`'s document: equal-frequency bins for numbers, kept categories plus the rest, and a
reader that names what is wrong with a hand-edited profile."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlops_operator.cli.main import main
from mlops_operator.drift.build import ProfileInputError, build_profile
from mlops_operator.drift.profile import OTHER, ProfileError, parse_profile


def frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "age": rng.normal(40, 10, 10_000),
            "segment": rng.choice(["a", "b", "c", "d"], 10_000, p=[0.4, 0.3, 0.2, 0.1]),
            "flag": rng.choice([True, False], 10_000),
        }
    )


def test_numbers_get_equal_frequency_bins_and_bin_of_follows_the_edges() -> None:
    age = build_profile(frame(), bins=5).features[0]
    assert age.kind == "numeric"
    assert age.bins == 5
    assert all(f == pytest.approx(0.2, abs=0.001) for f in age.frequencies)
    assert age.bin_of(age.edges[0]) == 0  # a value on an edge belongs to the bin below it
    assert age.bin_of(age.edges[0] + 1e-9) == 1
    assert (age.bin_of(-1e9), age.bin_of(1e9)) == (0, 4)
    assert (age.bin_of("41.5"), age.bin_of(None), age.bin_of("n/a"), age.bin_of(float("nan"))) == (
        age.bin_of(41.5),
        None,
        None,
        None,
    )


def test_edges_sit_between_training_values_so_rounded_or_float32_inputs_stay_in_their_bin() -> None:
    rng = np.random.default_rng(5)
    data = pd.DataFrame(
        {
            "flag": rng.choice([-0.0446416365069974, 0.0506801187398187], 1000),  # a scaled 0/1 column
            "years": rng.integers(20, 80, 1000) / 13.7,  # few distinct values, each repeated
        }
    )
    profile = build_profile(data)
    flag, years = profile.features
    assert flag.bins == 2
    assert flag.edges == (pytest.approx((-0.0446416365069974 + 0.0506801187398187) / 2),)
    for feature in (flag, years):
        values = data[feature.name].to_numpy()
        bins = [feature.bin_of(float(v)) for v in values]
        assert [feature.bin_of(round(float(v), 4)) for v in values] == bins
        assert [feature.bin_of(float(np.float32(v))) for v in values] == bins
        counts = np.bincount(bins, minlength=feature.bins) / len(values)
        assert counts == pytest.approx(feature.frequencies)


def test_categories_keep_the_most_frequent_and_pool_the_rest() -> None:
    segment = build_profile(frame(), features=["segment"], max_categories=2).features[0]
    assert segment.categories == ("a", "b")
    assert segment.bin_labels() == ["a", "b", OTHER]
    assert segment.frequencies == pytest.approx((0.4, 0.3, 0.3), abs=0.02)
    assert (segment.bin_of("a"), segment.bin_of("d"), segment.bin_of(7)) == (0, 2, 2)
    flag = build_profile(frame(), features=["flag"]).features[0]
    assert flag.kind == "categorical"
    assert flag.bin_of(True) == flag.categories.index("True")


def test_features_keep_the_order_asked_for_plain_array_inputs() -> None:
    profile = build_profile(frame(), features=["segment", "age"])
    assert [(f.name, f.position) for f in profile.features] == [("segment", 0), ("age", 1)]
    with pytest.raises(ProfileInputError, match=r"\['income'\]"):
        build_profile(frame(), features=["income"])


def test_the_document_round_trips_and_bad_ones_name_the_field() -> None:
    profile = build_profile(frame())
    assert parse_profile(profile.to_json()) == profile
    document = json.loads(profile.to_json())
    document["features"][0]["frequencies"] = [1.0]
    with pytest.raises(ProfileError, match=r"\.features\[0\]\.frequencies has 1 entries"):
        parse_profile(json.dumps(document))
    with pytest.raises(ProfileError, match="kind 'DriftProfile'"):
        parse_profile("{}")
    with pytest.raises(ProfileError, match="not JSON"):
        parse_profile("age,segment")


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_mlopsctl_profile_reads_csv_parquet_and_json(tmp_path, capsys, suffix: str) -> None:
    data = tmp_path / f"train{suffix}"
    training = frame()
    {".csv": training.to_csv, ".parquet": training.to_parquet, ".json": training.to_json}[suffix](data)
    assert main(["profile", str(data), "--features", "age,segment", "--configmap", "p", "-n", "models"]) == 0
    manifest = capsys.readouterr().out
    import yaml

    config_map = yaml.safe_load(manifest)
    assert (config_map["kind"], config_map["metadata"]) == ("ConfigMap", {"name": "p", "namespace": "models"})
    assert [f.name for f in parse_profile(config_map["data"]["profile.json"]).features] == ["age", "segment"]
    assert main(["profile", str(data), "--features", "nope"]) == 1
    assert "nope" in capsys.readouterr().err

"""Every body shape clients of Azure ML scoring servers send reaches the same bins: arrays by position,
records and columns by name, under the wrappers inference-schema and MLflow use. Odd bodies yield nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlops_operator.drift.profile import FeatureProfile, Profile
from mlops_operator.drift.rows import MAX_ROWS_PER_BODY, extract_rows
from mlops_operator.scoring.drift import DriftBlock, DriftCollector

# age: bin 0 is <= 30, bin 1 is (30, 60], bin 2 is > 60; city: paris, rome, and __other__ for the rest.
PROFILE = Profile(
    (
        FeatureProfile("age", 0, "numeric", (0.3, 0.4, 0.3), 100, edges=(30.0, 60.0)),
        FeatureProfile("city", 1, "categorical", (0.5, 0.3, 0.2), 100, categories=("paris", "rome")),
    )
)
YOUNG_PARISIAN_AND_OLD_LYONNAIS = {
    ("age", "0"): 1,
    ("age", "2"): 1,
    ("city", "paris"): 1,
    ("city", "__other__"): 1,
}
YOUNG_PARISIAN = {("age", "0"): 1, ("city", "paris"): 1}
TWO_ROWS = [[20, "paris"], [70, "lyon"]]
TWO_RECORDS = [{"age": 20, "city": "paris"}, {"city": "lyon", "age": 70, "income": 5}]

SHAPES: dict[str, tuple[Any, dict[tuple[str, str], int]]] = {
    "data_rows": ({"data": TWO_ROWS}, YOUNG_PARISIAN_AND_OLD_LYONNAIS),
    "data_one_row": ({"data": [20, "paris"]}, YOUNG_PARISIAN),
    "data_records": ({"data": TWO_RECORDS}, YOUNG_PARISIAN_AND_OLD_LYONNAIS),
    "input_data_split_orient": (
        {"input_data": {"columns": ["city", "age"], "index": [0, 1], "data": [["paris", 20], ["lyon", 70]]}},
        YOUNG_PARISIAN_AND_OLD_LYONNAIS,
    ),
    "input_data_rows": ({"input_data": TWO_ROWS}, YOUNG_PARISIAN_AND_OLD_LYONNAIS),
    "Inputs_parameter_data": (
        {"Inputs": {"data": TWO_ROWS}, "GlobalParameters": {"method": "predict"}},
        YOUNG_PARISIAN_AND_OLD_LYONNAIS,
    ),
    "inputs_parameter_of_any_name": ({"inputs": {"input1": TWO_RECORDS}}, YOUNG_PARISIAN_AND_OLD_LYONNAIS),
    "top_level_rows": (TWO_ROWS, YOUNG_PARISIAN_AND_OLD_LYONNAIS),
    "top_level_records": (TWO_RECORDS, YOUNG_PARISIAN_AND_OLD_LYONNAIS),
    "single_record": ({"age": 20, "city": "paris", "income": 5}, YOUNG_PARISIAN),
    "columns_orient_by_index": (
        {"age": {"0": 20, "1": 70}, "city": {"0": "paris", "1": "lyon"}},
        YOUNG_PARISIAN_AND_OLD_LYONNAIS,
    ),
    "columns_as_lists": ({"age": [20, 70], "city": ["paris", "lyon"]}, YOUNG_PARISIAN_AND_OLD_LYONNAIS),
    "mlflow_dataframe_split": (
        {"dataframe_split": {"columns": ["age", "city"], "data": TWO_ROWS}},
        YOUNG_PARISIAN_AND_OLD_LYONNAIS,
    ),
    "split_orient_with_numbered_columns": (
        {"input_data": {"columns": [0, 1], "data": TWO_ROWS}},
        YOUNG_PARISIAN_AND_OLD_LYONNAIS,
    ),
    "a_json_string_of_json": ({"data": json.dumps(TWO_ROWS)}, YOUNG_PARISIAN_AND_OLD_LYONNAIS),
}
ODD_DOCUMENTS = [
    None,
    42,
    "not json at all",
    {"data": None},
    {"unrelated": [1, 2, 3]},
    [{"unrelated": 1}],
    {"Inputs": {}},
    {"input_data": {"columns": ["other"], "data": [[1]]}},
    {"data": {"data": {"data": {"data": {"data": [[1]]}}}}},
    {"data": "[[1, unterminated"},
]


def binned(body: bytes) -> tuple[DriftBlock, DriftCollector]:
    block = DriftBlock(PROFILE, slots=1)
    collector = block.collector(0, max_rows_per_second=1000)
    collector.process(body)
    return block, collector


def bin_counts(block: DriftBlock) -> dict[tuple[str, str], int]:
    totals = block.totals()
    return {(feature, label): int(totals[o]) for feature, label, o in block.layout.bins if totals[o]}


def counter(block: DriftBlock, name: str) -> int:
    """rows, or one of the skip reasons."""
    offset = block.layout.rows if name == "rows" else block.layout.skipped[name]
    return int(block.totals()[offset])


@pytest.mark.parametrize("shape", SHAPES)
def test_each_shape_lands_in_the_bins_of_its_values(shape: str) -> None:
    document, expected = SHAPES[shape]
    block, _ = binned(json.dumps(document).encode())
    assert bin_counts(block) == expected
    assert counter(block, "rows") == sum(expected.values()) // 2
    assert counter(block, "unparsed") == 0


def test_a_row_shorter_than_a_position_leaves_that_feature_missing() -> None:
    block, _ = binned(b'{"data": [[20], [45, "rome"]]}')
    assert bin_counts(block) == {("age", "0"): 1, ("age", "1"): 1, ("city", "rome"): 1}
    missing = dict(block.layout.missing)
    assert block.totals()[missing["city"]] == 1
    assert block.totals()[missing["age"]] == 0


def test_null_nan_and_text_in_a_numeric_feature_count_as_missing() -> None:
    block, _ = binned(b'{"data": [{"age": null}, {"age": NaN}, {"age": "old"}, {"age": "25"}]}')
    assert bin_counts(block) == {("age", "0"): 1}
    missing = dict(block.layout.missing)
    assert block.totals()[missing["age"]] == 3
    assert block.totals()[missing["city"]] == 4
    assert counter(block, "rows") == 4


def test_a_big_body_is_sampled_evenly_not_just_its_first_rows() -> None:
    rows = [[20, "paris"]] * 3000 + [[70, "rome"]] * 3000
    block, _ = binned(json.dumps({"data": rows}).encode())
    assert counter(block, "rows") == MAX_ROWS_PER_BODY
    assert bin_counts(block) == {
        ("age", "0"): MAX_ROWS_PER_BODY // 2,
        ("age", "2"): MAX_ROWS_PER_BODY // 2,
        ("city", "paris"): MAX_ROWS_PER_BODY // 2,
        ("city", "rome"): MAX_ROWS_PER_BODY // 2,
    }


def test_an_integer_beyond_float_range_falls_in_the_last_bin() -> None:
    block, _ = binned(b'{"age": ' + b"9" * 400 + b"}")
    assert bin_counts(block) == {("age", "2"): 1}


@pytest.mark.parametrize("document", ODD_DOCUMENTS, ids=repr)
def test_an_odd_document_yields_no_rows_and_no_error(document: Any) -> None:
    assert extract_rows(PROFILE, document) is None


@pytest.mark.parametrize("body", [b"", b"{", b"\xff\xfe", b"[1, 2", b'"just a string"', b"[" * 5000 + b"]" * 5000])
def test_an_undecodable_body_counts_as_unparsed(body: bytes) -> None:
    block, _ = binned(body)
    assert counter(block, "unparsed") == 1
    assert counter(block, "rows") == 0
    assert bin_counts(block) == {}


def test_an_empty_batch_is_no_rows_rather_than_unparsed() -> None:
    block, _ = binned(b'{"data": []}')
    assert (counter(block, "rows"), counter(block, "unparsed")) == (0, 0)

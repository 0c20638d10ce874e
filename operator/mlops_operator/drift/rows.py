"""Feature values out of a decoded `/score` body, in the shapes clients of Azure ML scoring servers send.

Standard library only, like `profile`: the scoring server runs this on its own image. The server passes
the body to run() untouched, so the shape is whatever the client chose; we recognise the common ones:

- arrays, feature by `position`: `{"data": [[...], ...]}`, `{"data": [...one row...]}`, `{"input_data":
  [[...]]}`, a top-level list of rows;
- records, feature by name: `{"data": [{"f": v}, ...]}`, a top-level list of records, one record `{"f": v}`;
- pandas split orient (Azure ML's MLflow servers): `{"input_data": {"columns": [...], "index": [...],
  "data": [[...]]}}`, also under MLflow's own `dataframe_split`;
- pandas columns orient: `{"f": {"0": v, "1": w}}` and `{"f": [v, w]}`;
- inference-schema wrappers: `{"Inputs": {"<parameter>": ...}}` / `{"inputs": ...}`, whatever the parameter
  is called, and MLflow's `instances` / `dataframe_records`.

Work per body is bounded (at most `limit` rows, sampled evenly across a bigger body; a few levels of
wrappers) and nothing here raises: an unrecognised body yields None, which the caller counts as unparsed.
"""

from __future__ import annotations

import json
from typing import Any

from .profile import Profile

Row = dict[str, object]
MAX_ROWS_PER_BODY = 1000
MAX_DEPTH = 4  # wrappers nest two or three deep in practice; deeper is not a shape we know
# Keys that wrap the input rather than name a feature (unless the profile has a feature of that name).
WRAPPERS = ("data", "input_data", "Inputs", "inputs", "instances", "dataframe_records", "dataframe_split")
PARAMETER_WRAPPERS = frozenset({"Inputs", "inputs"})  # inference-schema: {"Inputs": {"<parameter>": ...}}


def extract_rows(profile: Profile, document: object, limit: int = MAX_ROWS_PER_BODY) -> list[Row] | None:
    """One mapping feature name -> value per row (at most `limit`); None when the shape is not one we know.

    Keys the profile does not name are ignored; a feature a row lacks (an array shorter than its position,
    a record without its key) is absent from that row's mapping, and binning counts it as missing.
    """
    return RowExtractor(profile, limit).extract(document)


def sample_indices(total: int, limit: int) -> range | list[int]:
    """Which of `total` rows to read: all of them, or `limit` spread evenly (not just the first ones)."""
    if total <= limit:
        return range(total)
    return [index * total // limit for index in range(limit)]


class RowExtractor:
    """`extract_rows` for one profile, prepared once: a collector calls it for every body it samples."""

    __slots__ = ("limit", "names", "positions")

    def __init__(self, profile: Profile, limit: int = MAX_ROWS_PER_BODY) -> None:
        self.limit = max(1, limit)
        self.names = frozenset(feature.name for feature in profile.features)
        self.positions = tuple((feature.name, feature.position) for feature in profile.features)

    def extract(self, document: object) -> list[Row] | None:
        try:
            return self._walk(document, 0)
        except Exception:  # a body is client input: whatever it holds, collection must not fail the server
            return None

    def _walk(self, document: object, depth: int) -> list[Row] | None:
        if depth > MAX_DEPTH:
            return None
        if isinstance(document, list):
            return self._list(document)
        if isinstance(document, dict):
            return self._dict(document, depth)
        if isinstance(document, str) and document[:1] in ("{", "["):
            # Clients that json.dumps() their payload and then post it as JSON send a string of JSON.
            return self._walk(json.loads(document), depth + 1)
        return None

    def _list(self, items: list[Any]) -> list[Row] | None:
        if not items:
            return []
        first = items[0]
        if isinstance(first, dict):
            return self._known([self._record(items[i]) for i in sample_indices(len(items), self.limit)])
        if isinstance(first, list):
            return [self._array(items[i]) for i in sample_indices(len(items), self.limit)]
        return [self._array(items)]  # a flat list of values is one row

    def _dict(self, document: dict[Any, Any], depth: int) -> list[Row] | None:
        if isinstance(document.get("columns"), list) and isinstance(document.get("data"), list):
            return self._split(document["columns"], document["data"])
        if not self.names.isdisjoint(document):
            return self._named(document)
        for key in WRAPPERS:
            if key in document:
                inner = document[key]
                if key in PARAMETER_WRAPPERS and isinstance(inner, dict) and self.names.isdisjoint(inner):
                    return self._parameters(inner, depth)
                return self._walk(inner, depth + 1)
        return None

    def _parameters(self, parameters: dict[Any, Any], depth: int) -> list[Row] | None:
        """inference-schema's `{"Inputs": {"<parameter>": value}}`: the first parameter holding rows."""
        if "columns" in parameters and "data" in parameters:
            return self._walk(parameters, depth + 1)
        for value in parameters.values():
            found = self._walk(value, depth + 2)
            if found:
                return found
        return None

    def _named(self, document: dict[Any, Any]) -> list[Row] | None:
        """A single record, or pandas columns orient (each feature a list, or a dict keyed by row index)."""
        columns = [(name, document[name]) for name in self.names if name in document]
        if all(isinstance(values, list) for _, values in columns):
            length = max(len(values) for _, values in columns)
            return [
                {name: values[i] for name, values in columns if i < len(values)}
                for i in sample_indices(length, self.limit)
            ]
        if all(isinstance(values, dict) for _, values in columns):
            longest: dict[Any, Any] = max((values for _, values in columns), key=len)
            index = list(longest)
            return [
                {name: values[key] for name, values in columns if key in values}
                for key in (index[i] for i in sample_indices(len(index), self.limit))
            ]
        return [dict(columns)]

    def _split(self, columns: list[Any], data: list[Any]) -> list[Row] | None:
        """pandas split orient: rows are arrays whose positions the `columns` list names."""
        wanted = [(column, position) for position, column in enumerate(columns) if column in self.names]
        if not wanted:
            # A frame without column names (pandas numbers them) lists the features in training order.
            numbered = all(isinstance(column, int) and not isinstance(column, bool) for column in columns)
            return self._list(data) if numbered else None
        rows = [data[i] for i in sample_indices(len(data), self.limit)]
        return [
            {name: row[position] for name, position in wanted if position < len(row)}
            for row in rows
            if isinstance(row, list)
        ]

    def _record(self, record: object) -> Row:
        if not isinstance(record, dict):
            return {}
        return {name: record[name] for name in self.names if name in record}

    def _array(self, row: object) -> Row:
        if not isinstance(row, list):
            return {}
        length = len(row)
        return {name: row[position] for name, position in self.positions if 0 <= position < length}

    @staticmethod
    def _known(rows: list[Row]) -> list[Row] | None:
        """Records that name none of the profile's features are another model's input, not missing values."""
        return rows if any(rows) else None

"""`mlopsctl profile`: the reference profile of a training set (CSV, Parquet or JSON), with pandas and numpy.

Numeric columns get bin edges at the training quantiles (equal-frequency bins, merged where values repeat),
each placed midway between the training values around it;
other columns (text, booleans, categories) keep their most frequent values and pool the rest.
pandas is an optional dependency (`pip install 'mlops-operator[profile]'`): the operator image needs none.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlops_operator.drift.profile import FeatureProfile, Profile

DEFAULT_BINS = 10
DEFAULT_MAX_CATEGORIES = 50
READERS = {".csv": "read_csv", ".parquet": "read_parquet", ".pq": "read_parquet", ".json": "read_json"}


class ProfileInputError(ValueError):
    """The data cannot be profiled as asked; the message says what to change."""


def read_frame(path: Path) -> Any:
    try:
        import pandas as pd
    except ImportError as exc:
        raise ProfileInputError("profiling needs pandas: pip install 'mlops-operator[profile]'") from exc
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise ProfileInputError(f"{path}: use a .csv, .parquet or .json file (records or columns)")
    if path.suffix.lower() == ".json":
        return _read_json(pd, path)
    return getattr(pd, reader)(path)


def _read_json(pd: Any, path: Path) -> Any:
    """JSON Lines, a list of records, or pandas' own orients: whatever pandas reads without a hint."""
    try:
        return pd.read_json(path, lines=True)
    except ValueError:
        return pd.read_json(path)


def build_profile(
    frame: Any,
    features: Sequence[str] = (),
    bins: int = DEFAULT_BINS,
    max_categories: int = DEFAULT_MAX_CATEGORIES,
    categorical: Sequence[str] = (),
) -> Profile:
    """The profile of `features` (default: every column) of a pandas DataFrame, in that order."""
    names = list(features) or [str(column) for column in frame.columns]
    unknown = [name for name in names if name not in frame.columns]
    if unknown:
        raise ProfileInputError(f"--features names columns the data does not have: {unknown}")
    if bins < 2:
        raise ProfileInputError("--bins must be at least 2")
    profiled = []
    for position, name in enumerate(names):
        column = frame[name]
        if _is_numeric(column) and name not in categorical:
            profiled.append(_numeric(name, position, column, bins))
        else:
            profiled.append(_categorical(name, position, column, max_categories))
    return Profile(tuple(profiled), rows=len(frame))


def _is_numeric(column: Any) -> bool:
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    return bool(is_numeric_dtype(column) and not is_bool_dtype(column))


def _numeric(name: str, position: int, column: Any, bins: int) -> FeatureProfile:
    import numpy as np

    values = column.dropna().to_numpy(dtype=float)
    if values.size == 0:
        raise ProfileInputError(f"column {name!r} has no values to profile")
    inner = _edges_between_values(np, values, np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))
    index = np.searchsorted(inner, values, side="left")
    counts = np.bincount(index, minlength=len(inner) + 1)
    sums = np.bincount(index, weights=values, minlength=len(inner) + 1)
    summary = {"min": values.min(), "max": values.max(), "mean": values.mean(), "std": values.std()}
    return FeatureProfile(
        name=name,
        position=position,
        kind="numeric",
        frequencies=tuple(float(c) / values.size for c in counts),
        count=int(values.size),
        missing=int(column.isna().sum()),
        edges=tuple(float(e) for e in inner),
        centers=tuple(float(s / c) if c else 0.0 for s, c in zip(sums, counts, strict=True)),
        summary={k: float(v) for k, v in summary.items()},
    )


def _edges_between_values(np: Any, values: Any, quantiles: Any) -> Any:
    """Each quantile moved to the midpoint between the training values around it, duplicates merged.

    A quantile of repeated values (a 0/1 flag, ages in years) lands exactly on a value; a client sending it
    rounded, or as float32, would then cross the edge and fake a drift of half the feature. Midway between
    distinct values, an edge is as far as it can be from every training value.
    """
    distinct = np.unique(values)
    above = np.searchsorted(distinct, quantiles, side="right")  # distinct[above - 1] <= quantile < distinct[above]
    inside = (above > 0) & (above < distinct.size)
    return np.unique((distinct[above[inside] - 1] + distinct[above[inside]]) / 2)


def _categorical(name: str, position: int, column: Any, max_categories: int) -> FeatureProfile:
    values = column.dropna().map(_as_category)
    if values.empty:
        raise ProfileInputError(f"column {name!r} has no values to profile")
    counts = values.value_counts()
    kept = [str(category) for category in counts.index[:max_categories]]
    kept_counts = [int(counts[category]) for category in kept]
    other = int(len(values) - sum(kept_counts))
    return FeatureProfile(
        name=name,
        position=position,
        kind="categorical",
        frequencies=tuple(c / len(values) for c in [*kept_counts, other]),
        count=len(values),
        missing=int(column.isna().sum()),
        categories=tuple(kept),
    )


def _as_category(value: object) -> str:
    """As the scoring server compares categories (drift.profile): 1.0 and 1 agree, booleans as True/False."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)

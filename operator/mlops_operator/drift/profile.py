"""The reference profile of a model's training data, and binning of served inputs against it.

Standard library only: the scoring server bins with this module on its own image, and the operator reads the
same file. A numeric feature has `k` bins split by `k - 1` inner edges taken from the training quantiles
(bin `i` holds `edges[i-1] < x <= edges[i]`, open at both ends); a categorical feature has one bin per kept
category plus a last bin for every other value. Frequencies are the training data's share of each bin.
Served rows reach a feature by name (records, column-oriented frames) or by `position` (plain arrays).
"""

from __future__ import annotations

import bisect
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

PROFILE_KIND = "DriftProfile"
PROFILE_API_VERSION = "mlops.dev/v1alpha1"
FeatureKind = Literal["numeric", "categorical"]
OTHER = "__other__"  # label of a categorical feature's last bin


@dataclass(frozen=True)
class FeatureProfile:
    """One feature of the training data: how it is binned, and the share of training rows in each bin."""

    name: str
    position: int
    kind: FeatureKind
    frequencies: tuple[float, ...]
    count: int
    missing: int = 0
    edges: tuple[float, ...] = ()  # numeric: inner bin edges, increasing
    categories: tuple[str, ...] = ()  # categorical: kept categories; the last bin holds the rest
    summary: dict[str, float] = field(default_factory=dict)  # numeric: min, max, mean, std
    centers: tuple[float, ...] = ()  # numeric: mean training value of each bin (for Wasserstein)

    @property
    def bins(self) -> int:
        return len(self.frequencies)

    def bin_labels(self) -> list[str]:
        """Names of the bins, as the scoring server labels its counters."""
        if self.kind == "categorical":
            return [*self.categories, OTHER]
        return [str(index) for index in range(self.bins)]

    def bin_of(self, value: object) -> int | None:
        """The bin `value` falls in; None for a missing value (null, NaN, or not a number for a numeric)."""
        if value is None:
            return None
        if self.kind == "categorical":
            text = _category(value)
            return self._category_index.get(text, len(self.categories))
        number = _number(value)
        if number is None:
            return None
        return bisect.bisect_left(self.edges, number)

    @property
    def _category_index(self) -> dict[str, int]:
        cached: dict[str, int] | None = self.__dict__.get("_index")
        if cached is None:
            cached = {name: index for index, name in enumerate(self.categories)}
            object.__setattr__(self, "_index", cached)
        return cached


def _category(value: object) -> str:
    """Categories compare as text; a JSON `true` and a training `True` agree, as do `1` and `1.0`."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int):
        # JSON integers are unbounded; one beyond a float's range is still a number, past every edge.
        try:
            number = float(value)
        except OverflowError:
            number = math.inf if value > 0 else -math.inf
    elif isinstance(value, float):
        number = value
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return None if math.isnan(number) else number


@dataclass(frozen=True)
class Profile:
    """The features of a training set, in the order plain-array inputs list them."""

    features: tuple[FeatureProfile, ...]
    rows: int = 0

    def feature(self, name: str) -> FeatureProfile | None:
        return next((f for f in self.features if f.name == name), None)

    def to_json(self) -> str:
        features = [_feature_dict(feature) for feature in self.features]
        document = {"apiVersion": PROFILE_API_VERSION, "kind": PROFILE_KIND, "rows": self.rows, "features": features}
        return json.dumps(document, indent=1, sort_keys=False)


def _feature_dict(feature: FeatureProfile) -> dict[str, Any]:
    raw = asdict(feature)
    keep = {"edges", "summary", "centers"} if feature.kind == "numeric" else {"categories"}
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in raw.items() if k in keep or k not in _OPTIONAL}


_OPTIONAL = {"edges", "categories", "summary", "centers"}


class ProfileError(ValueError):
    """The profile document is not one this version reads; the message names the field."""


def parse_profile(text: str | bytes) -> Profile:
    """Read a profile written by `mlopsctl profile`, checking what binning relies on."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ProfileError(f"the drift profile is not JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("kind") != PROFILE_KIND:
        raise ProfileError(f"the drift profile must be a JSON object with kind {PROFILE_KIND!r} (mlopsctl profile)")
    features = document.get("features")
    if not isinstance(features, list) or not features:
        raise ProfileError("the drift profile has no features: .features must list at least one")
    parsed = tuple(_parse_feature(index, raw) for index, raw in enumerate(features))
    names = [feature.name for feature in parsed]
    if len(set(names)) != len(names):
        raise ProfileError(f"the drift profile names a feature twice: {names}")
    return Profile(parsed, int(document.get("rows") or 0))


def _parse_feature(index: int, raw: Any) -> FeatureProfile:
    where = f".features[{index}]"
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise ProfileError(f"{where} must be an object with a name")
    kind = raw.get("kind")
    if kind not in ("numeric", "categorical"):
        raise ProfileError(f"{where}.kind must be numeric or categorical, not {kind!r}")
    frequencies = tuple(float(f) for f in raw.get("frequencies") or ())
    edges = tuple(float(e) for e in raw.get("edges") or ())
    categories = tuple(str(c) for c in raw.get("categories") or ())
    expected = len(edges) + 1 if kind == "numeric" else len(categories) + 1
    if len(frequencies) != expected:
        raise ProfileError(f"{where}.frequencies has {len(frequencies)} entries; its bins need {expected}")
    if list(edges) != sorted(set(edges)):
        raise ProfileError(f"{where}.edges must be strictly increasing")
    return FeatureProfile(
        name=raw["name"],
        position=int(raw.get("position", index)),
        kind=kind,
        frequencies=frequencies,
        count=int(raw.get("count") or 0),
        missing=int(raw.get("missing") or 0),
        edges=edges,
        categories=categories,
        summary={k: float(v) for k, v in (raw.get("summary") or {}).items()},
        centers=_centers(where, raw, len(frequencies)),
    )


def _centers(where: str, raw: dict[str, Any], bins: int) -> tuple[float, ...]:
    centers = tuple(float(c) for c in raw.get("centers") or ())
    if centers and len(centers) != bins:
        raise ProfileError(f"{where}.centers has {len(centers)} entries; its bins need {bins}")
    return centers

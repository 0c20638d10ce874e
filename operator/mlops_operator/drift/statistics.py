"""Drift statistics between a feature's training frequencies and the bin counts served in a window.

Counts arrive binned (summed over replicas by Prometheus), so every statistic works on the binned
distributions, computed with scipy: Jensen-Shannon distance (base 2, 0-1), population stability index
(the symmetric Kullback-Leibler sum), Wasserstein distance between the bins' training means normalised by
the training standard deviation (numbers only; a binned approximation), and Pearson's chi-squared test
(its p-value; drift when below the threshold). numpy and scipy are imported on first use: an operator
without drift monitoring never pays for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from mlops_operator.drift.profile import FeatureProfile

Statistic = Literal["jensenShannon", "psi", "wasserstein", "chiSquared"]
# A bin nobody saw would make PSI infinite; both sides get this share before normalising (the usual practice).
SMOOTHING = 1e-4
# Thresholds commonly used in practice (Azure ML model monitoring, Evidently) when the spec names none.
DEFAULT_THRESHOLDS: dict[str, float] = {"jensenShannon": 0.1, "psi": 0.2, "wasserstein": 0.1, "chiSquared": 0.01}


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's value against its threshold."""

    feature: str
    statistic: Statistic
    value: float
    threshold: float
    samples: int

    @property
    def drifted(self) -> bool:
        # chi-squared gives a p-value: small means the served data is unlikely under the training distribution
        if self.statistic == "chiSquared":
            return self.value < self.threshold
        return self.value > self.threshold


class StatisticError(ValueError):
    """The statistic does not apply to the feature (e.g. Wasserstein on categories)."""


def measure(feature: FeatureProfile, counts: Sequence[float], statistic: Statistic, threshold: float) -> FeatureDrift:
    """`statistic` for the served `counts` (one per bin of `feature`) against the training frequencies."""
    if len(counts) != feature.bins:
        raise ValueError(f"{feature.name}: {len(counts)} counts for {feature.bins} bins")
    value = _STATISTICS[statistic](feature, counts)
    return FeatureDrift(feature.name, statistic, float(value), threshold, round(sum(counts)))


def _jensen_shannon(feature: FeatureProfile, counts: Sequence[float]) -> float:
    from scipy.spatial.distance import jensenshannon

    return float(jensenshannon(_smoothed(counts), _smoothed(feature.frequencies), base=2))


def _psi(feature: FeatureProfile, counts: Sequence[float]) -> float:
    from scipy.special import rel_entr

    served, expected = _smoothed(counts), _smoothed(feature.frequencies)
    return float((rel_entr(served, expected) + rel_entr(expected, served)).sum())


def _wasserstein(feature: FeatureProfile, counts: Sequence[float]) -> float:
    from scipy.stats import wasserstein_distance

    if feature.kind != "numeric":
        raise StatisticError(f"{feature.name} is categorical: use jensenShannon, psi or chiSquared for it")
    midpoints = list(feature.centers) or _midpoints(feature)
    distance = wasserstein_distance(midpoints, midpoints, _smoothed(counts), _smoothed(feature.frequencies))
    spread = feature.summary.get("std") or (feature.summary.get("max", 1.0) - feature.summary.get("min", 0.0)) or 1.0
    return float(distance / spread)


def _chi_squared(feature: FeatureProfile, counts: Sequence[float]) -> float:
    import numpy as np
    from scipy.stats import chisquare

    observed = np.asarray(counts, dtype=float)
    expected = _smoothed(feature.frequencies) * observed.sum()
    if observed.sum() == 0:
        return 1.0
    return float(chisquare(observed, expected).pvalue)


def _smoothed(values: Sequence[float]):  # type: ignore[no-untyped-def]  # numpy arrays, imported lazily
    import numpy as np

    array = np.asarray(values, dtype=float)
    total = array.sum()
    shares = array / total if total > 0 else np.full(len(array), 1.0 / len(array))
    shares = shares + SMOOTHING
    return shares / shares.sum()


def _midpoints(feature: FeatureProfile) -> list[float]:
    """A representative value per bin: midpoints inside, the training min and max closing the open ends."""
    edges = list(feature.edges)
    if not edges:
        return [feature.summary.get("mean", 0.0)]
    low = min(feature.summary.get("min", edges[0]), edges[0])
    high = max(feature.summary.get("max", edges[-1]), edges[-1])
    bounds = [low, *edges, high]
    return [(bounds[i] + bounds[i + 1]) / 2 for i in range(len(bounds) - 1)]


_STATISTICS = {
    "jensenShannon": _jensen_shannon,
    "psi": _psi,
    "wasserstein": _wasserstein,
    "chiSquared": _chi_squared,
}

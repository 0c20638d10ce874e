"""The drift statistics on binned counts, against independent formulas and scipy on the raw samples."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlops_operator.drift.build import build_profile
from mlops_operator.drift.profile import FeatureProfile
from mlops_operator.drift.statistics import SMOOTHING, StatisticError, measure

RNG = np.random.default_rng(7)
TRAINING = RNG.normal(0.0, 1.0, 20_000)
PROFILE = build_profile(pd.DataFrame({"x": TRAINING, "colour": RNG.choice(["r", "g", "b"], 20_000)}))
X = PROFILE.features[0]


def binned(feature: FeatureProfile, values: np.ndarray) -> list[float]:
    counts = [0.0] * feature.bins
    for value in values:
        index = feature.bin_of(float(value))
        assert index is not None
        counts[index] += 1
    return counts


def shares(values: list[float] | tuple[float, ...]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    array = array / array.sum() + SMOOTHING
    return array / array.sum()


@pytest.mark.parametrize("shift", [0.0, 0.25, 1.0])
def test_jensen_shannon_is_the_base_2_distance_of_the_binned_shares(shift: float) -> None:
    counts = binned(X, RNG.normal(shift, 1.0, 5_000))
    p, q = shares(counts), shares(X.frequencies)
    m = (p + q) / 2
    expected = math.sqrt((np.sum(p * np.log(p / m)) + np.sum(q * np.log(q / m))) / 2 / math.log(2))
    assert measure(X, counts, "jensenShannon", 0.1).value == pytest.approx(expected, rel=1e-9)


def test_psi_is_the_symmetric_kullback_leibler_sum() -> None:
    counts = binned(X, RNG.normal(0.5, 1.0, 5_000))
    p, q = shares(counts), shares(X.frequencies)
    assert measure(X, counts, "psi", 0.2).value == pytest.approx(float(np.sum((p - q) * np.log(p / q))), rel=1e-9)


def test_chi_squared_gives_the_p_value_of_pearsons_statistic() -> None:
    counts = binned(X, RNG.normal(0.1, 1.0, 2_000))
    expected = shares(X.frequencies) * sum(counts)
    statistic = float(np.sum((np.asarray(counts) - expected) ** 2 / expected))
    p_value = float(stats.chi2.sf(statistic, df=X.bins - 1))
    assert measure(X, counts, "chiSquared", 0.01).value == pytest.approx(p_value, rel=1e-6)


@pytest.mark.parametrize("shift", [0.0, 0.5, 1.0, 2.0])
def test_binned_wasserstein_tracks_scipy_on_the_raw_samples(shift: float) -> None:
    served = RNG.normal(shift, 1.0, 5_000)
    exact = stats.wasserstein_distance(served, TRAINING) / TRAINING.std()
    # Each bin stands at its training mean: served values beyond the training range are pulled in, so the
    # binned distance is a lower estimate that still grows with the shift.
    binned_value = measure(X, binned(X, served), "wasserstein", 0.1).value
    assert binned_value == pytest.approx(exact, abs=0.05 + 0.25 * exact)


def test_the_training_distribution_does_not_drift_and_a_shift_of_one_deviation_does() -> None:
    same, shifted = binned(X, RNG.normal(0, 1, 3_000)), binned(X, RNG.normal(1, 1, 3_000))
    for statistic, threshold in (("jensenShannon", 0.1), ("psi", 0.2), ("wasserstein", 0.1), ("chiSquared", 0.001)):
        assert not measure(X, same, statistic, threshold).drifted, statistic
        assert measure(X, shifted, statistic, threshold).drifted, statistic


def test_categories_get_distribution_distances_but_not_wasserstein() -> None:
    colour = PROFILE.features[1]
    counts = [0.0] * colour.bins
    for value in ["r"] * 900 + ["g"] * 50 + ["b"] * 50:
        counts[colour.bin_of(value)] += 1  # type: ignore[index]
    assert measure(colour, counts, "jensenShannon", 0.1).drifted
    with pytest.raises(StatisticError, match="categorical"):
        measure(colour, counts, "wasserstein", 0.1)

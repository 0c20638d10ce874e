"""A profile, a deployment that monitors it, and window counts drawn from the training distribution or a
shifted one: shared by the drift machine and driver tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlops_operator.api.v1alpha1 import ModelDeployment
from mlops_operator.drift.build import build_profile
from mlops_operator.drift.profile import Profile

RNG = np.random.default_rng(11)
PROFILE: Profile = build_profile(
    pd.DataFrame({"x": RNG.normal(0, 1, 10_000), "kind": RNG.choice(["a", "b"], 10_000, p=[0.7, 0.3])})
)


def window(shift: float = 0.0, rows: int = 1_000, kind_a: float = 0.7) -> dict[str, list[float]]:
    """Bin counts of `rows` served rows, as Prometheus would sum them over the window."""
    x, kind = PROFILE.features
    counts = {"x": [0.0] * x.bins, "kind": [0.0] * kind.bins}
    for value in RNG.normal(shift, 1, rows):
        counts["x"][x.bin_of(float(value))] += 1  # type: ignore[index]
    for value in RNG.choice(["a", "b"], rows, p=[kind_a, 1 - kind_a]):
        counts["kind"][kind.bin_of(str(value))] += 1  # type: ignore[index]
    return counts


def deployment(drift: dict[str, Any] | None = None, status: dict[str, Any] | None = None) -> ModelDeployment:
    monitoring = {
        "baseline": {"configMapKeyRef": {"name": "profile"}},
        "minSamples": 100,
        "checkIntervalSeconds": 30,
        "windowSeconds": 60,
        "cooldownSeconds": 600,
        **(drift or {}),
    }
    return ModelDeployment.model_validate(
        {
            "metadata": {"name": "blue", "namespace": "ml", "uid": "u-1", "generation": 2},
            "spec": {
                "platformRef": {"name": "local"},
                "endpoint": {"name": "credit"},
                "model": {"name": "credit", "version": "3", "uri": "configmap://m"},
                "monitoring": {"drift": monitoring},
            },
            **({"status": status} if status else {}),
        }
    )

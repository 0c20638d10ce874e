"""A profile, a deployment that monitors it, window counts drawn from the training distribution or a shifted
one, and the deployment as the next pass reads it: shared by the drift unit and azureml integration tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlops_operator.api.v1alpha1 import ModelDeployment
from mlops_operator.drift.build import build_profile
from mlops_operator.drift.profile import Profile
from mlops_operator.monitoring.drift_driver import DriftPass

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


def after(md: ModelDeployment, result: DriftPass) -> ModelDeployment:
    """The deployment as the next pass reads it: this pass's status.drift and DataDrift condition written."""
    condition = {
        "type": "DataDrift",
        "status": result.verdict.status,
        "reason": result.verdict.reason,
        "message": result.verdict.message,
        "observedGeneration": md.metadata.generation,
        "lastTransitionTime": "2026-12-01T12:00:00Z",
    }
    status = {"conditions": [condition]}
    if result.status is not None:
        status["drift"] = result.status.model_dump(by_alias=True, mode="json", exclude_none=True)
    elif md.status and md.status.drift:
        status["drift"] = md.status.drift.model_dump(by_alias=True, mode="json", exclude_none=True)
    return md.model_copy(
        update={"status": type(md).model_validate({**md.model_dump(by_alias=True), "status": status}).status}
    )

"""Plot the drift trace kept by the real-node drift test (MLOPS_DRIFT_TRACE=DIR) for docs/drift.md.

  MLOPS_DRIFT_TRACE=/tmp/drift-trace .venv/bin/pytest -m drift tests/integration/realnode
  .venv/bin/python bench/drift_plot.py /tmp/drift-trace docs/img

The trace is status.drift sampled every 0.5 s (each feature's Jensen-Shannon distance at the last check,
and the DataDrift condition) with the phase of the load (training rows or shifted rows).
matplotlib: `pip install .[docs]`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SHOWN = ("bmi", "s5")  # the shifted features; the others are drawn as their maximum


def series(samples: list[dict[str, Any]]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"t": [], **{name: [] for name in SHOWN}, "others": [], "drift": []}
    for sample in samples:
        values = sample["values"]
        if not values:
            continue
        out["t"].append(sample["t"])
        for name in SHOWN:
            out[name].append(values.get(name) or 0.0)
        out["others"].append(max((v or 0.0) for k, v in values.items() if k not in SHOWN))
        out["drift"].append(1.0 if sample["dataDrift"] == "True" else 0.0)
    return out


def plot(trace: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = series(trace["samples"])
    shifted, restored = trace["events"]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5), sharex=True, height_ratios=[3, 1])
    for axis in (top, bottom):
        axis.axvspan(shifted, restored, color="tab:orange", alpha=0.12, label="shifted rows sent")
    for name in SHOWN:
        top.step(data["t"], data[name], where="post", label=f"{name} (shifted)")
    top.step(data["t"], data["others"], where="post", label="max of the 8 other features", color="tab:gray")
    top.axhline(trace["threshold"], color="tab:red", linestyle="--", label="threshold")
    top.set_ylabel("Jensen-Shannon distance")
    top.legend(loc="upper left", fontsize=8)
    top.set_title(
        f"A drift episode on a real pod (checks every {trace['interval']} s over a {trace['interval']} s window)"
    )
    bottom.step(data["t"], data["drift"], where="post", color="tab:purple")
    bottom.set_yticks([0, 1], ["False", "True"])
    bottom.set_ylabel("DataDrift")
    bottom.set_xlabel("seconds")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main(source: str, target: str) -> None:
    trace = json.loads(Path(source, "drift.json").read_text())
    Path(target).mkdir(parents=True, exist_ok=True)
    plot(trace, Path(target, "drift-episode.png"))
    print(f"wrote {Path(target, 'drift-episode.png')}")


if __name__ == "__main__":
    main(*sys.argv[1:3])

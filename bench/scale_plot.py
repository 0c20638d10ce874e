"""Ready ModelDeployments over time for bench/operator_scale.py (matplotlib: `pip install .[docs]`)."""

from __future__ import annotations

from pathlib import Path


def plot_ready(path: Path, timeline: list[tuple[float, int]], floor_s: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 3.5))
    if timeline:
        start = timeline[0][0]
        axes.step([t - start for t, _ in timeline], [n for _, n in timeline], where="post", label="operator: Ready")
        axes.axvline(floor_s, color="grey", linestyle="--", label=f"floor: all available ({floor_s:.0f} s)")
    axes.set_xlabel("seconds since the first apply")
    axes.set_ylabel("ModelDeployments Ready")
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=120)

"""Ready ModelDeployments over time for bench/operator_scale.py (matplotlib: `pip install .[docs]`)."""

from __future__ import annotations

from pathlib import Path


def plot_ready(path: Path, timeline: list[tuple[float, int]], floor_available_at: list[float]) -> None:
    """Operator: ModelDeployments Ready since the first apply; floor: Deployments available since its first."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 3.5))
    peak = max((n for _, n in timeline), default=0)
    shown = timeline[: next((i + 1 for i, (_, n) in enumerate(timeline) if n == peak), len(timeline))]
    times, counts = [t for t, _ in shown], [n for _, n in shown]  # up to all Ready: idle and waves follow
    axes.step(times, counts, where="post", label="operator: ModelDeployments Ready")
    floor = sorted(floor_available_at)
    axes.step(floor, range(1, len(floor) + 1), where="post", linestyle="--", label="floor: Deployments available")
    axes.set_xlabel("seconds since the first apply")
    axes.set_ylabel("count")
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=120)

"""Plot a rollout trace kept by the real-node rollout tests (MLOPS_ROLLOUT_TRACE=DIR) for docs/rollouts.md.

  MLOPS_ROLLOUT_TRACE=/tmp/rollout-trace .venv/bin/pytest -m rollout tests/integration/realnode
  .venv/bin/python bench/rollout_plot.py /tmp/rollout-trace docs/img

Each trace is green's share in force (status.traffic, sampled every 0.5 s) and every answer of the bounded
load (time, status, the deployment that answered); the plot shows the share, the share of answers green
actually served and the error ratio, per second. matplotlib: `pip install .[docs]`.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any


def per_second(answers: list[dict[str, Any]], start: float) -> dict[str, list[float]]:
    """Per second with answers: the share answered by green, the error ratio of all requests and of green's
    (what the gate measures), in percent."""
    total, green, failed, green_failed = Counter[int](), Counter[int](), Counter[int](), Counter[int]()
    for answer in answers:
        second, bad = int(answer["t"] - start), not 200 <= answer["status"] < 300
        total[second] += 1
        green[second] += answer["deployment"] == "green"
        failed[second] += bad
        green_failed[second] += bad and answer["deployment"] == "green"
    seconds = sorted(total)
    return {
        "seconds": [float(s) for s in seconds],
        "green": [100 * green[s] / total[s] for s in seconds],
        "failed": [100 * failed[s] / total[s] for s in seconds],
        "green_failed": [100 * green_failed[s] / green[s] if green[s] else 0.0 for s in seconds],
    }


def plot(trace: dict[str, Any], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples, answers = trace["samples"], trace["answers"]
    start = min([s["t"] for s in samples] + [a["t"] for a in answers])
    rates = per_second(answers, start)
    seconds = rates["seconds"]
    figure, axes = plt.subplots(figsize=(7.5, 3.5))
    axes.step(
        [s["t"] - start for s in samples],
        [s["green"] for s in samples],
        where="post",
        label="green's share in force (%)",
    )
    axes.plot(seconds, rates["green"], linewidth=0.8, alpha=0.7, label="answers from green (%/s)")
    axes.plot(seconds, rates["green_failed"], color="tab:purple", linewidth=1, label="green's error ratio (%/s)")
    axes.plot(seconds, rates["failed"], color="tab:red", linewidth=1.2, label="failed requests, all (%/s)")
    axes.set_xlabel("seconds since the load started")
    axes.set_ylabel("percent")
    axes.set_ylim(-2, 102)
    axes.set_title(title, fontsize=10)
    axes.legend(loc="center right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main(trace_dir: Path, out_dir: Path) -> None:
    titles = {"promoted": "A healthy candidate promoted", "rolled-back": "A candidate failing 20 % rolled back"}
    for name, title in titles.items():
        source = trace_dir / f"{name}.json"
        if source.exists():
            target = out_dir / f"rollout-{name}.png"
            plot(json.loads(source.read_text()), title, target)
            print(f"wrote {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))

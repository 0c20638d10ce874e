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


def per_second(answers: list[dict[str, Any]], start: float) -> tuple[list[int], list[float], list[float]]:
    """(second, share answered by green in %, error ratio in %) for each second with answers."""
    total, green, failed = Counter[int](), Counter[int](), Counter[int]()
    for answer in answers:
        second = int(answer["t"] - start)
        total[second] += 1
        green[second] += answer["deployment"] == "green"
        failed[second] += not 200 <= answer["status"] < 300
    seconds = sorted(total)
    return (
        seconds,
        [100 * green[s] / total[s] for s in seconds],
        [100 * failed[s] / total[s] for s in seconds],
    )


def plot(trace: dict[str, Any], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples, answers = trace["samples"], trace["answers"]
    start = min([s["t"] for s in samples] + [a["t"] for a in answers])
    seconds, served, errors = per_second(answers, start)
    figure, axes = plt.subplots(figsize=(7.5, 3.5))
    axes.step(
        [s["t"] - start for s in samples],
        [s["green"] for s in samples],
        where="post",
        label="green's share in force (%)",
    )
    axes.plot(seconds, served, linewidth=0.8, alpha=0.7, label="answers from green (%/s)")
    axes.plot(seconds, errors, color="tab:red", linewidth=1.2, label="failed requests (%/s)")
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

"""Plot the per-region traffic of a multi-region failover trace for docs/multi-region.md.

  MLOPS_MULTIREGION_TRACE=/tmp/mr .venv/bin/pytest -m multiregion tests/integration/realnode
  .venv/bin/python bench/multiregion_plot.py /tmp/mr-churn.json docs/img/multiregion-gateway-stop.png

The trace is every answer of the bounded load through the global URL (monotonic time, HTTP status, the region
that answered) and the test's marks (gateway stopped, region taken out, restarted, restored). The plot shows
answers per second per region and the failed ones. matplotlib: `pip install .[docs]`.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

COLOURS = {"eastus": "tab:blue", "westus": "tab:orange", "failed": "tab:red"}


def per_second(answers: list[list[Any]], start: float) -> dict[str, dict[int, int]]:
    """Answers per whole second since `start`, by region, failures apart."""
    counts: dict[str, Counter[int]] = {}
    for t, status, region in answers:
        key = region if status == 200 else "failed"
        counts.setdefault(key, Counter())[int(t - start)] += 1
    return {key: dict(counter) for key, counter in counts.items()}


def plot(trace: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    answers, marks = trace["answers"], trace["marks"]
    start = min(t for t, _, _ in answers)
    series = per_second(answers, start)
    end = int(max(t for t, _, _ in answers) - start) + 1
    figure, axes = plt.subplots(figsize=(7.5, 3.5))
    for key in sorted(series, key=lambda k: (k == "failed", k)):
        seconds = list(range(end))
        axes.plot(seconds, [series[key].get(s, 0) for s in seconds], label=key, color=COLOURS.get(key))
    for name, at in marks.items():
        axes.axvline(at - start, color="grey", linestyle=":", linewidth=1)
        axes.annotate(name, (at - start, axes.get_ylim()[1]), rotation=90, va="top", ha="right", fontsize=8)
    failed = sum(1 for _, status, _ in answers if status != 200)
    axes.set_title(f"answers per region through the global URL: {len(answers)} requests, {failed} failed", fontsize=9)
    axes.set_xlabel("seconds")
    axes.set_ylabel("answers per second")
    axes.legend(loc="center right")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__)
        return 2
    plot(json.loads(Path(argv[1]).read_text()), Path(argv[2]))
    print(f"wrote {argv[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

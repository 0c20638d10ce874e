"""Plot the traces kept by the real-node autoscaling tests (MLOPS_AUTOSCALING_TRACE=DIR) for docs/autoscaling.md.

  MLOPS_KEDA=1 MLOPS_AUTOSCALING_TRACE=/tmp/autoscaling-trace .venv/bin/pytest -m autoscaling tests/integration/realnode
  .venv/bin/python bench/autoscaling_plot.py /tmp/autoscaling-trace docs/img

Each trace is sampled every second: the load (requests sent in the last second, or the GPU work the DCGM
stand-in shares out), the metric as KEDA's query reads it from Prometheus, and the ModelDeployment's
status.replicas (desired and ready). matplotlib: `pip install .[docs]`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

RUNS = (("requests-per-second", "requestsPerSecond: real requests"), ("gpu-utilization", "gpuUtilization: DCGM"))


def column(samples: list[dict[str, Any]], key: str) -> list[float]:
    return [float(s[key]) if s.get(key) is not None else float("nan") for s in samples]


def plot(traces: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [(name, title) for name, title in RUNS if name in traces]
    figure, axes = plt.subplots(2, len(shown), figsize=(6 * len(shown), 5), sharex="col", squeeze=False)
    for index, (name, title) in enumerate(shown):
        trace = traces[name]
        samples, top, bottom = trace["samples"], axes[0][index], axes[1][index]
        t = column(samples, "t")
        top.plot(t, column(samples, "load"), label=f"load ({trace['unit']})", color="tab:gray")
        top.plot(t, column(samples, "metric"), label="metric KEDA reads", color="tab:blue")
        top.axhline(trace["target"], color="tab:red", linestyle="--", label="target per pod")
        top.set_title(title)
        top.legend(loc="upper right", fontsize=8)
        bottom.step(t, column(samples, "desired"), where="post", label="desired", color="tab:orange")
        bottom.step(t, column(samples, "ready"), where="post", label="ready", color="tab:green")
        bottom.set_ylim(0, trace["max"] + 0.5)
        bottom.set_ylabel("replicas")
        bottom.set_xlabel("seconds")
        bottom.legend(loc="upper right", fontsize=8)
        for what, at in trace["marks"].items():
            for axis in (top, bottom):
                axis.axvline(at, color="black", alpha=0.2)
            bottom.annotate(what, (at, 0.2), fontsize=7, rotation=90)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main(source: str, target: str) -> None:
    traces = {name: json.loads(p.read_text()) for name, _ in RUNS if (p := Path(source, f"{name}.json")).is_file()}
    if not traces:
        raise SystemExit(f"no traces in {source}: run the tests with MLOPS_AUTOSCALING_TRACE={source}")
    Path(target).mkdir(parents=True, exist_ok=True)
    plot(traces, Path(target, "autoscaling.png"))
    print(f"wrote {Path(target, 'autoscaling.png')}")


if __name__ == "__main__":
    main(*sys.argv[1:3])

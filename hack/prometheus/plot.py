"""Draw what a real Prometheus scraped during a metrics test run (docs/observability.md's picture).

Called by tests/integration/native_backend/test_prometheus_sees_the_operator_and_a_scoring_server.py when
MLOPS_METRICS_PLOT=<file.png> is set; needs matplotlib (the `docs` extra).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

PANELS = (
    (
        "/score requests (total, by status class)",
        'sum by (code) (mlops_scoring_requests_total{route="score"})',
        "{code}",
    ),
    (
        "ModelDeployment reconciles (total, by result)",
        'sum by (result) (mlops_operator_reconciles_total{kind="ModelDeployment"})',
        "{result}",
    ),
    ("Kubernetes API requests (total, by verb)", "sum by (verb) (mlops_operator_kube_requests_total)", "{verb}"),
    (
        "/score p99 latency, seconds (5 s window)",
        "histogram_quantile(0.99, sum by (le) (rate(mlops_scoring_request_duration_seconds_bucket[5s])))",
        "p99",
    ),
    ("MLOpsModelHighLatency alert (1 = firing)", 'ALERTS{alertname="MLOpsModelHighLatency"}', "{alertstate}"),
)


class RangeQueries(Protocol):
    def series(self, expr: str, start: float, end: float, step: str = "1s") -> list[dict[str, Any]]: ...


def plot_run(prometheus: RangeQueries, start: float, end: float, target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(PANELS), 1, figsize=(9, 2.2 * len(PANELS)), sharex=True)
    for axis, (title, expr, legend) in zip(axes, PANELS, strict=True):
        for series in prometheus.series(expr, start, end):
            points = [(float(t) - start, float(v)) for t, v in series["values"]]  # NaN (no data) breaks the line
            label = legend.format(**series["metric"])  # markers: a series one sample long is still seen
            axis.step([t for t, _ in points], [v for _, v in points], where="post", marker=".", label=label)
        axis.set_title(title, fontsize=10)
        axis.legend(loc="upper left", fontsize=8)
        axis.grid(alpha=0.3)
    axes[-1].set_xlabel("seconds since the test module started (scraped every second by Prometheus v0.316.0)")
    figure.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=100)
    plt.close(figure)

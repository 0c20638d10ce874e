"""Prometheus and promtool built from their Go module (hack/prometheus/build.sh, cached), and the chart
rendered with every observability switch on. Everything here carries the `metrics` marker."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BUILD_TIMEOUT_S = 1800
ALL_ON = (
    "metrics.prometheusRule.enabled=true",
    "metrics.podMonitor.enabled=true",
    "metrics.podMonitor.scoringPods=true",
    "metrics.dashboard.enabled=true",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.metrics)


def _built(script: str) -> Path:
    """The directory a hack/*/build.sh prints last (building on a cold cache, outside any test timeout)."""
    result = subprocess.run(
        [str(REPO / "hack" / script)], capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"hack/{script} failed:\n{result.stderr[-4000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def prometheus_bin() -> Path:
    return _built("prometheus/build.sh") / "bin"


@pytest.fixture(scope="session")
def rendered_chart() -> list[dict[str, Any]]:
    helm = os.environ.get("HELM") or str(_built("controlplane/build.sh") / "bin" / "helm")
    argv = [helm, "template", "mlops", str(REPO / "charts" / "mlops-operator"), "--namespace", "mlops-system"]
    for value in ALL_ON:
        argv += ["--set", value]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=120).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.fixture
def rules_file(rendered_chart: list[dict[str, Any]], tmp_path: Path) -> Path:
    """The PrometheusRule's groups as a plain Prometheus rules file."""
    [rule] = [doc for doc in rendered_chart if doc["kind"] == "PrometheusRule"]
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}, sort_keys=False))
    return path

"""A real Prometheus (hack/prometheus/build.sh) as a local process for the metrics tests, and its HTTP API.

It listens on 127.0.0.1 only and scrapes what the test's config names: static 127.0.0.1 targets here;
tests/integration/realnode may add the kubernetes_sd job for pods on the real node.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from mlops_operator.devcluster.process import LOOPBACK, ManagedProcess, free_ports

REPO = Path(__file__).resolve().parents[2]
START_DEADLINE_S = 60.0
BUILD_TIMEOUT_S = 1800


def prometheus_bin() -> Path:
    """bin/ with prometheus and promtool; builds them on a cold cache (minutes)."""
    result = subprocess.run(
        [str(REPO / "hack" / "prometheus" / "build.sh")],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"hack/prometheus/build.sh failed:\n{result.stderr[-4000:]}")
    return Path(result.stdout.strip().splitlines()[-1]) / "bin"


class Prometheus:
    """One Prometheus server with a fresh TSDB under `work_dir`."""

    def __init__(self, bin_dir: Path, work_dir: Path, config: dict[str, Any]) -> None:
        self.port = free_ports(1)[0]
        self.url = f"http://{LOOPBACK}:{self.port}"
        work_dir.mkdir(parents=True, exist_ok=True)
        config_file = work_dir / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        argv = [
            str(bin_dir / "prometheus"), f"--config.file={config_file}", f"--storage.tsdb.path={work_dir / 'data'}",
            f"--web.listen-address={LOOPBACK}:{self.port}", "--log.level=warn",
        ]  # fmt: skip
        self.process = ManagedProcess("prometheus", argv, work_dir / "prometheus.log")

    def start(self) -> Prometheus:
        self.process.start(die_with_parent=True)
        self.process.wait_ready(self._ready, time.monotonic() + START_DEADLINE_S)
        return self

    def stop(self) -> None:
        self.process.stop()

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def api(self, path: str, **params: str) -> Any:
        """GET /api/v1/<path>; the `data` of a success, else AssertionError with Prometheus's error."""
        url = f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = json.load(response)
        except urllib.error.HTTPError as err:
            body = json.load(err)
        assert body["status"] == "success", f"{path} {params}: {body.get('errorType')}: {body.get('error')}"
        return body["data"]

    def value(self, expr: str) -> float | None:
        """The single value of an instant query (None when it returns no series)."""
        result = self.api("query", query=expr)["result"]
        assert len(result) <= 1, f"{expr} returned {len(result)} series"
        return float(result[0]["value"][1]) if result else None

    def series(self, expr: str, start: float, end: float, step: str = "1s") -> list[dict[str, Any]]:
        """A range query's series: [{"metric": {...}, "values": [[t, "v"], ...]}]."""
        data = self.api("query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}", step=step)
        result: list[dict[str, Any]] = data["result"]
        return result

    def targets_up(self) -> dict[str, str]:
        """job -> health of every active target."""
        return {t["labels"]["job"]: t["health"] for t in self.api("targets")["activeTargets"]}


def chart_rules(*values: str) -> dict[str, Any]:
    """The chart's PrometheusRule groups as a rules file, rendered by helm with `values` (key=JSON value)."""
    controlplane = subprocess.run(
        [str(REPO / "hack" / "controlplane" / "build.sh")], capture_output=True, text=True, check=True, timeout=60
    )
    helm = Path(controlplane.stdout.strip().splitlines()[-1]) / "bin" / "helm"
    argv = [str(helm), "template", "mlops", str(REPO / "charts" / "mlops-operator"), "--namespace", "mlops-system"]
    for value in ("metrics.prometheusRule.enabled=true", *values):
        argv += ["--set-json", value]  # JSON: plain --set leaves 0.25 a string, which the schema refuses
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=120).stdout
    [rule] = [doc for doc in yaml.safe_load_all(out) if doc and doc["kind"] == "PrometheusRule"]
    return {"groups": rule["spec"]["groups"]}


def compressed(rules: dict[str, Any], window: str, hold: str) -> dict[str, Any]:
    """The same rules with their 5m rate windows and `for` durations shortened, so a test sees them fire."""
    text = yaml.safe_dump(rules, sort_keys=False).replace("[5m]", f"[{window}]")
    groups = yaml.safe_load(text)
    for group in groups["groups"]:
        for rule in group["rules"]:
            if rule.get("for") == "5m":
                rule["for"] = hold
    return dict(groups)

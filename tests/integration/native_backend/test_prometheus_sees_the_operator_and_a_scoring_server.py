"""A real Prometheus scrapes the operator (under KopfRunner, /metrics on 127.0.0.1) and a local scoring
server: request counts equal the requests sent, reconcile counts rise on a change and stay flat when idle,
and every dashboard query is valid PromQL on the real series.

Targets are static 127.0.0.1 addresses here: no pod runs (kwok's pods have fake IPs and are never
contacted). The labels a kubernetes_sd job would add from pod labels are given as static labels; that job
(render/prometheus.py) is for the real node. Set MLOPS_METRICS_PLOT=<file.png> to draw what was scraped.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from polling import wait_for
from prometheus_server import Prometheus, chart_rules, compressed, prometheus_bin

from mlops_operator.devcluster.process import LOOPBACK, ManagedProcess, child_env, free_ports
from mlops_operator.kube import Kube
from mlops_operator.render.prometheus import prometheus_config, static_scrape_config

from .helpers import (
    apply_platform,
    create_model_files,
    model_deployment,
    start_operator,
    wait_condition,
    wait_no_terminating_namespaces,
)

pytestmark = pytest.mark.metrics
REPO = Path(__file__).resolve().parents[3]
SCORE_SCRIPT = REPO / "tests" / "integration" / "gateway" / "scripts" / "score.py"
DASHBOARD = REPO / "charts" / "mlops-operator" / "dashboards" / "mlops.json"
REQUESTS = 25
SCRAPE = "1s"
IDLE_S = 8.0
STEADY_S = 10  # seconds of an unmoving reconcile count before the idle period starts
SLOW_THRESHOLD_S = 0.25
SLOW_RUN_S = 0.5


def start_scorer(port: int, work_dir: Path) -> ManagedProcess:
    argv = [
        sys.executable, "-m", "mlops_operator.scoring", "--entry-script", str(SCORE_SCRIPT),
        "--host", LOOPBACK, "--port", str(port), "--workers", "1", "--log-level", "WARNING",
    ]  # fmt: skip
    env = child_env({"PYTHONPATH": str(REPO / "operator"), "AML_APP_ROOT": str(work_dir)})
    process = ManagedProcess("scorer", argv, work_dir / "scorer.log", env=env)
    process.start(die_with_parent=True)
    process.wait_ready(lambda: call(port, "GET", "/readiness") == 200, time.monotonic() + 60)
    return process


def call(port: int, method: str, path: str, body: bytes | None = None) -> int | None:
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=10)
    try:
        connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


@pytest.fixture(scope="module")
def stack(kubeconfig_env: str, kube: Kube, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Operator, scoring server and Prometheus scraping both every second; torn down in reverse."""
    work = tmp_path_factory.mktemp("metrics")
    metrics_port, scorer_port = free_ports(2)
    saved = {
        k: os.environ.get(k) for k in ("MLOPS_METRICS_PORT", "MLOPS_METRICS_ADDRESS", "MLOPS_DRIFT_INTERVAL_SECONDS")
    }
    # No drift timer during the test: "idle" means no change, and a drift pass would be one.
    os.environ.update(MLOPS_METRICS_PORT=str(metrics_port), MLOPS_METRICS_ADDRESS=LOOPBACK)
    os.environ["MLOPS_DRIFT_INTERVAL_SECONDS"] = "3600"
    scorer = start_scorer(scorer_port, work)
    jobs = [
        static_scrape_config("mlops-operator", [f"{LOOPBACK}:{metrics_port}"], SCRAPE),
        static_scrape_config(
            "mlops-scoring",
            [f"{LOOPBACK}:{scorer_port}"],
            SCRAPE,
            namespace="ml",
            endpoint="scoring",
            deployment="blue",
        ),
    ]
    # The chart's rules, 5m windows shortened to 10s and `for: 5m` to 5s, latency threshold 0.25 s.
    rules = compressed(chart_rules(f"metrics.prometheusRule.latencyP99Seconds={SLOW_THRESHOLD_S}"), "10s", "5s")
    (work / "rules.yaml").write_text(yaml.safe_dump(rules, sort_keys=False))
    config = prometheus_config(jobs, rule_files=[str(work / "rules.yaml")], evaluation_interval="1s")
    prometheus = Prometheus(prometheus_bin(), work / "prometheus", config)
    apply_platform(kube)
    try:
        prometheus.start()
        with start_operator() as runner:
            wait_for(lambda: set(prometheus.targets_up().values()) == {"up"}, 30, "both targets up")
            stack_started = time.time()
            yield {"prometheus": prometheus, "scorer_port": scorer_port, "runner": runner}
            plot_if_asked(prometheus, stack_started)
        assert runner.exception is None, runner.exception
    finally:
        prometheus.stop()
        scorer.stop()
        restore(saved)


def restore(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def test_scoring_request_counts_equal_the_requests_sent(stack: dict[str, Any]) -> None:
    prometheus: Prometheus = stack["prometheus"]
    statuses = [call(stack["scorer_port"], "POST", "/score", b"{}") for _ in range(REQUESTS)]
    assert statuses == [200] * REQUESTS

    query = 'sum(mlops_scoring_requests_total{job="mlops-scoring", route="score", deployment="blue"})'
    wait_for(lambda: prometheus.value(query) == REQUESTS, 30, f"Prometheus to count {REQUESTS} requests")
    assert prometheus.value('sum(mlops_scoring_requests_total{route="score", code="2xx"})') == REQUESTS
    assert prometheus.value("sum(mlops_scoring_request_duration_seconds_count)") == REQUESTS
    assert prometheus.value("sum(mlops_scoring_request_payload_bytes_count)") == REQUESTS


def reconciles(prometheus: Prometheus) -> float:
    return prometheus.value('sum(mlops_operator_reconciles_total{kind="ModelDeployment"})') or 0.0


def test_reconcile_counts_rise_on_a_change_and_stay_flat_when_idle(
    stack: dict[str, Any], kube: Kube, namespace: str
) -> None:
    prometheus: Prometheus = stack["prometheus"]
    create_model_files(kube, namespace)
    kube.create(model_deployment(namespace, "blue", traffic=100))
    wait_condition(kube, namespace, "blue", "Ready", "True")
    wait_no_terminating_namespaces(kube)  # the count is cluster-wide: other tests' deletions would move it
    settled = wait_for(lambda: steady(prometheus), 60, "reconcile count steady for a few scrapes")

    start = time.time()
    time.sleep(IDLE_S)  # idle on purpose: the assertion is that nothing moves during it
    idle = prometheus.series('sum(mlops_operator_reconciles_total{kind="ModelDeployment"})', start, time.time())
    assert {float(v) for _, v in idle[0]["values"]} == {settled}

    kube.patch_merge("mlops.dev/v1alpha1", "ModelDeployment", "blue", namespace, {"spec": {"instanceCount": 2}})
    wait_for(lambda: reconciles(prometheus) > settled, 30, "the change to show as more reconciles")
    assert (prometheus.value('sum(mlops_operator_kube_requests_total{verb="PATCH"})') or 0) > 0


def steady(prometheus: Prometheus) -> float | None:
    """The reconcile count when it has not moved over the last STEADY_S of scrapes (and is non-zero).

    Ready is not the end of a deployment's events: the controllers keep writing its children's status for a
    few seconds more (ReplicaSet, PodDisruptionBudget), and each such change rightly wakes a pass. 3 s of
    calm was sometimes one of those gaps (CI, 2026-12-02: 30 -> 31 during the idle period)."""
    values = prometheus.series(
        'sum(mlops_operator_reconciles_total{kind="ModelDeployment"})', time.time() - STEADY_S, time.time()
    )
    points = {float(v) for _, v in values[0]["values"]} if values else set()
    return points.pop() if len(points) == 1 and values and len(values[0]["values"]) >= STEADY_S - 1 else None


def test_every_dashboard_query_is_valid_promql_on_the_real_series(stack: dict[str, Any]) -> None:
    prometheus: Prometheus = stack["prometheus"]
    panels = json.loads(DASHBOARD.read_text())["panels"]
    for panel in panels:
        for target in panel["targets"]:
            expr = target["expr"].replace("$__rate_interval", "1m").replace("$namespace", ".*")
            prometheus.api("query", query=expr.replace("$deployment", ".*"))  # raises with Prometheus's error


def plot_if_asked(prometheus: Prometheus, start: float) -> None:
    """MLOPS_METRICS_PLOT=<png>: what Prometheus scraped during the module, drawn by hack/prometheus/plot.py."""
    target = os.environ.get("MLOPS_METRICS_PLOT")
    if not target:
        return
    # The rule evaluation that turned the alert to firing is recorded as ALERTS a moment later: draw it too.
    wait_for(lambda: prometheus.value('count(ALERTS{alertstate="firing"})'), 10, "ALERTS to record the firing")
    sys.path.insert(0, str(REPO / "hack" / "prometheus"))
    from plot import plot_run

    plot_run(prometheus, start, time.time() + 1, Path(target))  # +1: the last 1 s step must reach the firing


def firing(prometheus: Prometheus, name: str) -> list[dict[str, str]]:
    alerts = prometheus.api("alerts")["alerts"]
    return [a["labels"] for a in alerts if a["labels"]["alertname"] == name and a["state"] == "firing"]


def test_the_latency_alert_fires_on_a_slow_run(stack: dict[str, Any]) -> None:
    """End to end with the chart's own rule (windows compressed): run() sleeping 0.5 s against 0.25 s."""
    prometheus: Prometheus = stack["prometheus"]
    body = json.dumps({"sleep_s": SLOW_RUN_S}).encode()
    assert not firing(prometheus, "MLOpsModelHighLatency")  # fast requests so far

    def slow_request_then_check() -> list[dict[str, str]]:
        assert call(stack["scorer_port"], "POST", "/score", body) == 200
        return firing(prometheus, "MLOpsModelHighLatency")

    [alert] = wait_for(slow_request_then_check, 60, "MLOpsModelHighLatency to fire")
    assert (alert["namespace"], alert["endpoint"], alert["deployment"]) == ("ml", "scoring", "blue")

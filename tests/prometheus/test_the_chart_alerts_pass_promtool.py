"""The rendered PrometheusRule passes `promtool check rules`, and `promtool test rules` shows each alert
firing on the series it is about and staying quiet on the ones it is not (alerts.test.yaml)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from mlops_operator.render.prometheus import prometheus_config, scoring_pods_scrape_config, static_scrape_config

HERE = Path(__file__).resolve().parent
ALERTS = {
    "MLOpsModelHighLatency",
    "MLOpsModelHighErrorRatio",
    "MLOpsModelDeploymentNotReady",
    "MLOpsOperatorReconcileErrors",
    "MLOpsAzureThrottling",
}


def promtool(bin_dir: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / "promtool"), *args], capture_output=True, text=True, timeout=120, check=False, cwd=cwd
    )


def test_the_rendered_prometheus_rule_passes_promtool_check_rules(prometheus_bin: Path, rules_file: Path) -> None:
    result = promtool(prometheus_bin, "check", "rules", str(rules_file))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 5 rules found" in result.stdout


def test_every_alert_has_a_promtool_unit_test_that_fires_it_and_one_that_does_not(
    prometheus_bin: Path, rules_file: Path
) -> None:
    tests = shutil.copy(HERE / "alerts.test.yaml", rules_file.parent / "alerts.test.yaml")
    suite = yaml.safe_load(Path(tests).read_text())
    tested = {case["alertname"] for test in suite["tests"] for case in test["alert_rule_test"]}
    quiet = {c["alertname"] for t in suite["tests"] for c in t["alert_rule_test"] if not c["exp_alerts"]}

    result = promtool(prometheus_bin, "test", "rules", "alerts.test.yaml", cwd=rules_file.parent)

    assert result.returncode == 0, result.stdout + result.stderr
    assert tested == quiet == ALERTS


def test_the_latency_threshold_is_the_charts_value(rules_file: Path) -> None:
    groups: list[dict[str, Any]] = yaml.safe_load(rules_file.read_text())["groups"]
    [latency] = [r for g in groups for r in g["rules"] if r.get("alert") == "MLOpsModelHighLatency"]

    assert latency["expr"].strip().endswith("> 1")
    assert latency["for"] == "5m"


def test_the_scrape_configs_pass_promtool_check_config(prometheus_bin: Path, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "admin.kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    config = prometheus_config(
        [
            static_scrape_config("mlops-operator", ["127.0.0.1:8081"]),
            scoring_pods_scrape_config(str(kubeconfig), "mlops-node-0"),
        ]
    )
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))

    result = promtool(prometheus_bin, "check", "config", "--syntax-only", str(path))

    assert result.returncode == 0, result.stdout + result.stderr

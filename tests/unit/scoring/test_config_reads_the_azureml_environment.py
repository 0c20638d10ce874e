"""Settings come from Azure ML's environment names with upstream's defaults; flags override them."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from mlops_operator.scoring.cli import add_arguments, config_from, export_environment
from mlops_operator.scoring.config import ConfigError, cpu_quota, load_config

AZUREML_ENV = {
    "AZUREML_ENTRY_SCRIPT": "onlinescoring/score.py",
    "AZUREML_MODEL_DIR": "/var/azureml-app/models",
    "AML_APP_ROOT": "/var/azureml-app",
    "AZUREML_SOURCE_DIRECTORY": "onlinescoring",
    "SCORING_TIMEOUT_MS": "2500",
    "WORKER_COUNT": "3",
}


def test_azureml_names_are_read() -> None:
    config = load_config(AZUREML_ENV)
    assert config.script_path == "/var/azureml-app/onlinescoring/score.py"
    assert (config.model_dir, config.source_dir, config.scoring_timeout_ms) == (
        "/var/azureml-app/models",
        "onlinescoring",
        2500,
    )
    assert config.workers == 3


def test_defaults_are_upstreams() -> None:
    config = load_config({"AML_APP_ROOT": "/app"})
    assert (config.port, config.host, config.scoring_timeout_ms, config.threads) == (5001, "0.0.0.0", 3600000, 1)
    assert config.entry_script is None


def test_a_malformed_number_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="SCORING_TIMEOUT_MS"):
        load_config({"SCORING_TIMEOUT_MS": "soon"})


def write_cgroup(root: Path, cpu_max: str) -> str:
    root.mkdir(parents=True, exist_ok=True)
    (root / "cpu.max").write_text(cpu_max)
    return str(root)


@pytest.mark.parametrize(
    ("cpu_max", "available", "expected"),
    [
        ("200000 100000", 8, 2),
        ("150000 100000", 8, 2),
        ("50000 100000", 8, 1),
        ("max 100000", 8, 8),
        ("800000 100000", 4, 4),
    ],
)
def test_the_worker_default_follows_the_cgroup_cpu_quota(
    tmp_path: Path, cpu_max: str, available: int, expected: int
) -> None:
    assert cpu_quota(write_cgroup(tmp_path / "v2", cpu_max), available=available) == expected


def test_cgroup_v1_quota_is_understood(tmp_path: Path) -> None:
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("300000")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000")
    assert cpu_quota(str(tmp_path), available=16) == 3


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_flags_override_the_environment(tmp_path: Path) -> None:
    script = tmp_path / "score.py"
    args = parse("--entry-script", str(script), "--model-dir", "/models", "--port", "6000", "--workers", "2")
    config = config_from(args, AZUREML_ENV)
    assert (config.entry_script, config.model_dir, config.port, config.workers) == (str(script), "/models", 6000, 2)
    assert config.scoring_timeout_ms == 2500


def test_an_out_of_range_port_is_refused() -> None:
    with pytest.raises(SystemExit):
        parse("--port", "70000")


def test_the_effective_locations_are_exported_for_the_script() -> None:
    config = config_from(parse("--model-dir", "/models"), {"AML_APP_ROOT": "/app", "AZUREML_ENTRY_SCRIPT": "s.py"})
    env: dict[str, str] = {}
    export_environment(config, env)
    assert env == {"AML_APP_ROOT": "/app", "AZUREML_ENTRY_SCRIPT": "s.py", "AZUREML_MODEL_DIR": "/models"}

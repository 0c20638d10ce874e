"""`mlopsctl serve` and `python -m mlops_operator.scoring`: flags over the Azure ML environment names.

Flags override the environment; the resulting model directory, entry script and app root are exported
back into the environment because score scripts read them (`os.getenv("AZUREML_MODEL_DIR")` in init()).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, MutableMapping

from .config import DEFAULT_PORT, ConfigError, ScoringConfig, load_config

logger = logging.getLogger("mlops.scoring")

LOG_FORMAT = "%(asctime)s %(levelname).1s [%(process)d] %(name)s - %(message)s"


def _port(value: str) -> int:
    port = int(value)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is not within 1..65535")
    return port


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} must be at least 1")
    return number


def _non_negative(value: str) -> float:
    number = float(value)
    if not number >= 0:
        raise argparse.ArgumentTypeError(f"{number} must not be negative")
    return number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `serve` flags; each overrides the environment variable named in its help."""
    parser.add_argument("--entry-script", help="score.py to serve (AZUREML_ENTRY_SCRIPT, relative to AML_APP_ROOT)")
    parser.add_argument("--model-dir", help="model directory, exported as AZUREML_MODEL_DIR")
    parser.add_argument("--port", type=_port, help=f"port to listen on (default {DEFAULT_PORT})")
    parser.add_argument("--host", help="address to listen on (MLOPS_SCORING_HOST, default 0.0.0.0)")
    parser.add_argument("--workers", type=_positive, help="worker processes (WORKER_COUNT, default: CPU quota)")
    parser.add_argument("--threads", type=_positive, help="run() threads per worker (MLOPS_SCORING_THREADS, default 1)")
    parser.add_argument("--batch-max-size", type=_positive, help="inputs per run_batch() call (default 32)")
    parser.add_argument("--batch-max-wait-ms", type=_non_negative, help="wait for a fuller batch (default 0)")
    parser.add_argument("--no-batching", action="store_true", help="call run() even if run_batch() exists")
    parser.add_argument("--log-level", help="logging level (AZUREML_LOG_LEVEL, default INFO)")


def config_from(args: argparse.Namespace, env: Mapping[str, str]) -> ScoringConfig:
    """The environment's settings with the flags that were given laid over them."""
    config = load_config(env)
    changes: dict[str, object] = {}
    if args.entry_script:
        changes["entry_script"] = os.path.realpath(args.entry_script)
    if args.model_dir:
        changes["model_dir"] = args.model_dir
    for flag, field in (
        ("port", "port"),
        ("host", "host"),
        ("workers", "workers"),
        ("threads", "threads"),
        ("batch_max_size", "batch_max_size"),
        ("batch_max_wait_ms", "batch_max_wait_ms"),
    ):
        value = getattr(args, flag, None)
        if value is not None:
            changes[field] = value
    if getattr(args, "no_batching", False):
        changes["batching"] = False
    return config.replace(**changes)


def export_environment(config: ScoringConfig, env: MutableMapping[str, str]) -> None:
    """Publish the effective locations to the score script, as upstream's CLI does."""
    env.setdefault("AML_APP_ROOT", config.app_root)
    if config.entry_script:
        env["AZUREML_ENTRY_SCRIPT"] = config.entry_script
    if config.model_dir:
        env["AZUREML_MODEL_DIR"] = config.model_dir


def run(args: argparse.Namespace) -> int:
    """Serve until stopped; 0 after a graceful stop, 3 when the script cannot start, 2 for bad settings."""
    level = (args.log_level or os.environ.get("AZUREML_LOG_LEVEL") or "INFO").upper()
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=sys.stderr)
    try:
        config = config_from(args, os.environ)
    except ConfigError as ex:
        logger.error("Invalid configuration: %s", ex)
        return 2
    if config.entry_script is None and not os.path.exists(os.path.join(config.app_root, "main.py")):
        logger.error("No score script: give --entry-script or set AZUREML_ENTRY_SCRIPT")
        return 2
    export_environment(config, os.environ)
    from .server import serve  # imported late: `--help` should not pay for uvicorn

    return serve(config)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlops_operator.scoring", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))

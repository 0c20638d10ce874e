"""Scoring server settings: the Azure ML environment names, our few extras, and command-line overrides.

One frozen object, built once at start and passed explicitly; nothing reads the environment later. The
scoring server stands alone (its own image, no operator dependencies), so this is a dataclass rather than
the operator's pydantic-settings object.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from mlops_operator.drift.profile import Profile, parse_profile

DEFAULT_PORT = 5001
DEFAULT_HOST = "0.0.0.0"  # all interfaces, as upstream
DEFAULT_APP_ROOT_ENV_UNSET = "/var/azureml-app"
DEFAULT_SCORING_TIMEOUT_MS = 3600 * 1000
DEFAULT_MAX_REQUEST_BYTES = 100 * 1024 * 1024
DEFAULT_KEEPALIVE_S = 650.0  # longer than any load balancer's idle timeout, so they close first
DEFAULT_GRACEFUL_TIMEOUT_S = 30.0
# The deployment this server serves; Azure ML's router reports it in `azureml-model-deployment`, and behind
# a plain Gateway only the server itself knows it. Set by the operator on each ModelDeployment's pods.
DEPLOYMENT_NAME_ENV = "AZUREML_DEPLOYMENT_NAME"  # set by the operator on every scoring pod
# Data drift: the reference profile's path turns collection on; unset, the server pays nothing for it.
DRIFT_PROFILE_ENV = "MLOPS_DRIFT_PROFILE"
DRIFT_MAX_ROWS_ENV = "MLOPS_DRIFT_MAX_ROWS_PER_SECOND"
DEFAULT_DRIFT_MAX_ROWS_PER_SECOND = 2000  # per worker; CPU is capped separately (scoring/drift.py)


class ConfigError(ValueError):
    """A setting has a value the server cannot use; reported at start, before any worker runs."""


@dataclass(frozen=True, slots=True)
class ScoringConfig:
    """Everything a worker needs to load the score script and serve it."""

    entry_script: str | None
    model_dir: str | None
    app_root: str
    source_dir: str | None = None
    scoring_timeout_ms: int = DEFAULT_SCORING_TIMEOUT_MS
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int = 1
    threads: int = 1
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    batch_max_size: int = 32
    batch_max_wait_ms: float = 0.0
    batching: bool = True
    keys_dir: str | None = None
    keepalive_s: float = DEFAULT_KEEPALIVE_S
    graceful_timeout_s: float = DEFAULT_GRACEFUL_TIMEOUT_S
    service_name: str = "ML service"
    service_version: str = "1.0"
    service_path_prefix: str = ""
    server_version: str = ""
    deployment_name: str = ""
    """Sent back as `azureml-model-deployment` on every response, so clients see which deployment answered."""
    drift_profile: Profile | None = None
    """The reference profile served inputs are binned against (MLOPS_DRIFT_PROFILE); None: no collection."""
    drift_max_rows_per_second: int = DEFAULT_DRIFT_MAX_ROWS_PER_SECOND
    """Rows each worker bins per second at most; beyond that it samples (MLOPS_DRIFT_MAX_ROWS_PER_SECOND)."""

    @property
    def script_path(self) -> str | None:
        """Where the entry script is: relative entry scripts are under AML_APP_ROOT, as upstream."""
        if self.entry_script is None:
            return None
        return os.path.join(self.app_root, self.entry_script.replace("/", os.sep))

    def replace(self, **changes: object) -> ScoringConfig:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ConfigError(f"{name}={value} must be at least {minimum}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if value < 0 or math.isnan(value):
        raise ConfigError(f"{name}={value} must not be negative")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def cpu_quota(cgroup_root: str = "/sys/fs/cgroup", available: int | None = None) -> int:
    """CPUs this process may use: the cgroup quota (v2 `cpu.max` or v1 cfs), else the affinity mask.

    A pod limited to 2 CPUs on a 64-core node must not start 64 workers; that is why this reads the quota
    rather than `os.cpu_count()`.
    """
    if available is None:
        available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    root = Path(cgroup_root)
    quota: float | None = None
    try:
        fields = (root / "cpu.max").read_text().split()
        if fields and fields[0] != "max":
            quota = int(fields[0]) / int(fields[1])
    except (OSError, ValueError, IndexError):
        try:
            quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
            period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
            if quota_us > 0 and period_us > 0:
                quota = quota_us / period_us
        except (OSError, ValueError):
            quota = None
    if quota is None:
        return max(1, available)
    return max(1, min(available, math.ceil(quota)))


def _server_version(env: Mapping[str, str]) -> str:
    """The `x-ms-server-version` header value; upstream's switch (SERVER_VERSION_LOG_RESPONSE_ENABLED) applies."""
    if env.get("SERVER_VERSION_LOG_RESPONSE_ENABLED", "true").lower() != "true":
        return ""
    if env.get("HTTP_X_MS_SERVER_VERSION"):
        return env["HTTP_X_MS_SERVER_VERSION"]
    try:
        return f"mlops-scoring/{metadata.version('mlops-operator')}"
    except metadata.PackageNotFoundError:
        return "mlops-scoring"


def load_drift_profile(path: str | None) -> Profile | None:
    """The profile at `path` (None when unset), read once at start: a bad one stops the server, naming it.

    A missing file is not an error: the operator mounts the profile ConfigMap as optional (serving never waits
    on monitoring) and reports the missing ConfigMap on DataDrift; creating it rolls the pods, which then count."""
    if not path:
        return None
    try:
        text = Path(path).read_bytes()
    except FileNotFoundError:
        logging.getLogger("mlops.scoring").warning("%s=%s does not exist: no drift collection", DRIFT_PROFILE_ENV, path)
        return None
    except OSError as ex:
        raise ConfigError(f"{DRIFT_PROFILE_ENV}={path!r} cannot be read: {ex.strerror or ex}") from None
    try:
        return parse_profile(text)
    except (ValueError, TypeError) as ex:  # ProfileError names the field; float()/int() may fail on odd ones
        raise ConfigError(f"{DRIFT_PROFILE_ENV}={path!r} is not a usable drift profile: {ex}") from None


def load_config(env: Mapping[str, str]) -> ScoringConfig:
    """Read the Azure ML names (AZUREML_*, AML_APP_ROOT, SCORING_TIMEOUT_MS, WORKER_COUNT) and ours (MLOPS_*)."""
    app_root = env.get("AML_APP_ROOT") or os.getcwd()
    workers = _int(env, "WORKER_COUNT", 0, minimum=1) or cpu_quota()
    return ScoringConfig(
        entry_script=env.get("AZUREML_ENTRY_SCRIPT") or None,
        model_dir=env.get("AZUREML_MODEL_DIR") or None,
        app_root=app_root,
        source_dir=env.get("AZUREML_SOURCE_DIRECTORY") or None,
        scoring_timeout_ms=_int(env, "SCORING_TIMEOUT_MS", DEFAULT_SCORING_TIMEOUT_MS, minimum=1),
        host=env.get("MLOPS_SCORING_HOST") or DEFAULT_HOST,
        port=DEFAULT_PORT,
        workers=workers,
        threads=_int(env, "MLOPS_SCORING_THREADS", 1, minimum=1),
        max_request_bytes=_int(env, "MLOPS_SCORING_MAX_REQUEST_BYTES", DEFAULT_MAX_REQUEST_BYTES, minimum=1),
        batch_max_size=_int(env, "MLOPS_SCORING_BATCH_MAX_SIZE", 32, minimum=1),
        batch_max_wait_ms=_float(env, "MLOPS_SCORING_BATCH_MAX_WAIT_MS", 0.0),
        batching=_bool(env, "MLOPS_SCORING_BATCHING", True),
        keys_dir=env.get("MLOPS_KEYS_DIR") or None,
        keepalive_s=_float(env, "MLOPS_SCORING_KEEPALIVE_S", DEFAULT_KEEPALIVE_S),
        graceful_timeout_s=_float(env, "MLOPS_SCORING_GRACEFUL_TIMEOUT_S", DEFAULT_GRACEFUL_TIMEOUT_S),
        service_name=env.get("SERVICE_NAME", "ML service"),
        service_version=env.get("SERVICE_VERSION", "1.0"),
        service_path_prefix=env.get("SERVICE_PATH_PREFIX", ""),
        server_version=_server_version(env),
        deployment_name=env.get(DEPLOYMENT_NAME_ENV, "").strip(),
        drift_profile=load_drift_profile(env.get(DRIFT_PROFILE_ENV, "").strip()),
        drift_max_rows_per_second=_int(env, DRIFT_MAX_ROWS_ENV, DEFAULT_DRIFT_MAX_ROWS_PER_SECOND, minimum=1),
    )

"""Operator configuration: one pydantic-settings object, read once at start and passed explicitly."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from mlops_operator import __version__


class OperatorSettings(BaseSettings):
    """Settings from `MLOPS_*` environment variables (the Helm chart sets them)."""

    model_config = SettingsConfigDict(env_prefix="MLOPS_", extra="ignore")

    scoring_image: str = Field(
        f"ghcr.io/mlops-operator/scoring:{__version__}", description="Default image of the scoring server."
    )
    namespace: str = Field("mlops-system", description="Namespace the operator runs in (platform secrets live here).")
    drift_interval_seconds: float = Field(60.0, gt=0, description="How often every resource is re-reconciled.")
    progress_requeue_seconds: float = Field(5.0, gt=0, description="How soon to look again while rolling out.")
    progress_deadline_seconds: int = Field(600, ge=30, description="Deployment progress deadline.")
    peering: str | None = Field(
        None, description="kopf peering name for one active replica among several; standalone when empty."
    )
    liveness_port: int = Field(8080, description="Port of the operator's /healthz endpoint (0 disables it).")
    watch_timeout_seconds: int = Field(300, description="Server-side timeout of each watch request.")
    scoring_uid: int = Field(1000, description="User id the scoring containers run as.")

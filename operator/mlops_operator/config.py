"""Operator configuration: one pydantic-settings object, read once at start and passed explicitly."""

from __future__ import annotations

from typing import Literal

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
    platform_deletion_recheck_seconds: float = Field(
        3.0, gt=0, description="How often a platform whose deletion waits for its ModelDeployments looks again."
    )
    peering: str | None = Field(
        None, description="kopf peering name for one active replica among several; standalone when empty."
    )
    liveness_port: int = Field(8080, description="Port of the operator's /healthz endpoint (0 disables it).")
    metrics_port: int = Field(
        0, ge=0, description="Port of the operator's Prometheus /metrics endpoint; 0 disables it (the chart sets 8081)."
    )
    metrics_address: str = Field("0.0.0.0", description="Address the /metrics endpoint listens on.")
    log_format: Literal["json", "text"] = Field(
        "text", description="Operator log lines: `json` (one object per line, in-cluster) or `text` (humans)."
    )
    watch_timeout_seconds: int = Field(300, description="Server-side timeout of each watch request.")
    scoring_uid: int = Field(1000, description="User id the scoring containers run as.")
    prometheus_url: str | None = Field(
        None, description="Prometheus HTTP API the rollout gates query when a rollout names none."
    )
    # Azure (backend azureml). Defaults point at the public cloud; set these for sovereign clouds or Azure Stack.
    azure_resource_manager: str | None = Field(
        None, description="ARM endpoint URL, e.g. https://management.usgovcloudapi.net; public Azure when empty."
    )
    azure_authority_host: str | None = Field(
        None, description="Entra ID authority host for credentials, e.g. login.microsoftonline.us."
    )
    azure_storage_suffix: str = Field("core.windows.net", description="Blob storage DNS suffix of the cloud.")
    azure_ca_bundle: str | None = Field(None, description="Extra CA bundle (PEM) trusted for ARM and storage calls.")
    azure_poll_seconds: float = Field(15.0, gt=0, description="How soon to look again at an Azure operation.")
    azure_sdk_retries: int = Field(
        0, ge=0, description="Retries inside the Azure SDK; 0 lets the operator requeue (honouring Retry-After)."
    )
    azure_log_lines: int = Field(20, ge=0, le=500, description="Deployment log lines shown on an Azure failure.")

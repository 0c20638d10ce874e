"""The only place Azure SDK clients are built.

Clouds other than public Azure (sovereign clouds, Azure Stack, or any ARM-compatible endpoint) are selected
with `MLOPS_AZURE_RESOURCE_MANAGER`; `MLOPS_AZURE_CA_BUNDLE` adds a CA to the trusted set. SDK-internal
retries default to 0 so that throttling surfaces to the operator, which requeues after `Retry-After` instead
of sleeping inside a handler.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import certifi
from azure.ai.ml import MLClient
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.core.rest import HttpRequest
from azure.mgmt.cdn import CdnManagementClient
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.kubernetesconfiguration import SourceControlConfigurationClient

from mlops_operator.config import OperatorSettings
from mlops_operator.metrics import OperatorMetrics

PUBLIC_RESOURCE_MANAGER = "https://management.azure.com"


@dataclass(frozen=True)
class Cloud:
    """Where ARM is and which CAs to trust; derived from the operator settings."""

    resource_manager: str | None
    storage_suffix: str
    ca_bundle: str | None
    retries: int
    policies: tuple[Any, ...] = ()  # azure-core policies run on every HTTP attempt (metrics)

    @classmethod
    def from_settings(cls, settings: OperatorSettings, policies: tuple[Any, ...] = ()) -> Cloud:
        rm = settings.azure_resource_manager.rstrip("/") if settings.azure_resource_manager else None
        bundle = combined_ca_bundle(settings.azure_ca_bundle) if settings.azure_ca_bundle else None
        if bundle:
            # azure-ai-ml builds some clients itself without our kwargs (the ARM template deployment behind
            # workspaces.begin_create, blob uploads): only the process-wide setting reaches them.
            os.environ["REQUESTS_CA_BUNDLE"] = bundle
        return cls(rm, settings.azure_storage_suffix, bundle, settings.azure_sdk_retries, policies)

    @property
    def arm(self) -> str:
        return self.resource_manager or PUBLIC_RESOURCE_MANAGER

    def common_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"retry_total": self.retries}
        if self.policies:
            kwargs["per_retry_policies"] = list(self.policies)
        if self.ca_bundle:
            kwargs["connection_verify"] = self.ca_bundle
        return kwargs

    def ml_kwargs(self) -> dict[str, Any]:
        kwargs = self.common_kwargs()
        if self.resource_manager:
            # azure-ai-ml registers clouds process-wide by name; one name per ARM endpoint keeps them apart.
            kwargs["cloud"] = "mlops-" + urlsplit(self.resource_manager).netloc
            kwargs["cloud_metadata"] = {
                "azure_portal": self.resource_manager + "/",
                "resource_manager": self.resource_manager + "/",
                "active_directory": "https://login.microsoftonline.com/",
                "aml_resource_id": self.resource_manager + "/",
                "storage_endpoint": self.storage_suffix,
                "registry_discovery_endpoint": self.resource_manager + "/",
            }
        return kwargs

    def mgmt_kwargs(self) -> dict[str, Any]:
        kwargs = self.common_kwargs()
        if self.resource_manager:
            kwargs["base_url"] = self.resource_manager
            kwargs["credential_scopes"] = [self.resource_manager + "/.default"]
        return kwargs


class AzureMetricsPolicy(SansIOHTTPPolicy):  # type: ignore[type-arg]
    """Counts every ARM response by operation and HTTP status (429s included) on the operator's metrics."""

    def __init__(self, metrics: OperatorMetrics) -> None:
        self._metrics = metrics

    def on_response(self, request: Any, response: Any) -> None:
        http = request.http_request
        self._metrics.azure_request(operation_of(http.method, http.url), int(response.http_response.status_code))

    def on_exception(self, request: Any) -> None:
        http = request.http_request
        self._metrics.azure_request(operation_of(http.method, http.url), 0)  # no response: network, TLS


def operation_of(method: str, url: str) -> str:
    """A bounded label for an ARM request: the method and the resource types in its path, never names.

    `PUT .../providers/Microsoft.MachineLearningServices/workspaces/w/onlineEndpoints/e` ->
    `PUT workspaces/onlineEndpoints`; paths without a provider keep only their first segment.
    """
    segments = [s for s in urlsplit(url).path.split("/") if s]
    lowered = [s.lower() for s in segments]
    if "providers" not in lowered:
        return f"{method} {segments[0] if segments else ''}".strip()
    rest = segments[len(lowered) - lowered[::-1].index("providers") + 1 :]  # after providers/<namespace>/
    return f"{method} {'/'.join(rest[0::2])}"


_bundle_lock = threading.Lock()
_bundles: dict[str, str] = {}


def combined_ca_bundle(extra: str) -> str:
    """The CAs trusted so far (`REQUESTS_CA_BUNDLE`, else certifi's) plus `extra`, written once per process:
    an extra CA, not a replacement."""
    with _bundle_lock:
        if extra not in _bundles:
            base = os.environ.get("REQUESTS_CA_BUNDLE", "")
            base = base if base and Path(base).is_file() else certifi.where()
            combined = Path(base).read_text() + "\n" + Path(extra).read_text()
            handle = tempfile.NamedTemporaryFile("w", prefix="mlops-ca-", suffix=".pem", delete=False)  # noqa: SIM115
            with handle:
                handle.write(combined)
            _bundles[extra] = handle.name
        return _bundles[extra]


class AzureClients:
    """SDK clients for one subscription and credential, built on first use and then reused."""

    def __init__(self, credential: Any, subscription_id: str, cloud: Cloud) -> None:
        self.credential = credential
        self.subscription_id = subscription_id
        self.cloud = cloud
        self._lock = threading.Lock()
        self._ml: dict[tuple[str, str], Any] = {}
        self._aks: Any = None
        self._extensions: Any = None
        self._cdn: Any = None

    def ml(self, resource_group: str, workspace: str) -> Any:
        """An MLClient bound to one workspace."""
        with self._lock:
            key = (resource_group, workspace)
            if key not in self._ml:
                self._ml[key] = MLClient(
                    self.credential, self.subscription_id, resource_group, workspace, **self.cloud.ml_kwargs()
                )
            return self._ml[key]

    def aks(self) -> Any:
        with self._lock:
            if self._aks is None:
                self._aks = ContainerServiceClient(self.credential, self.subscription_id, **self.cloud.mgmt_kwargs())
            return self._aks

    def extensions(self) -> Any:
        with self._lock:
            if self._extensions is None:
                self._extensions = SourceControlConfigurationClient(
                    self.credential, self.subscription_id, **self.cloud.mgmt_kwargs()
                )
            return self._extensions

    def cdn(self) -> Any:
        """Azure Front Door (Microsoft.Cdn) for the GlobalEndpoint's global URL."""
        with self._lock:
            if self._cdn is None:
                self._cdn = CdnManagementClient(self.credential, self.subscription_id, **self.cloud.mgmt_kwargs())
            return self._cdn

    def arm_get(self, url: str) -> tuple[int, dict[str, Any]]:
        """GET an absolute ARM URL (an operation-status document) through the authenticated pipeline.

        The URL comes from the custom resource's status, so it is only followed to the configured ARM host:
        the bearer token must never go anywhere else.
        """
        if urlsplit(url).netloc.lower() != urlsplit(self.cloud.arm).netloc.lower():
            return 0, {}
        response = self.aks().send_request(HttpRequest("GET", url))
        try:
            body = json.loads(response.text() or "{}")
        except ValueError:
            body = {}
        return int(response.status_code), body if isinstance(body, dict) else {}

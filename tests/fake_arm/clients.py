"""How to point the real SDK clients at the fake, and an offline credential.

MLClient has no ``base_url``: it is pointed at the fake through a custom cloud (``cloud=`` +
``cloud_metadata=``, unique per server because azure-ai-ml registers clouds process-wide and never
overwrites them). The mgmt clients take ``base_url`` directly. All three trust the fake's CA through
``connection_verify=<ca.pem>`` (or process-wide ``REQUESTS_CA_BUNDLE``; note ``SSL_CERT_FILE`` is NOT read
by ``requests``, which uses certifi unless ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` is set).
``polling_interval=1`` only matters when a response lacks ``Retry-After`` (the fake always sends 1).
"""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo

FAKE_TENANT = "00000000-0000-0000-0000-000000000001"


class StaticTokenCredential:
    """A TokenCredential that never talks to Entra ID; records the scopes it was asked for."""

    def __init__(self, token: str = "fake-arm-token") -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        self.scopes.append(scopes)
        return AccessTokenInfo(self.token, int(time.time()) + 3600)


class ClientsMixin:
    """Client construction helpers for :class:`~tests.fake_arm.server.FakeArm`."""

    base_url: str
    ca_bundle: str
    subscription_id: str
    storage_suffix: str
    proxy_url: str

    @property
    def cloud_name(self) -> str:
        return f"FakeARM-{self.base_url.rsplit(':', 1)[-1]}"

    def cloud_metadata(self) -> dict[str, str]:
        return {
            "azure_portal": "https://portal.azure.com/",
            "resource_manager": f"{self.base_url}/",
            "active_directory": "https://login.microsoftonline.com/",
            "aml_resource_id": f"{self.base_url}/",
            "storage_endpoint": self.storage_suffix,
            "registry_discovery_endpoint": f"{self.base_url}/",
        }

    def ml_client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``MLClient(credential, subscription_id, rg, ws, **kwargs)``."""
        return {
            "cloud": self.cloud_name,
            "cloud_metadata": self.cloud_metadata(),
            "connection_verify": self.ca_bundle,
            "polling_interval": 1,
        }

    def mgmt_client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``ContainerServiceClient`` / ``SourceControlConfigurationClient``."""
        return {
            "base_url": self.base_url,
            "credential_scopes": [f"{self.base_url}/.default"],
            "connection_verify": self.ca_bundle,
            "polling_interval": 1,
        }

    def client_env(self) -> dict[str, str]:
        """Process-wide alternative to ``connection_verify`` (covers azure-storage-blob too)."""
        return {"REQUESTS_CA_BUNDLE": self.ca_bundle}

    def proxy_env(self) -> dict[str, str]:
        """Send blob storage through the fake's proxy (:mod:`.blob_proxy`) while ARM calls go direct."""
        return {"HTTPS_PROXY": self.proxy_url, "NO_PROXY": "127.0.0.1,localhost"}

    def ml_client(self, resource_group: str, workspace: str, credential: Any = None, **kwargs: Any) -> Any:
        from azure.ai.ml import MLClient

        return MLClient(
            credential or StaticTokenCredential(),
            self.subscription_id,
            resource_group,
            workspace,
            **{**self.ml_client_kwargs(), **kwargs},
        )

    def container_service_client(self, credential: Any = None, **kwargs: Any) -> Any:
        from azure.mgmt.containerservice import ContainerServiceClient

        return ContainerServiceClient(
            credential or StaticTokenCredential(),
            self.subscription_id,
            **{**self.mgmt_client_kwargs(), **kwargs},
        )

    def kubernetes_configuration_client(self, credential: Any = None, **kwargs: Any) -> Any:
        from azure.mgmt.kubernetesconfiguration import SourceControlConfigurationClient

        return SourceControlConfigurationClient(
            credential or StaticTokenCredential(),
            self.subscription_id,
            **{**self.mgmt_client_kwargs(), **kwargs},
        )

    def cdn_client(self, credential: Any = None, **kwargs: Any) -> Any:
        """``CdnManagementClient`` for Azure Front Door (profiles, afdEndpoints, originGroups, origins, routes)."""
        from azure.mgmt.cdn import CdnManagementClient

        return CdnManagementClient(
            credential or StaticTokenCredential(),
            self.subscription_id,
            **{**self.mgmt_client_kwargs(), **kwargs},
        )

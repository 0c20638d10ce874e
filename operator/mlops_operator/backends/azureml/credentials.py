"""Azure credentials: `DefaultAzureCredential` (AKS workload identity, managed identity, environment), or a
service principal read from a Kubernetes Secret. Secrets never appear in the custom resource's spec.

Tests and embedders replace the whole thing through `build_context(..., credential_factory=...)`; there is
no setting that switches authentication off.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any

from azure.identity import ClientSecretCredential, DefaultAzureCredential

from mlops_operator.api.v1alpha1.platform import AzureSettings
from mlops_operator.backends.base import FatalError
from mlops_operator.conditions import Reason
from mlops_operator.config import OperatorSettings
from mlops_operator.kube import Kube

# (platform's Azure settings, the referenced Secret's decoded data or None) -> a TokenCredential
CredentialFactory = Callable[[AzureSettings, Mapping[str, str] | None], Any]
SECRET_KEYS = ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET")


def read_credentials_secret(kube: Kube, azure: AzureSettings, settings: OperatorSettings) -> dict[str, str] | None:
    """The decoded Secret named by `identity.credentialsSecretRef`, or None when the spec names none."""
    ref = azure.identity.credentials_secret_ref
    if ref is None:
        return None
    namespace = ref.namespace or settings.namespace
    secret = kube.get("v1", "Secret", ref.name, namespace)
    if secret is None:
        raise FatalError(
            f"Secret {namespace}/{ref.name} named by spec.azure.identity.credentialsSecretRef does not exist",
            Reason.AZURE_CREDENTIALS_UNAVAILABLE,
        )
    data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    missing = [k for k in SECRET_KEYS if not data.get(k)]
    if missing:
        raise FatalError(
            f"Secret {namespace}/{ref.name} lacks {', '.join(missing)}", Reason.AZURE_CREDENTIALS_UNAVAILABLE
        )
    return data


def default_credential_factory(settings: OperatorSettings) -> CredentialFactory:
    """Production credentials, honouring a sovereign cloud's authority host."""
    extra: dict[str, Any] = {"authority": settings.azure_authority_host} if settings.azure_authority_host else {}

    def factory(azure: AzureSettings, secret: Mapping[str, str] | None) -> Any:
        if secret is not None:
            return ClientSecretCredential(
                secret["AZURE_TENANT_ID"], secret["AZURE_CLIENT_ID"], secret["AZURE_CLIENT_SECRET"], **extra
            )
        client_id = azure.identity.client_id
        if client_id:
            extra_ids = {"managed_identity_client_id": client_id, "workload_identity_client_id": client_id}
            return DefaultAzureCredential(exclude_interactive_browser_credential=True, **extra_ids, **extra)
        return DefaultAzureCredential(exclude_interactive_browser_credential=True, **extra)

    return factory

"""The inference router's TLS certificate: copied from the user's Secret into the extension's namespace.

The extension reads `sslSecret` (a Secret with `cert.pem` and `key.pem` in its own namespace) at install
time. Passing the PEMs as protected settings instead would make every pass a write, since ARM never
returns protected settings for comparison.
"""

from __future__ import annotations

from mlops_operator import naming
from mlops_operator.api.v1alpha1.common import SecretReference
from mlops_operator.backends.base import FatalError
from mlops_operator.backends.shared.apply import apply_if_changed
from mlops_operator.conditions import Reason
from mlops_operator.config import OperatorSettings
from mlops_operator.kube import Kube

PEM_KEYS = ("cert.pem", "key.pem")


def ensure_ssl_secret(
    kube: Kube, settings: OperatorSettings, ref: SecretReference, namespace: str, platform: str
) -> str:
    """Copy the TLS Secret into `namespace` (created if missing); returns the copy's name."""
    source_ns = ref.namespace or settings.namespace
    source = kube.get("v1", "Secret", ref.name, source_ns)
    data = (source or {}).get("data") or {}
    missing = [k for k in PEM_KEYS if k not in data]
    if source is None or missing:
        raise FatalError(
            f"Secret {source_ns}/{ref.name} (extension.sslSecretRef) must exist with cert.pem and key.pem",
            Reason.EXTENSION_MISCONFIGURED,
        )
    if kube.get("v1", "Namespace", namespace) is None:
        kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    name = f"mlops-{platform}-tls"[:253]
    copy = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": name, "namespace": namespace, "labels": {naming.LABEL_MANAGED_BY: naming.MANAGED_BY}},
        "data": {k: data[k] for k in PEM_KEYS},
    }
    apply_if_changed(kube, copy)
    return name

"""Clients for the regional clusters, built from kubeconfig Secrets in the hub and kept while those last.

A client is rebuilt only when its Secret changes (its resourceVersion): a pass reads the Secret (one GET)
and reuses the client, connection pool included.
"""

from __future__ import annotations

import base64
import os
import tempfile
import threading
from dataclasses import dataclass

from kubernetes import client as k8s

from mlops_operator.api.v1alpha1.globalendpoint import Region
from mlops_operator.kube import Kube, load_api_client


class RegionUnreachableError(Exception):
    """The region's cluster cannot be reached (no Secret, a bad kubeconfig); the message says which."""


@dataclass
class _Cached:
    version: str
    kube: Kube


class RegionClients:
    """One `Kube` per kubeconfig Secret, by resourceVersion."""

    def __init__(self, hub: Kube) -> None:
        self._hub = hub
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str, str], _Cached] = {}

    def client(self, namespace: str, region: Region) -> Kube:
        ref = region.cluster.kubeconfig_secret_ref
        secret = self._hub.get("v1", "Secret", ref.name, namespace)
        if secret is None:
            raise RegionUnreachableError(
                f"Secret {namespace}/{ref.name} named by regions[{region.name}].cluster.kubeconfigSecretRef "
                "does not exist; create it with the region's kubeconfig"
            )
        encoded = (secret.get("data") or {}).get(ref.key)
        if not encoded:
            raise RegionUnreachableError(f"Secret {namespace}/{ref.name} has no key {ref.key!r} (the kubeconfig)")
        key = (namespace, ref.name, ref.key)
        version = str(secret["metadata"].get("resourceVersion"))
        with self._lock:
            cached = self._cache.get(key)
            if cached is None or cached.version != version:
                cached = _Cached(version, Kube(_load(base64.b64decode(encoded), region.name)))
                self._cache[key] = cached
            return cached.kube


def _load(kubeconfig: bytes, region: str) -> k8s.ApiClient:
    """An ApiClient from kubeconfig bytes; the file only lives while the client is built."""
    handle, path = tempfile.mkstemp(prefix=f"mlops-region-{region}-", suffix=".kubeconfig")
    try:
        os.write(handle, kubeconfig)
        os.close(handle)
        try:
            return load_api_client(path)
        except Exception as exc:  # the loader raises several unrelated types for a bad file
            raise RegionUnreachableError(f"region {region}: the kubeconfig does not load: {exc}") from exc
    finally:
        os.unlink(path)

"""What handlers share: the client, settings and backends, built once at startup and kept in kopf's memo."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from mlops_operator.backends.azureml import AzureMLBackend, CredentialFactory
from mlops_operator.backends.base import Backend
from mlops_operator.backends.native import NativeBackend
from mlops_operator.config import OperatorSettings
from mlops_operator.handlers.requeue import Requeuer
from mlops_operator.kube import Kube, load_api_client


@dataclass
class OperatorContext:
    kube: Kube
    settings: OperatorSettings
    backends: dict[str, Backend]
    coalescer: Coalescer = field(default_factory=lambda: Coalescer())  # noqa: PLW0108 (defined below)
    requeuer: Requeuer = field(default_factory=Requeuer)


def build_context(
    settings: OperatorSettings, kubeconfig: str | None = None, credential_factory: CredentialFactory | None = None
) -> OperatorContext:
    """`credential_factory` replaces Azure credentials (tests use a static token); production leaves it None."""
    kube = Kube(load_api_client(kubeconfig))
    backends: dict[str, Backend] = {
        "native": NativeBackend(kube, settings),
        "azureml": AzureMLBackend(kube, settings, credential_factory),
    }
    return OperatorContext(kube=kube, settings=settings, backends=backends)


class Coalescer:
    """Runs at most one reconcile per object at a time; events arriving meanwhile cause one more pass.

    Child watch events (Deployments, Pods) come in bursts; reconciling the parent once per burst is enough
    because reconcile is level-based.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._dirty: set[str] = set()

    def run(self, key: str, step: Callable[[], None]) -> None:
        with self._lock:
            if key in self._running:
                self._dirty.add(key)
                return
            self._running.add(key)
        try:
            for _ in range(10):  # bounded: a flapping child cannot pin a worker forever
                step()
                with self._lock:
                    if key not in self._dirty:
                        break
                    self._dirty.discard(key)
        finally:
            with self._lock:
                self._running.discard(key)
                self._dirty.discard(key)

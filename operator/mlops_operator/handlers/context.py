"""What handlers share: the client, settings, backends, the waker and the reference index, kept in kopf's memo."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from mlops_operator.api.v1alpha1 import GlobalEndpoint, MLOpsPlatform
from mlops_operator.backends.base import Backend, ObjectKey
from mlops_operator.backends.native import NativeBackend
from mlops_operator.backends.native.global_router import TraefikFileRouter
from mlops_operator.backends.routing import GlobalRouterDriver
from mlops_operator.config import OperatorSettings
from mlops_operator.globalendpoint.reconcile import GlobalDeps
from mlops_operator.globalendpoint.regions import RegionClients
from mlops_operator.handlers.wakeup import Waker
from mlops_operator.kube import Kube, load_api_client
from mlops_operator.metrics import OperatorMetrics
from mlops_operator.monitoring.drift_driver import DriftMonitor
from mlops_operator.rollouts.driver import RolloutDriver

if TYPE_CHECKING:
    from mlops_operator.backends.azureml import AzureMLBackend, CredentialFactory

IndexKey = tuple[str, str | None, str]


class Dependents:
    """Who references what: read from kopf's indices, bound at startup (empty until then)."""

    def __init__(self) -> None:
        self._deployments: Mapping[Any, Iterable[Any]] = {}
        self._platforms: Mapping[Any, Iterable[Any]] = {}

    def bind(self, deployments: Mapping[Any, Iterable[Any]], platforms: Mapping[Any, Iterable[Any]]) -> None:
        self._deployments, self._platforms = deployments, platforms

    def of(self, key: ObjectKey) -> list[ObjectKey]:
        """ModelDeployments referencing `key` (for a Gateway: those on the platforms routing through it)."""
        if key.kind == "Gateway":
            platforms = {
                *_read(self._platforms, _index_key(key)),
                *_read(self._platforms, ("Gateway", None, key.name)),
            }
            return sorted({d for p in platforms for d in self.of(ObjectKey("MLOpsPlatform", None, p))}, key=str)
        found = _read(self._deployments, _index_key(key))
        return sorted({ObjectKey("ModelDeployment", ns, name) for ns, name in found}, key=str)


def _read(index: Mapping[Any, Iterable[Any]], key: IndexKey) -> list[Any]:
    """The values under `key`. kopf updates its indices on its event loop while passes read them from
    worker threads, so a read that races an update is simply tried again."""
    for _ in range(5):
        try:
            return list(index.get(key, ()))
        except RuntimeError:  # "changed size during iteration"
            continue
    return list(index.get(key, ()))


def _index_key(key: ObjectKey) -> IndexKey:
    return (key.kind, key.namespace, key.name)


class LazyBackends(Mapping[str, Backend]):
    """Backends built on first use: the Azure SDKs cost ~70 MiB and 2 s to import, and a cluster served by
    the native backend alone never needs them."""

    def __init__(self, factories: dict[str, Callable[[], Backend]]) -> None:
        self._factories = factories
        self._built: dict[str, Backend] = {}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> Backend:
        with self._lock:
            if name not in self._built:
                self._built[name] = self._factories[name]()
            return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._factories)

    def __len__(self) -> int:
        return len(self._factories)


@dataclass
class OperatorContext:
    kube: Kube
    settings: OperatorSettings
    backends: Mapping[str, Backend]
    dependents: Dependents = field(default_factory=Dependents)
    waker: Waker = field(default_factory=Waker)
    metrics: OperatorMetrics = field(default_factory=OperatorMetrics)
    rollouts: RolloutDriver | None = None  # None: a spec.rollout cannot progress (some unit tests)
    drift: DriftMonitor | None = None  # None: spec.monitoring.drift is not checked (some unit tests)
    global_endpoints: GlobalDeps | None = None  # None: GlobalEndpoints are not reconciled (some unit tests)


def build_context(
    settings: OperatorSettings,
    kubeconfig: str | None = None,
    credential_factory: CredentialFactory | None = None,
    metrics: OperatorMetrics | None = None,
) -> OperatorContext:
    """`credential_factory` replaces Azure credentials (tests use a static token); production leaves it None.
    `metrics` is a fresh registry unless given (tests read their own)."""
    metrics = metrics if metrics is not None else OperatorMetrics()
    kube = Kube(load_api_client(kubeconfig), metrics)

    def azureml() -> Backend:
        from mlops_operator.backends.azureml import AzureMLBackend

        return AzureMLBackend(kube, settings, credential_factory, metrics)

    backends = LazyBackends({"native": lambda: NativeBackend(kube, settings), "azureml": azureml})

    def azureml_clients(platform: MLOpsPlatform) -> Any:
        """The azureml backend's clients for a platform (its credentials, cached): drift's Azure ML jobs."""
        return cast("AzureMLBackend", backends["azureml"]).clients(platform)

    def routers(ge: GlobalEndpoint) -> GlobalRouterDriver:
        if ge.spec.router.front_door is None:
            return TraefikFileRouter()
        from mlops_operator.backends.azureml.frontdoor_router import FrontDoorRouter

        return FrontDoorRouter(kube, settings, cast("AzureMLBackend", backends["azureml"]))

    rollouts = RolloutDriver(kube, settings.prometheus_url)
    drift = DriftMonitor(kube, settings.prometheus_url, metrics=metrics, azureml_clients=azureml_clients)
    global_endpoints = GlobalDeps(kube, RegionClients(kube), routers)
    return OperatorContext(
        kube=kube,
        settings=settings,
        backends=backends,
        rollouts=rollouts,
        drift=drift,
        metrics=metrics,
        global_endpoints=global_endpoints,
    )

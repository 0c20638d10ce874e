"""What a GlobalEndpoint's router driver is asked to do and reports: Traefik (native) and Front Door (azureml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from mlops_operator.api.v1alpha1.common import OperationRecord
from mlops_operator.api.v1alpha1.globalendpoint import GlobalEndpoint
from mlops_operator.render.global_router import RoutedRegion


@dataclass(frozen=True)
class Rotation:
    """The router's desired state: the regions it may use (`in_service` says which are in the rotation) and
    the path every region serves the endpoint under."""

    prefix: str
    regions: tuple[RoutedRegion, ...]
    in_service: frozenset[str]


@dataclass(frozen=True)
class RouterResult:
    url: str | None
    settled: bool  # the router applies the rotation (nothing in flight)
    writes: int
    message: str
    applied: dict[str, str] = field(default_factory=dict)
    operations: dict[str, OperationRecord] = field(default_factory=dict)


class GlobalRouterDriver(Protocol):
    def apply(self, ge: GlobalEndpoint, rotation: Rotation) -> RouterResult: ...

    def delete(self, ge: GlobalEndpoint) -> RouterResult:
        """Remove what `apply` made; `settled` once it is gone."""
        ...

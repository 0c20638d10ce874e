"""What every backend returns to the reconcile loop, and the Protocol it implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from mlops_operator.api.v1alpha1 import MLOpsPlatform, ModelDeployment
from mlops_operator.conditions import Verdict


@dataclass
class Outcome:
    """The result of one reconcile pass: condition verdicts, other status fields, when to look again."""

    verdicts: list[Verdict]
    status: dict[str, Any] = field(default_factory=dict)
    requeue_after: float | None = None


class RetryableError(Exception):
    """Something that will likely succeed later (throttling, conflicts, a flaky API); retry after `delay`."""

    def __init__(self, message: str, delay: float = 10.0, reason: str = "Retrying") -> None:
        super().__init__(message)
        self.delay = delay
        self.reason = reason


class FatalError(Exception):
    """Something that needs a human: retrying without a spec change cannot help."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class Backend(Protocol):
    """A way of serving models. Implementations never import kopf."""

    def reconcile_platform(self, platform: MLOpsPlatform) -> Outcome: ...

    def reconcile_deployment(self, md: ModelDeployment, platform: MLOpsPlatform) -> Outcome: ...

    def finalize_deployment(self, md: ModelDeployment, platform: MLOpsPlatform | None) -> None: ...

    def finalize_platform(self, platform: MLOpsPlatform) -> None:
        """Release what the platform holds outside Kubernetes; raise RetryableError while that is under way."""
        ...

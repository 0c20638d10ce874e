"""What every backend returns to the reconcile loop, and the Protocol it implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from mlops_operator.api.v1alpha1 import (
    GlobalEndpointStatus,
    MLOpsPlatform,
    MLOpsPlatformStatus,
    ModelDeployment,
    ModelDeploymentStatus,
)
from mlops_operator.conditions import Announcement, Verdict

# A typed partial status: only the fields a backend set explicitly are written (pydantic's `model_fields_set`),
# and a misspelt field is an error here instead of being silently dropped by the API server.
PartialStatus = ModelDeploymentStatus | MLOpsPlatformStatus | GlobalEndpointStatus


@dataclass(frozen=True)
class ObjectKey:
    """An object the operator should look at again (a sibling whose status depends on this pass)."""

    kind: str
    namespace: str | None
    name: str


@dataclass
class Outcome:
    """The result of one pass: condition verdicts, other status fields, when to look again and at what else.

    Conditions and observedGeneration are not part of `status`: `reconcile.build_status` derives them.
    """

    verdicts: list[Verdict]
    status: PartialStatus | None = None
    requeue_after: float | None = None
    wake: list[ObjectKey] = field(default_factory=list)
    events: list[Announcement] = field(default_factory=list)
    consumed_annotations: list[str] = field(default_factory=list)  # commands acted on: the caller removes them


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


class DeletionRefusedError(FatalError):
    """The cloud refused to delete (or to empty) something an object being deleted holds: a human must grant
    the permission, remove the lock, or force the object's release. `resource` names it for that human,
    `detail` is the cloud's own error (code and message), `reason` its classification."""

    def __init__(self, resource: str, detail: str, reason: str) -> None:
        super().__init__(f"{resource}: {detail}", reason)
        self.resource = resource
        self.detail = detail


class Backend(Protocol):
    """A way of serving models. Implementations never import kopf."""

    def reconcile_platform(self, platform: MLOpsPlatform) -> Outcome: ...

    def reconcile_deployment(self, md: ModelDeployment, platform: MLOpsPlatform) -> Outcome: ...

    def finalize_deployment(self, md: ModelDeployment, platform: MLOpsPlatform | None) -> None: ...

    def finalize_platform(self, platform: MLOpsPlatform) -> None:
        """Release what the platform holds outside Kubernetes; raise RetryableError while that is under way."""
        ...

    def deployment_leftovers(self, md: ModelDeployment, platform: MLOpsPlatform | None) -> list[str]:
        """What `finalize_deployment` would still remove outside Kubernetes, named for humans; no cloud calls
        (a deployment released by force leaves exactly these behind)."""
        ...

    def platform_leftovers(self, platform: MLOpsPlatform) -> list[str]:
        """What `finalize_platform` would still release outside Kubernetes; no cloud calls."""
        ...

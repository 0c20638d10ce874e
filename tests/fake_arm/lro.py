"""Long-running operations the way ARM runs them: an operation-status resource polled by the client.

An operation advances only when someone looks at it (a status poll, a Location poll, or a GET of the
resource it works on). It finishes after ``polls`` InProgress answers and at least ``seconds`` of wall
time, then applies its effect to the store under the store lock. That keeps tests deterministic: with
``polls=0`` the SDK's first (immediate) status poll already sees Succeeded.
"""

from __future__ import annotations

import datetime
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .faults import OperationFailure
from .state import now

TERMINAL = frozenset({"Succeeded", "Failed", "Canceled"})


def _iso_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Operation:
    """One asynchronous operation and what to do with the store when it ends."""

    id: str
    resource_id: str
    action: str
    polls: int
    seconds: float
    status_path: str
    result_path: str
    on_end: Callable[[Operation], None]
    failure: OperationFailure | None = None
    started: float = field(default_factory=now)
    started_at: str = field(default_factory=_iso_now)
    ended_at: str | None = None
    observed: int = 0
    status: str = "InProgress"
    result: dict[str, Any] | None = None

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    def observe(self) -> None:
        """Count one look at the operation and finish it once it has been looked at enough."""
        if self.done:
            return
        self.observed += 1
        if self.observed > self.polls and now() - self.started >= self.seconds:
            self.status = self.failure.status if self.failure else "Succeeded"
            self.ended_at = _iso_now()
            self.on_end(self)

    def status_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": self.status_path,
            "name": self.id,
            "status": self.status,
            "startTime": self.started_at,
        }
        if self.ended_at:
            doc["endTime"] = self.ended_at
        if self.failure:
            doc["error"] = {"code": self.failure.code, "message": self.failure.message, "details": []}
        return doc


class Operations:
    """Registry of operations, keyed by id, plus the per-resource 'busy' bookkeeping."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._ops: dict[str, Operation] = {}

    def start(
        self,
        *,
        resource_id: str,
        action: str,
        provider_prefix: str,
        status_segment: str,
        result_segment: str,
        polls: int,
        seconds: float,
        on_end: Callable[[Operation], None],
        failure: OperationFailure | None,
    ) -> Operation:
        """Create an operation whose status/result URLs live under ``provider_prefix`` (sub + namespace)."""
        op_id = str(uuid.uuid4())
        op = Operation(
            id=op_id,
            resource_id=resource_id,
            action=action,
            polls=polls,
            seconds=seconds,
            status_path=f"{provider_prefix}/{status_segment}/{op_id}",
            result_path=f"{provider_prefix}/{result_segment}/{op_id}",
            on_end=on_end,
            failure=failure,
        )
        with self._lock:
            self._ops[op_id] = op
        return op

    def get(self, op_id: str) -> Operation | None:
        with self._lock:
            return self._ops.get(op_id)

    def observe(self, op_id: str) -> Operation | None:
        with self._lock:
            op = self._ops.get(op_id)
            if op is not None:
                op.observe()
            return op

    def observe_resource(self, resource_id: str) -> None:
        """A GET of a resource counts as a look at every unfinished operation running on it."""
        key = resource_id.lower()
        with self._lock:
            for op in list(self._ops.values()):
                if not op.done and op.resource_id.lower() == key:
                    op.observe()

    def running_on(self, resource_id: str) -> Operation | None:
        key = resource_id.lower()
        with self._lock:
            for op in self._ops.values():
                if not op.done and op.resource_id.lower() == key:
                    return op
        return None

    def all(self) -> list[Operation]:
        with self._lock:
            return list(self._ops.values())


def lro_headers(
    base_url: str, op: Operation, *, location: bool, async_op: bool = True, api_version: str | None = None
) -> dict[str, str]:
    """Headers of the initial response: Azure-AsyncOperation and/or Location, always ``Retry-After: 1``."""
    query = f"?api-version={api_version}" if api_version else ""
    headers = {"Retry-After": "1"}
    if async_op:
        headers["Azure-AsyncOperation"] = f"{base_url}{op.status_path}{query}"
    if location:
        headers["Location"] = f"{base_url}{op.result_path}{query}"
    return headers

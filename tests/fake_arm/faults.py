"""Programmable misbehaviour: error responses, connection resets, failing and slow long-running operations.

Rules match on HTTP method (None = any) and a regular expression searched in the request path (the
query string is not part of it). Rules are consulted newest first, so a later rule overrides an earlier
one for the same path.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Fault:
    """An injected response. ``times`` limits how often it fires; ``window`` how long (seconds) it lives."""

    method: str | None
    path_regex: re.Pattern[str]
    status: int = 500
    retry_after: int | None = None
    code: str | None = None
    message: str | None = None
    reset: bool = False
    delay: float = 0.0
    times: int | None = 1
    expires_at: float | None = None
    hits: int = 0

    def matches(self, method: str, path: str, now: float) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        if self.expires_at is not None and now >= self.expires_at:
            return False
        return self.path_regex.search(path) is not None

    @property
    def error_code(self) -> str:
        if self.code:
            return self.code
        return {429: "TooManyRequests", 503: "ServiceUnavailable", 502: "BadGateway"}.get(
            self.status, "InternalServerError"
        )


@dataclass
class OperationFailure:
    """Make the next long-running operation(s) started by a matching request end ``Failed`` (or Canceled)."""

    method: str | None
    path_regex: re.Pattern[str]
    code: str
    message: str
    status: str = "Failed"
    times: int | None = 1
    http_status: int = 400
    hits: int = 0


@dataclass
class OperationTiming:
    """How long matching operations take: ``polls`` InProgress observations and at least ``seconds``."""

    method: str | None
    path_regex: re.Pattern[str]
    polls: int
    seconds: float


@dataclass
class FaultPlan:
    """All programmed faults and timings; thread-safe."""

    default_polls: int = 1
    default_seconds: float = 0.0
    faults: list[Fault] = field(default_factory=list)
    failures: list[OperationFailure] = field(default_factory=list)
    timings: list[OperationTiming] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_fault(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def add_failure(self, failure: OperationFailure) -> OperationFailure:
        with self._lock:
            self.failures.append(failure)
        return failure

    def add_timing(self, timing: OperationTiming) -> OperationTiming:
        with self._lock:
            self.timings.append(timing)
        return timing

    def take_fault(self, method: str, path: str) -> Fault | None:
        """The newest live fault for this request, counting it as fired."""
        now = time.monotonic()
        with self._lock:
            for fault in reversed(self.faults):
                if fault.matches(method, path, now):
                    fault.hits += 1
                    return fault
        return None

    def take_failure(self, method: str, path: str) -> OperationFailure | None:
        with self._lock:
            for failure in reversed(self.failures):
                if failure.times is not None and failure.hits >= failure.times:
                    continue
                if _method_ok(failure.method, method) and failure.path_regex.search(path):
                    failure.hits += 1
                    return failure
        return None

    def timing_for(self, method: str, path: str) -> tuple[int, float]:
        with self._lock:
            for timing in reversed(self.timings):
                if _method_ok(timing.method, method) and timing.path_regex.search(path):
                    return timing.polls, timing.seconds
            return self.default_polls, self.default_seconds

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.failures.clear()
            self.timings.clear()


def _method_ok(wanted: str | None, method: str) -> bool:
    return wanted is None or wanted.upper() == method.upper()


def compile_path(path_regex: str | re.Pattern[str]) -> re.Pattern[str]:
    return path_regex if isinstance(path_regex, re.Pattern) else re.compile(path_regex, re.IGNORECASE)

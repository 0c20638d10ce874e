"""What this process read from ARM, kept for a while so that the next pass need not read it again.

Entries are keyed by ARM id (compared case-insensitively, as ARM compares them) and expire after `ttl`
seconds. What may be kept, and for how long, is decided where it is used: asset versions for an hour
(assets.py), an endpoint for less than a resync period (endpoint.py).
"""

from __future__ import annotations

import threading
import time
from typing import Generic, TypeVar

T = TypeVar("T")


class Seen(Generic[T]):
    """ARM id -> what was read there and when; thread-safe (passes run in several threads)."""

    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._seen: dict[str, tuple[float, T]] = {}
        self._lock = threading.Lock()

    def get(self, arm_id: str) -> T | None:
        """What was read less than `ttl` seconds ago, else None."""
        with self._lock:
            found = self._seen.get(arm_id.lower())
        if found is None or time.monotonic() - found[0] >= self._ttl:
            return None
        return found[1]

    def remember(self, arm_id: str, value: T) -> None:
        with self._lock:
            self._seen[arm_id.lower()] = (time.monotonic(), value)

    def forget(self, arm_id: str) -> None:
        """Drop an entry: this process is about to change the resource, so what it saw is stale."""
        with self._lock:
            self._seen.pop(arm_id.lower(), None)

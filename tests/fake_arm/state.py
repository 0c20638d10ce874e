"""In-memory resource store and request log. Every method takes the one server-wide lock.

Resource ids are case-insensitive in ARM, so the store keys on the lowercased id and keeps the casing
of the first PUT in the body.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StoredResource:
    """One ARM resource: its public body plus server-side extras (keys, secrets) never echoed."""

    id: str
    kind: str
    body: dict[str, Any]
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RequestRecord:
    """One request as the fake saw it, with the answer it gave."""

    method: str
    path: str
    query: dict[str, str]
    resource_type: str
    status: int
    body: Any
    headers: dict[str, str]
    at: float


class Store:
    """Thread-safe map of resource id to resource, with prefix deletes for cascades."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._items: dict[str, StoredResource] = {}

    def get(self, resource_id: str) -> StoredResource | None:
        with self.lock:
            return self._items.get(resource_id.lower())

    def put(self, resource: StoredResource) -> None:
        with self.lock:
            self._items[resource.id.lower()] = resource

    def delete_tree(self, resource_id: str) -> int:
        """Delete a resource and everything nested under it; returns how many were removed."""
        key = resource_id.lower()
        with self.lock:
            doomed = [k for k in self._items if k == key or k.startswith(key + "/")]
            for k in doomed:
                del self._items[k]
            return len(doomed)

    def children(self, parent_id: str, kind: str) -> list[StoredResource]:
        """Nested resources of one kind, in id order (what list operations return)."""
        prefix = parent_id.lower() + "/"
        with self.lock:
            found = [r for k, r in self._items.items() if k.startswith(prefix) and r.kind == kind]
            return sorted(found, key=lambda r: r.id.lower())

    def all(self) -> list[StoredResource]:
        with self.lock:
            return list(self._items.values())


class RequestLog:
    """Counts calls by (method, resource type) and keeps every request for assertions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self._counts: Counter[tuple[str, str]] = Counter()

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)
            self._counts[(record.method, record.resource_type)] += 1

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def count(self, method: str | None = None, resource_type: str | None = None) -> int:
        with self._lock:
            return sum(
                n
                for (m, t), n in self._counts.items()
                if (method is None or m == method.upper()) and (resource_type is None or t == resource_type)
            )

    def counts(self) -> Counter[tuple[str, str]]:
        with self._lock:
            return Counter(self._counts)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self._counts.clear()


def now() -> float:
    return time.monotonic()

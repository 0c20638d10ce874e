"""Model and environment versions the operator has seen registered in a workspace.

Azure ML asset versions are immutable: once `models/<name>/versions/<v>` exists it cannot change, only be
archived or deleted. So a resync need not read it again (that was 2 of ~4 ARM reads per ModelDeployment per
resync, bench/scale_azureml.py). Each entry is re-checked after `ttl` seconds, so a version deleted in Azure
is noticed (and registered again from `spec.model.uri`) within that time.
"""

from __future__ import annotations

import threading
import time

RECHECK_SECONDS = 3600.0


class RegisteredAssets:
    """Asset ids (`<workspace id>/<kind>/<name>/versions/<version>`) seen registered, with when."""

    def __init__(self, ttl: float = RECHECK_SECONDS) -> None:
        self._ttl = ttl
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def known(self, asset_id: str) -> bool:
        """Seen registered less than `ttl` seconds ago (ids compare case-insensitively, as ARM's do)."""
        with self._lock:
            seen = self._seen.get(asset_id.lower())
        return seen is not None and time.monotonic() - seen < self._ttl

    def remember(self, asset_id: str) -> None:
        with self._lock:
            self._seen[asset_id.lower()] = time.monotonic()

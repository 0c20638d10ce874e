"""Model and environment versions the operator has seen registered in a workspace.

Azure ML asset versions are immutable: once `models/<name>/versions/<v>` exists it cannot change, only be
archived or deleted. So a resync need not read it again (that was 2 of ~4 ARM reads per ModelDeployment per
resync, bench/scale_azureml.py). Each entry is re-checked after `ttl` seconds, so a version deleted in Azure
is noticed (and registered again from `spec.model.uri`) within that time.
"""

from __future__ import annotations

from mlops_operator.backends.azureml.seen import Seen

RECHECK_SECONDS = 3600.0


class RegisteredAssets(Seen[bool]):
    """Asset ids (`<workspace id>/<kind>/<name>/versions/<version>`) seen registered, with when."""

    def __init__(self, ttl: float = RECHECK_SECONDS) -> None:
        super().__init__(ttl)

    def known(self, asset_id: str) -> bool:
        """Seen registered less than `ttl` seconds ago (ids compare case-insensitively, as ARM's do)."""
        return self.get(asset_id) is not None

    def remember(self, asset_id: str, value: bool = True) -> None:
        super().remember(asset_id, value)

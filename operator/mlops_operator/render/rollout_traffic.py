"""The traffic a rollout puts in force, computed the same way by every member's pass (pure).

The spec holds the destination. A candidate in a rollout serves its rollout's share instead of its
`spec.traffic`, and its baseline serves the difference on top of its own, so the endpoint still sums to
what the spec sums to. Every member of the endpoint renders the same split from the same objects.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlops_operator.api.v1alpha1 import ModelDeploymentSpec
from mlops_operator.api.v1alpha1.rollout import RolloutStatus

# What a rollout does not roll out: the traffic it moves and its own settings.
_NOT_ROLLED_OUT = frozenset({"traffic", "mirror_traffic", "rollout"})


def rollout_revision(spec: ModelDeploymentSpec) -> str:
    """What the candidate serves (model, code, image, settings); a change starts a new rollout."""
    served = spec.model_dump(mode="json", exclude=set(_NOT_ROLLED_OUT))
    return hashlib.sha256(json.dumps(served, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class MemberTraffic:
    """One member as the split sees it: its spec, its rollout status and the share its status records."""

    name: str
    spec: ModelDeploymentSpec
    rollout: RolloutStatus | None
    recorded: int

    @property
    def share(self) -> int:
        """The member's own share: spec.traffic, or its rollout's share while one is under way."""
        if self.spec.rollout is None:
            return self.spec.traffic
        return candidate_share(self.spec, self.rollout, self.recorded)


def candidate_share(spec: ModelDeploymentSpec, rollout: RolloutStatus | None, recorded: int) -> int:
    """A candidate's share: what it served before a rollout was first seen, 0 for a new revision, the
    rollout's share while it runs, and spec.traffic once promoted."""
    target = spec.traffic
    if rollout is None:
        return min(recorded, target)
    if rollout.revision != rollout_revision(spec):
        return 0
    if rollout.phase in ("Promoting", "Succeeded"):
        return target
    return min(rollout.traffic, target)


def effective_split(members: Sequence[MemberTraffic]) -> dict[str, int]:
    """Live traffic per member: candidates at their rollout's share, each baseline carrying the rest."""
    split = {m.name: m.share for m in members}
    for member in members:
        if member.spec.rollout is None:
            continue
        baseline = member.spec.rollout.baseline
        if baseline in split and baseline != member.name:
            split[baseline] += member.spec.traffic - split[member.name]
    return split


def member_from_item(item: Mapping[str, Any]) -> MemberTraffic | None:
    """A listed ModelDeployment as the split sees it; None when its spec does not parse (it is not served)."""
    try:
        spec = ModelDeploymentSpec.model_validate(item.get("spec") or {})
    except ValueError:
        return None
    status: Mapping[str, Any] = item.get("status") or {}
    name = str(item["metadata"]["name"])
    rollout = _rollout_status(status.get("rollout"))
    return MemberTraffic(name, spec, rollout, int((status.get("traffic") or {}).get(name, 0) or 0))


def _rollout_status(raw: Any) -> RolloutStatus | None:
    if not raw:
        return None
    try:
        return RolloutStatus.model_validate(raw)
    except ValueError:
        return None

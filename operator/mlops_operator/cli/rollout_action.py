"""Commands to a running rollout (spec.rollout): the `rollout.mlops.dev/action` annotation, then a wait.

The operator acts on the annotation at its next pass and removes it; the spec is never touched, so GitOps
tools see no drift. `promote` skips the remaining steps, `resume` ends a step that waits for a human,
`abort` rolls the candidate back to 0 %, `retry` starts a rolled-back or failed rollout again.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

from mlops_operator.api.v1alpha1 import API_VERSION
from mlops_operator.cli import resources as res
from mlops_operator.naming import ANNOTATION_ROLLOUT_ACTION

if TYPE_CHECKING:
    from mlops_operator.kube import Kube

ACTIVE = ("Progressing", "Paused", "Promoting")
# What each action waits for: the phases that end it well, and those that end it badly.
ENDS = {
    "promote": ({"Succeeded"}, {"RolledBack", "Failed"}),
    "abort": ({"RolledBack"}, {"Succeeded", "Failed"}),
    "retry": ({"Succeeded"}, {"RolledBack", "Failed"}),
}
POLL_S = 1.0


def rollout_of(item: dict[str, Any]) -> dict[str, Any]:
    return dict((item.get("status") or {}).get("rollout") or {})


def has_active_rollout(item: dict[str, Any]) -> bool:
    return bool((item.get("spec") or {}).get("rollout")) and rollout_of(item).get("phase") in ACTIVE


def request(kube: Kube, namespace: str, name: str, action: str) -> None:
    patch = {"metadata": {"annotations": {ANNOTATION_ROLLOUT_ACTION: action}}}
    kube.patch_merge(API_VERSION, res.DEPLOYMENT, name, namespace, patch)


def wait_for_outcome(kube: Kube, namespace: str, name: str, action: str, timeout: float) -> tuple[int, str]:
    """Until the annotation was consumed and the rollout reached a phase that ends `action` (resume: consumed)."""
    good, bad = ENDS.get(action, (set(), set()))
    deadline, line = time.monotonic() + timeout, "waiting for the operator"
    while time.monotonic() < deadline:
        item = kube.get(API_VERSION, res.DEPLOYMENT, name, namespace)
        if item is None:
            return res.EXIT_NOT_FOUND, f"ModelDeployment {namespace}/{name} is gone"
        pending = ANNOTATION_ROLLOUT_ACTION in (item["metadata"].get("annotations") or {})
        rollout = rollout_of(item)
        line = f"{rollout.get('phase', 'no rollout')}: {rollout.get('message', '')}"
        if not pending and (not good or rollout.get("phase") in good):
            return res.EXIT_OK, line
        if not pending and rollout.get("phase") in bad:
            return res.EXIT_FAILED, line
        time.sleep(POLL_S)
    return res.EXIT_TIMEOUT, f"timed out after {timeout:.0f}s; last: {line}"


def act(kube: Kube, namespace: str, name: str, action: str, timeout: float) -> int:
    request(kube, namespace, name, action)
    print(f"{name}: {ANNOTATION_ROLLOUT_ACTION}={action}", flush=True)
    code, line = wait_for_outcome(kube, namespace, name, action, timeout)
    print(f"  {line}", file=sys.stdout if code == res.EXIT_OK else sys.stderr, flush=True)
    return code

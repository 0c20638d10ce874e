"""Argo CD's own health code as a function: a live object in, the health Argo CD would show out.

The helper (hack/argocd/build.sh) is built from Argo CD's Go module: Argo's SettingsManager reads
deploy/gitops/argocd/argocd-cm.yaml and gitops-engine's GetResourceHealth runs its Lua, as Argo CD's
application controller does.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
ARGOCD_CM = REPO / "deploy" / "gitops" / "argocd" / "argocd-cm.yaml"
BUILD_TIMEOUT_S = 1800
RUN_TIMEOUT_S = 30
UNIT_TEST = REPO / "tests" / "unit" / "test_gitops_manifests_are_well_formed.py"
ARGOCD_HELPER_KEY = pytest.StashKey["Path | str"]()


def locate_argocd_helper() -> Path | str:
    """The helper binary, building it on a cold cache (minutes); or why there is none."""
    script = REPO / "hack" / "argocd" / "build.sh"
    try:
        result = subprocess.run([str(script)], capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return f"{script} did not finish within {BUILD_TIMEOUT_S}s"
    if result.returncode != 0:
        return f"{script} failed:\n{result.stderr[-4000:]}"
    return Path(result.stdout.strip().splitlines()[-1]) / "bin" / "mlops-health"


def lua51_health() -> Callable[[dict[str, Any]], tuple[str, str]] | None:
    """The unit test's way to run health.lua (a Lua 5.1 interpreter), or None without lua5.1 installed."""
    if shutil.which("lua5.1") is None:
        return None
    spec = importlib.util.spec_from_file_location("gitops_manifests_unit_test", UNIT_TEST)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    health: Callable[[dict[str, Any]], tuple[str, str]] = module.health
    return health


@dataclass(frozen=True)
class Health:
    status: str
    message: str


@dataclass(frozen=True)
class ArgoHealth:
    """Runs the helper on one object; a missing health script or a Lua error fails the test. With `lua51`,
    the unit test's interpreter must agree, except on deleting objects, which Argo never hands to the Lua."""

    binary: Path
    argocd_cm: Path = ARGOCD_CM
    lua51: Callable[[dict[str, Any]], tuple[str, str]] | None = None

    def __call__(self, obj: dict[str, Any]) -> Health:
        result = subprocess.run(
            [str(self.binary), str(self.argocd_cm), "-"],
            input=json.dumps(obj),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
        assert result.returncode == 0, f"mlops-health exited {result.returncode}: {result.stderr}"
        verdict = json.loads(result.stdout)
        health = Health(verdict["status"], verdict["message"])
        if self.lua51 is not None and not obj["metadata"].get("deletionTimestamp"):
            assert self.lua51(obj) == (health.status, health.message), "Lua 5.1 and Argo CD's Lua disagree"
        return health

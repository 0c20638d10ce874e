"""deploy/gitops/: Flux and Argo CD manifests are well formed, point at what exists, and the health Lua
maps our conditions to Argo CD's Healthy/Progressing/Degraded (run by a Lua 5.1 interpreter when one is
installed; Argo CD's gopher-lua is Lua 5.1). Not run by Flux's or Argo CD's own code here."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_operator.cli.validate import check

REPO = Path(__file__).parents[2]
GITOPS = REPO / "deploy" / "gitops"
KINDS = ("MLOpsPlatform", "ModelDeployment")


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def by_kind(kind: str) -> list[dict[str, Any]]:
    found = [d for path in sorted(GITOPS.rglob("*.yaml")) for d in documents(path)]
    return [d for d in found if d["kind"] == kind]


def test_every_manifest_has_api_version_kind_and_name() -> None:
    for path in sorted(GITOPS.rglob("*.yaml")):
        for document in documents(path):
            assert {"apiVersion", "kind"} <= set(document), path
            assert document["kind"] == "Kustomization" or document["metadata"]["name"], path


def test_flux_syncs_paths_and_a_chart_that_exist_from_its_git_repository() -> None:
    [source] = by_kind("GitRepository")
    assert source["apiVersion"] == "source.toolkit.fluxcd.io/v1"
    [release] = by_kind("HelmRelease")
    assert release["apiVersion"] == "helm.toolkit.fluxcd.io/v2"
    chart = release["spec"]["chart"]["spec"]
    assert chart["sourceRef"] == {
        "kind": "GitRepository",
        "name": source["metadata"]["name"],
        "namespace": "flux-system",
    }
    assert (REPO / chart["chart"] / "Chart.yaml").is_file()
    flux = [k for k in by_kind("Kustomization") if k["apiVersion"] == "kustomize.toolkit.fluxcd.io/v1"]
    assert flux
    for kustomization in flux:
        assert kustomization["spec"]["sourceRef"]["name"] == source["metadata"]["name"]
        assert (REPO / kustomization["spec"]["path"] / "kustomization.yaml").is_file()


def test_flux_health_checks_name_every_synced_model_deployment() -> None:
    [models] = [k for k in by_kind("Kustomization") if k["apiVersion"] == "kustomize.toolkit.fluxcd.io/v1"]
    synced = REPO / models["spec"]["path"]
    deployments = {
        (d["metadata"]["namespace"], d["metadata"]["name"])
        for name in documents(synced / "kustomization.yaml")[0]["resources"]
        for d in documents(synced / name)
        if d["kind"] == "ModelDeployment"
    }
    checks = {
        (c["namespace"], c["name"]) for c in models["spec"]["healthChecks"] if c["apiVersion"] == "mlops.dev/v1alpha1"
    }
    assert checks == deployments


def test_the_synced_models_are_valid_and_the_same_as_the_example() -> None:
    synced = documents(GITOPS / "apps" / "diabetes" / "model-deployments.yaml")
    assert synced == documents(REPO / "examples" / "blue-green.yaml")
    assert all(check(d) == [] for d in synced)


def test_argo_cd_applications_sync_the_chart_then_the_models() -> None:
    applications = by_kind("Application")
    assert [a["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] for a in applications] == ["0", "1"]
    for application in applications:
        assert application["apiVersion"] == "argoproj.io/v1alpha1"
        assert (REPO / application["spec"]["source"]["path"]).is_dir()


def test_argo_cd_health_lua_is_the_shared_script_for_both_kinds() -> None:
    [config] = by_kind("ConfigMap")
    lua = (GITOPS / "health.lua").read_text()
    assert set(config["data"]) == {f"resource.customizations.health.mlops.dev_{kind}" for kind in KINDS}
    assert all(script == lua for script in config["data"].values())


def lua_value(value: Any) -> str:
    """A Python value as a Lua literal (tables for dicts and lists, as Argo CD hands objects to Lua)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{json.dumps(k)}] = {lua_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "{" + ", ".join(lua_value(v) for v in value) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def health(obj: dict[str, Any]) -> tuple[str, str]:
    lua = shutil.which("lua5.1")
    if lua is None:
        pytest.skip("no Lua 5.1 interpreter (apt-get install lua5.1)")
    script = (GITOPS / "health.lua").read_text()
    program = (
        f"obj = {lua_value(obj)}\nlocal hs = (function()\n{script}\nend)()\nio.write(hs.status, '\\n', hs.message)"
    )
    result = subprocess.run([lua, "-"], input=program, capture_output=True, text=True, check=True)
    status, message = result.stdout.split("\n", 1)
    return status, message


def obj(generation: int, observed: int | None, *conditions: dict[str, str]) -> dict[str, Any]:
    status = {"conditions": list(conditions)} if conditions else {}
    if observed is not None:
        status["observedGeneration"] = observed
    return {"metadata": {"name": "blue", "generation": generation}, "status": status}


READY = {"type": "Ready", "status": "True", "reason": "Ready", "message": "serving 2/2 pods"}
ROLLING = {"type": "Ready", "status": "False", "reason": "RollingOut", "message": "1/2 pods", "severity": "Info"}
BROKEN = {
    "type": "Ready",
    "status": "False",
    "reason": "InstanceTypeNotFound",
    "message": "no gpu",
    "severity": "Error",
}
DEGRADED = {"type": "Degraded", "status": "True", "reason": "CrashLoopBackOff", "message": "pod restarts"}


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (obj(1, None), ("Progressing", "Waiting for the operator to write status")),
        (obj(2, 1, READY), ("Progressing", "Waiting for the operator to observe generation 2")),
        (obj(2, 2, READY), ("Healthy", "serving 2/2 pods")),
        (obj(2, 2, ROLLING), ("Progressing", "RollingOut: 1/2 pods")),
        (obj(2, 2, BROKEN), ("Degraded", "InstanceTypeNotFound: no gpu")),
        (obj(2, 2, ROLLING, DEGRADED), ("Degraded", "CrashLoopBackOff: pod restarts")),
    ],
    ids=["no-status", "older-generation", "ready", "rolling-out", "needs-a-human", "degraded"],
)
def test_argo_cd_health_follows_ready_degraded_and_observed_generation(
    state: dict[str, Any], expected: tuple[str, str]
) -> None:
    assert health(state) == expected

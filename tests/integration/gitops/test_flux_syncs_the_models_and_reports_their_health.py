"""Flux's own controllers sync deploy/gitops from a git server on 127.0.0.1 and judge our ModelDeployments.

source-controller and kustomize-controller (hack/flux/build.sh, from their Go modules) run as processes
against the session cluster; the operator runs under KopfRunner on kwok nodes. The GitRepository and the
Kustomization are deploy/gitops/flux/{sources,models}.yaml, with only the GitRepository's url and interval
patched (by kubectl's kustomize); the Kustomization's healthChecks are the committed ones, read by kstatus.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from native_backend import conftest as native
from native_backend.helpers import start_operator
from polling import wait_for

from mlops_operator.devcluster import LocalCluster
from mlops_operator.kube import Kube

from .flux_support import FLUX_NAMESPACE, FluxControllers, GitServer, commit_and_push, find_flux, git

REPO = Path(__file__).resolve().parents[3]
FLUX_MANIFESTS = REPO / "deploy/gitops/flux"
APP_PATH = Path("deploy/gitops/apps/diabetes")
MODELS_NAMESPACE = "default"  # the committed healthChecks name it
DEPLOYMENTS = ("diabetes-blue", "diabetes-green")
KUSTOMIZATION = "diabetes-models"
GIT_INTERVAL = "5s"
MISSING_INSTANCE_TYPE = "gpu-xxl-not-on-this-platform"
# kustomize-controller's health check polls every 5 s: watch two polls with the operator stopped.
OPERATOR_DOWN_S = 12.0
MD = ("mlops.dev/v1alpha1", "ModelDeployment")
KS = ("kustomize.toolkit.fluxcd.io/v1", "Kustomization")

pytestmark = pytest.mark.timeout(420)
# The native backend's session fixtures: our CRDs and the Gateway API's installed, a client, KUBECONFIG.
crds, kube, kubeconfig_env = native.crds, native.kube, native.kubeconfig_env


@dataclass
class Synced:
    """What the first sync showed: the revision, and the Kustomization seen while the operator was down."""

    revision: str
    checkout: Path
    while_operator_down: list[dict[str, Any]] = field(default_factory=list)
    unobserved_status: dict[str, Any] | None = None
    operator_started: float = 0.0
    models_ready_after_s: float = 0.0
    kustomization_ready_after_s: float = 0.0


def _ready(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    return next((c for c in ((obj or {}).get("status") or {}).get("conditions", []) if c["type"] == "Ready"), None)


def _md_ready(kube: Kube, name: str) -> bool:
    md = kube.get(*MD, name, MODELS_NAMESPACE)
    ready = _ready(md)
    return bool(
        md and ready and ready["status"] == "True" and ready.get("observedGeneration") == md["metadata"]["generation"]
    )


def _kustomization(kube: Kube) -> dict[str, Any]:
    return kube.get(*KS, KUSTOMIZATION, FLUX_NAMESPACE) or {}


def _flux_objects(cluster: LocalCluster, git_url: str, work: Path) -> str:
    """The committed GitRepository and Kustomization, the url and interval patched by kustomize."""
    work.mkdir(parents=True, exist_ok=True)
    for name in ("sources.yaml", "models.yaml"):
        shutil.copy(FLUX_MANIFESTS / name, work / name)
    ops = [
        {"op": "replace", "path": "/spec/url", "value": git_url},
        {"op": "replace", "path": "/spec/interval", "value": GIT_INTERVAL},
    ]
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["sources.yaml", "models.yaml"],
        "patches": [{"target": {"kind": "GitRepository", "name": "mlops-operator"}, "patch": json.dumps(ops)}],
    }
    (work / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    return cluster.kubectl("kustomize", str(work)).stdout


def _apply(cluster: LocalCluster, manifests: str) -> None:
    cluster.kubectl("apply", "--server-side", "--field-manager=flux-itest", "--filename=-", stdin=manifests)


def _platform_and_model_files(cluster: LocalCluster) -> None:
    """What the platform team and the pipeline's register step create (examples/, examples/pipelines/)."""
    _apply(cluster, (REPO / "examples/platform.yaml").read_text())
    gateway = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "mlops-gateway", "namespace": "mlops-system"},
        "spec": {"gatewayClassName": "traefik", "listeners": [{"name": "http", "protocol": "HTTP", "port": 8000}]},
    }
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mlops-system"}}
    score = (REPO / "examples/models/sklearn-diabetes/score.py").read_text()
    maps = [
        {"name": "sklearn-diabetes-code", "data": {"score.py": score}},
        # kwok pods never read the model: a placeholder stands in for the trained pickle.
        {"name": "sklearn-diabetes-model-v1", "data": {"model.pkl": "placeholder: kwok pods are fake"}},
        {"name": "sklearn-diabetes-model-v2", "data": {"model.pkl": "placeholder: kwok pods are fake"}},
    ]
    configmaps = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": m["name"], "namespace": MODELS_NAMESPACE}, **m}
        for m in maps
    ]
    for cm in configmaps:
        cm.pop("name")
    _apply(cluster, yaml.safe_dump_all([namespace, gateway, *configmaps]))


@pytest.fixture(scope="module")
def flux(crds: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FluxControllers]:
    assets = find_flux(REPO)
    crds.install_crds(assets / "crds")
    _apply(crds, yaml.safe_dump({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": FLUX_NAMESPACE}}))
    with FluxControllers(crds, assets, tmp_path_factory.mktemp("flux")).start() as controllers:
        yield controllers


@pytest.fixture(scope="module")
def git_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitServer]:
    with GitServer(tmp_path_factory.mktemp("git-server")).start() as server:
        yield server


@pytest.fixture(scope="module")
def synced(
    crds: LocalCluster,
    kube: Kube,
    kubeconfig_env: str,
    flux: FluxControllers,
    git_server: GitServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Synced]:
    """Push the app, let Flux apply it with the operator stopped, then start the operator."""
    url = git_server.create_repository("mlops-operator")
    checkout = tmp_path_factory.mktemp("checkout")
    git("clone", "--quiet", url, str(checkout))
    shutil.copytree(REPO / APP_PATH, checkout / APP_PATH)
    revision = commit_and_push(checkout, "the diabetes models, as in deploy/gitops/apps/diabetes")
    _platform_and_model_files(crds)
    _apply(crds, _flux_objects(crds, url, tmp_path_factory.mktemp("flux-objects")))
    synced = Synced(revision, checkout)
    with contextlib.ExitStack() as stack:
        stack.callback(_delete_everything, crds, kube)
        try:
            wait_for(lambda: all(kube.get(*MD, n, MODELS_NAMESPACE) for n in DEPLOYMENTS), 60, "Flux to apply the MDs")
            synced.unobserved_status = (kube.get(*MD, DEPLOYMENTS[0], MODELS_NAMESPACE) or {}).get("status")
            deadline = time.monotonic() + OPERATOR_DOWN_S
            while time.monotonic() < deadline:
                synced.while_operator_down.append(_kustomization(kube))
                time.sleep(0.5)
        except AssertionError as err:
            raise AssertionError(f"{err}\n{_flux_logs(flux, git_server)}") from err
        runner = stack.enter_context(start_operator())
        # LIFO: this cleanup runs while the operator still runs and can release its finalizers; the one
        # above covers a failure before it started (the MDs had no finalizers yet).
        stack.callback(_delete_everything, crds, kube)
        synced.operator_started = time.monotonic()
        try:
            wait_for(lambda: all(_md_ready(kube, n) for n in DEPLOYMENTS), 60, "the MDs to be Ready")
            synced.models_ready_after_s = time.monotonic() - synced.operator_started
            wait_for(lambda: _is_ready_at(kube, revision), 120, "the Kustomization to be Ready")
            synced.kustomization_ready_after_s = time.monotonic() - synced.operator_started
        except AssertionError as err:
            raise AssertionError(f"{err}\n{_flux_logs(flux, git_server)}") from err
        yield synced
    assert runner.exception is None, runner.exception


def _is_ready_at(api: Kube, revision: str) -> bool:
    ks = _kustomization(api)
    ready = _ready(ks)
    return bool(ready and ready["status"] == "True" and ks["status"].get("lastAppliedRevision", "").endswith(revision))


def _flux_logs(flux: FluxControllers, git_server: GitServer) -> str:
    logs = "\n".join(f"--- {name}\n{tail}" for name, tail in flux.logs())
    return f"{logs}\n--- git server requests: {git_server.requests[-10:]}"


def _delete_everything(cluster: LocalCluster, api: Kube) -> None:
    """Deleting the Kustomization prunes what it applied; then the platform the models used."""
    for kind, name in (("kustomization", KUSTOMIZATION), ("gitrepository", "mlops-operator")):
        cluster.kubectl("delete", kind, name, "-n", FLUX_NAMESPACE, "--ignore-not-found", "--timeout=60s", check=False)
    wait_for(lambda: not any(api.get(*MD, n, MODELS_NAMESPACE) for n in DEPLOYMENTS), 60, "the MDs to be pruned")
    cluster.kubectl("delete", "mlp", "local", "--ignore-not-found", "--wait=true", "--timeout=60s", check=False)


def test_the_kustomization_is_ready_only_after_the_model_deployments_are(
    synced: Synced,
    crds: LocalCluster,
    kube: Kube,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The CRD's one default: what kstatus reads as "latest generation not observed" (InProgress).
    assert synced.unobserved_status == {"observedGeneration": 0}
    seen = [(_ready(ks) or {}).get("status", "absent") for ks in synced.while_operator_down]
    assert seen, "the Kustomization was never read while the operator was stopped"
    assert "True" not in seen, f"Flux called the models healthy before the operator had judged them: {seen}"
    healthy = [c for c in synced.while_operator_down[-1]["status"]["conditions"] if c["type"] == "Healthy"]
    assert [c["status"] for c in healthy] == ["Unknown"], healthy

    ks = _kustomization(kube)
    ks_ready = _ready(ks)
    assert ks_ready is not None
    assert ks_ready["reason"] == "ReconciliationSucceeded"
    for name in DEPLOYMENTS:
        md_ready = _ready(kube.get(*MD, name, MODELS_NAMESPACE))
        assert md_ready is not None
        assert md_ready["lastTransitionTime"] <= ks_ready["lastTransitionTime"]
    shown = crds.kubectl("-n", FLUX_NAMESPACE, "get", "kustomization", KUSTOMIZATION).stdout.splitlines()
    assert shown[0].split()[:3] == ["NAME", "AGE", "READY"]
    assert shown[1].split()[2] == "True"
    inventory = {entry["id"] for entry in ks["status"]["inventory"]["entries"]}
    assert inventory == {f"{MODELS_NAMESPACE}_{name}_mlops.dev_ModelDeployment" for name in DEPLOYMENTS}
    with capsys.disabled():
        print(
            f"\nafter the operator started: models Ready {synced.models_ready_after_s:.1f}s, "
            f"Kustomization Ready {synced.kustomization_ready_after_s:.1f}s"
        )


def _set_instance_type(checkout: Path, name: str, instance_type: str) -> None:
    path = checkout / APP_PATH / "model-deployments.yaml"
    docs = list(yaml.safe_load_all(path.read_text()))
    for doc in docs:
        if doc["metadata"]["name"] == name:
            doc["spec"]["instanceType"] = instance_type
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))


def test_a_broken_model_deployment_fails_the_kustomization_with_its_reason(
    synced: Synced,
    crds: LocalCluster,
    kube: Kube,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _set_instance_type(synced.checkout, "diabetes-green", MISSING_INSTANCE_TYPE)
    broken = commit_and_push(synced.checkout, "green on an instance type the platform does not offer")
    pushed = time.monotonic()

    def failed() -> dict[str, Any] | None:
        ks = _kustomization(kube)
        ready = _ready(ks)
        attempted = ks.get("status", {}).get("lastAttemptedRevision", "")
        return ready if ready and ready["status"] == "False" and attempted.endswith(broken) else None

    ready = wait_for(failed, 120, "the Kustomization to fail")
    failed_after = time.monotonic() - pushed
    assert ready["reason"] == "HealthCheckFailed"
    assert "failed early due to stalled resources" in ready["message"]
    assert f"ModelDeployment/{MODELS_NAMESPACE}/diabetes-green status: 'Failed'" in ready["message"]
    # The object Flux names carries our reason: kstatus read it from Stalled.
    green = kube.get(*MD, "diabetes-green", MODELS_NAMESPACE) or {}
    stalled = next(c for c in green["status"]["conditions"] if c["type"] == "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "InstanceTypeNotFound")
    assert MISSING_INSTANCE_TYPE in stalled["message"]
    assert stalled["observedGeneration"] == green["metadata"]["generation"]
    jsonpath = 'jsonpath={.status.conditions[?(@.type=="Stalled")].reason}'
    shown = crds.kubectl("get", "mdep", "diabetes-green", "-n", MODELS_NAMESPACE, "-o", jsonpath).stdout
    assert shown == "InstanceTypeNotFound"

    _set_instance_type(synced.checkout, "diabetes-green", "small-cpu-model")
    fixed = commit_and_push(synced.checkout, "green back on small-cpu-model")
    wait_for(lambda: _is_ready_at(kube, fixed), 120, "the Kustomization to recover")
    with capsys.disabled():
        print(f"\nbroken commit to Kustomization Ready=False: {failed_after:.1f}s; message: {ready['message']}")

"""Where the binaries come from: directories named by the user, or hack/controlplane/build.sh and
hack/dataplane/build.sh (the real node's components)."""

from __future__ import annotations

import logging
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

ASSETS_ENV = "MLOPS_CONTROLPLANE_ASSETS"
BUILD_SCRIPT = Path("hack") / "controlplane" / "build.sh"
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok")
BUILD_TIMEOUT_S = 3600.0
DATAPLANE_ENV = "MLOPS_DATAPLANE_ASSETS"
DATAPLANE_SCRIPT = Path("hack") / "dataplane" / "build.sh"
DATAPLANE_BINARIES = (
    "runc", "containerd", "containerd-shim-runc-v2", "bridge", "host-local", "loopback", "registry", "crane",
    "buildkitd", "buildctl", "pause",
)  # fmt: skip


class AssetsError(RuntimeError):
    """The binaries are missing and could not be built; the message carries the build output."""


@dataclass(frozen=True)
class ControlPlaneAssets:
    """Paths of the binaries and of the Gateway API CRDs that come with them."""

    bin_dir: Path
    gateway_api_dir: Path | None

    def binary(self, name: str) -> Path:
        return self.bin_dir / name

    def missing(self) -> list[str]:
        return [name for name in BINARIES if not os.access(self.binary(name), os.X_OK)]


def find_repo_root(start: Path | None = None) -> Path:
    """The first parent of `start` (default: this file) that holds the build script."""
    here = (start or Path(__file__)).resolve()
    for candidate in (here, *here.parents):
        if (candidate / BUILD_SCRIPT).is_file():
            return candidate
    raise AssetsError(f"no {BUILD_SCRIPT} above {here}; pass repo_root or set {ASSETS_ENV}")


def assets_from_dir(directory: Path) -> ControlPlaneAssets:
    """Accept either the build output dir (with bin/ and gateway-api/) or a bare dir of binaries."""
    directory = directory.expanduser().resolve()
    bin_dir = directory / "bin" if (directory / "bin").is_dir() else directory
    gateway = next((d for d in (directory / "gateway-api", bin_dir.parent / "gateway-api") if d.is_dir()), None)
    assets = ControlPlaneAssets(bin_dir=bin_dir, gateway_api_dir=gateway)
    if missing := assets.missing():
        raise AssetsError(f"{bin_dir} lacks executable {', '.join(missing)}")
    return assets


def run_build_script(repo_root: Path, script: Path, log_path: Path | None = None) -> Path:
    """Run a hack/*/build.sh (a no-op when its cache is warm) and return the directory it prints last."""
    script = repo_root / script
    env = {k: v for k, v in os.environ.items() if k not in (ASSETS_ENV, DATAPLANE_ENV)}
    started = time.monotonic()
    logger.info("running %s (a cold build takes minutes, a cached run under a second)", script)
    result = subprocess.run(
        ["bash", str(script)],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
        raise AssetsError(f"{script} exited with {result.returncode}:\n{tail}")
    lines = result.stdout.strip().splitlines()
    if not lines:
        raise AssetsError(f"{script} printed no output directory; stderr:\n{result.stderr[-4000:]}")
    logger.info("%s done in %.1fs", script.parent.name, time.monotonic() - started)
    return Path(lines[-1])


def build_assets(repo_root: Path, log_path: Path | None = None) -> ControlPlaneAssets:
    return assets_from_dir(run_build_script(repo_root, BUILD_SCRIPT, log_path))


def find_dataplane_bin(repo_root: Path | None = None, log_path: Path | None = None) -> Path:
    """The real node's binaries: $MLOPS_DATAPLANE_ASSETS if set, else hack/dataplane/build.sh's output."""
    named = os.environ.get(DATAPLANE_ENV)
    directory = Path(named) if named else run_build_script(repo_root or find_repo_root(), DATAPLANE_SCRIPT, log_path)
    bin_dir = directory / "bin" if (directory / "bin").is_dir() else directory
    if missing := [name for name in DATAPLANE_BINARIES if not os.access(bin_dir / name, os.X_OK)]:
        raise AssetsError(f"{bin_dir} lacks executable {', '.join(missing)}")
    return bin_dir


def find_assets(repo_root: Path | None = None, log_path: Path | None = None) -> ControlPlaneAssets:
    """$MLOPS_CONTROLPLANE_ASSETS if set, else the build script's output (building if needed)."""
    if named := os.environ.get(ASSETS_ENV):
        return assets_from_dir(Path(named))
    return build_assets(repo_root or find_repo_root(), log_path)

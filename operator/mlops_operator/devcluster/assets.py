"""Where the control-plane binaries come from: a directory named by the user, or hack/controlplane/build.sh."""

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


def build_assets(repo_root: Path, log_path: Path | None = None) -> ControlPlaneAssets:
    """Run the build script (a no-op when its cache is warm) and use the directory it prints last."""
    script = repo_root / BUILD_SCRIPT
    env = {k: v for k, v in os.environ.items() if k != ASSETS_ENV}
    started = time.monotonic()
    logger.info("running %s (cold builds take 20-40 min, cached runs under a second)", script)
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
    logger.info("control plane assets ready in %.1fs", time.monotonic() - started)
    return assets_from_dir(Path(lines[-1]))


def find_assets(repo_root: Path | None = None, log_path: Path | None = None) -> ControlPlaneAssets:
    """$MLOPS_CONTROLPLANE_ASSETS if set, else the build script's output (building if needed)."""
    if named := os.environ.get(ASSETS_ENV):
        return assets_from_dir(Path(named))
    return build_assets(repo_root or find_repo_root(), log_path)

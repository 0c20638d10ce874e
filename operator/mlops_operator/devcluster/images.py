"""Our images, without Docker and without Docker Hub: a Debian base, the pause image, and the
Dockerfile's `operator` and `scoring` targets built by BuildKit, all pushed to the local registry.

- `python:3.11-slim` is assembled from Debian's own packages (mmdebstrap) and pushed under the name the
  Dockerfile's FROM uses; BuildKit's docker.io mirror is the local registry, so the Dockerfile builds
  unchanged. The egress proxy's CA reaches `pip` as a BuildKit secret (`ca-bundle`), never as a layer.
- `registry.k8s.io/pause:3.10.2` is Kubernetes' own pause.c, compiled by hack/dataplane/build.sh.
- Project image tags hash their inputs (Dockerfile, packaging files, operator/ and the base recipe), so
  unchanged code reuses the image and any change builds a new one.
- Clusters running side by side have a registry each on the same storage; a file lock lets one build
  while the other waits, then finds the images there.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import http.client
import logging
import os
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mlops_operator.devcluster.process import ManagedProcess, child_env
from mlops_operator.devcluster.registry import LOCAL_IMAGE_HOST, LocalRegistry

logger = logging.getLogger(__name__)

IMAGE_INPUTS = ("Dockerfile", ".dockerignore", "pyproject.toml", "constraints.txt", "README.md", "operator")
TARGETS = ("operator", "scoring")
DEBIAN_SUITE = "bookworm"
BASE_PACKAGES = ("python3", "python3-venv", "passwd", "ca-certificates", "tzdata")
BASE_PATH = "library/python"
BASE_TAG = "3.11-slim"
PAUSE_PATH, PAUSE_TAG = "pause", "3.10.2"
DEFAULT_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
CA_BUNDLE_ENV = "MLOPS_BUILD_CA_BUNDLE"
BUILD_TIMEOUT_S = 1800.0
MANIFEST_TYPES = ", ".join((
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
))  # fmt: skip
DEBIAN_SOURCES = (
    f"deb http://deb.debian.org/debian {DEBIAN_SUITE} main",
    f"deb http://deb.debian.org/debian {DEBIAN_SUITE}-updates main",
    f"deb http://deb.debian.org/debian-security {DEBIAN_SUITE}-security main",
)
# What the official Debian images do: no apt caches in layers, and (python:3.11-slim's behaviour) pip may
# install into the system interpreter.
BASE_HOOKS = (
    'printf \'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };\\n'
    'Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";\\n\' > "$1/etc/apt/apt.conf.d/docker-clean"',
    'rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED',
    'ln -sf /usr/bin/python3 "$1/usr/local/bin/python" && ln -sf /usr/bin/python3 "$1/usr/local/bin/python3"',
    'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*',
)
# debian:*-slim's trimming: no manuals, docs (copyright notices stay) or translations.
BASE_DPKG_OPTS = (
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/locale/*",
    "path-include=/usr/share/locale/locale.alias",
)
BASE_ENV = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8")


class ImageBuildError(RuntimeError):
    """A base image or a Dockerfile target failed to build; the message ends with the tool's output."""


@dataclass(frozen=True)
class ProjectImages:
    """What pods and the chart use (image names resolved through the local registry by the real node)."""

    operator: str
    scoring: str
    tag: str

    @property
    def operator_repository(self) -> str:
        return self.operator.rsplit(":", 1)[0]


def base_recipe_hash() -> str:
    text = "\n".join((DEBIAN_SUITE, *BASE_PACKAGES, *DEBIAN_SOURCES, *BASE_HOOKS, *BASE_DPKG_OPTS, *BASE_ENV))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _input_files(repo_root: Path) -> Iterator[Path]:
    for name in IMAGE_INPUTS:
        path = repo_root / name
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def source_tag(repo_root: Path) -> str:
    """A tag that changes exactly when something the images are built from changes."""
    digest = hashlib.sha256(base_recipe_hash().encode())
    for path in _input_files(repo_root):
        digest.update(str(path.relative_to(repo_root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return "src-" + digest.hexdigest()[:12]


def project_images(tag: str) -> ProjectImages:
    return ProjectImages(
        operator=f"{LOCAL_IMAGE_HOST}/mlops-operator/operator:{tag}",
        scoring=f"{LOCAL_IMAGE_HOST}/mlops-operator/scoring:{tag}",
        tag=tag,
    )


def image_exists(registry: LocalRegistry, path: str, tag: str) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", registry.port, timeout=10)
    try:
        conn.request("HEAD", f"/v2/{path}/manifests/{tag}", headers={"Accept": MANIFEST_TYPES})
        return conn.getresponse().status == http.HTTPStatus.OK
    finally:
        conn.close()


def _run(argv: list[str], what: str, timeout: float = BUILD_TIMEOUT_S) -> None:
    started = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True, env=child_env(), timeout=timeout, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
        raise ImageBuildError(f"{what} failed ({result.returncode}): {' '.join(argv[:3])} ...\n{tail}")
    logger.info("%s in %.0fs", what, time.monotonic() - started)


def ensure_pause(crane: Path, pause_binary: Path, registry: LocalRegistry) -> None:
    if image_exists(registry, PAUSE_PATH, PAUSE_TAG):
        return
    ref = registry.push_ref(f"{PAUSE_PATH}:{PAUSE_TAG}")
    with tempfile.TemporaryDirectory() as tmp:
        layer = Path(tmp) / "pause.tar"
        with tarfile.open(layer, "w") as tar:
            info = tar.gettarinfo(str(pause_binary), arcname="pause")
            info.mode, info.uid, info.gid, info.mtime = 0o755, 0, 0, 0
            with pause_binary.open("rb") as handle:
                tar.addfile(info, handle)
        _run([str(crane), "append", "--oci-empty-base", "-f", str(layer), "-t", ref], "pause layer")
    mutate = ["--set-platform", "linux/amd64", "--entrypoint", "/pause", "--user", "65535:65535"]
    _run([str(crane), "mutate", ref, *mutate, "-t", ref], "pause image")


def ensure_base(crane: Path, registry: LocalRegistry) -> None:
    """python:3.11-slim from Debian packages; rebuilt only when the recipe changes."""
    recipe_tag = f"{BASE_TAG}-{base_recipe_hash()}"
    if image_exists(registry, BASE_PATH, recipe_tag):
        if not image_exists(registry, BASE_PATH, BASE_TAG):
            _run([str(crane), "tag", registry.push_ref(f"{BASE_PATH}:{recipe_tag}"), BASE_TAG], "base tag")
        return
    ref = registry.push_ref(f"{BASE_PATH}:{recipe_tag}")
    with tempfile.TemporaryDirectory() as tmp:
        rootfs = Path(tmp) / "rootfs.tar"
        hooks = [f"--customize-hook={hook}" for hook in BASE_HOOKS]
        hooks += [f"--dpkgopt={option}" for option in BASE_DPKG_OPTS]
        argv = ["mmdebstrap", "--variant=minbase", "--mode=root", "--format=tar", "--quiet"]
        argv += [f"--include={','.join(BASE_PACKAGES)}", *hooks, DEBIAN_SUITE, str(rootfs), *DEBIAN_SOURCES]
        _run(argv, "Debian base rootfs (mmdebstrap)")
        _run([str(crane), "append", "--oci-empty-base", "-f", str(rootfs), "-t", ref], "base layer push")
    env = [arg for pair in BASE_ENV for arg in ("-e", pair)]
    _run([str(crane), "mutate", ref, "--set-platform", "linux/amd64", *env, "--cmd", "python3", "-t", ref], "base")
    _run([str(crane), "tag", ref, BASE_TAG], "base tag")


def buildkitd_config(root: Path, socket: Path, runc: Path, registry: LocalRegistry) -> str:
    return f"""root = "{root}"
[grpc]
  address = ["unix://{socket}"]
[worker.oci]
  enabled = true
  binary = "{runc}"
  networkMode = "host"
  gc = true
  gckeepstorage = "3GB"
[worker.containerd]
  enabled = false
[registry."{registry.address}"]
  http = true
  insecure = true
[registry."docker.io"]
  mirrors = ["{registry.address}"]
"""


def ca_bundle() -> Path | None:
    """The CA bundle pip trusts inside RUN steps: $MLOPS_BUILD_CA_BUNDLE, else this machine's bundle."""
    named = os.environ.get(CA_BUNDLE_ENV)
    path = Path(named) if named else DEFAULT_CA_BUNDLE
    return path if path.is_file() else None


def buildctl_argv(buildctl: Path, socket: Path, repo_root: Path, target: str, push_ref: str) -> list[str]:
    argv = [str(buildctl), "--addr", f"unix://{socket}", "build", "--frontend", "dockerfile.v0"]
    argv += ["--local", f"context={repo_root}", "--local", f"dockerfile={repo_root}", "--opt", f"target={target}"]
    if (bundle := ca_bundle()) is not None:
        argv += ["--secret", f"id=ca-bundle,src={bundle}"]
    argv += ["--output", f"type=image,name={push_ref},push=true,registry.insecure=true"]
    return argv


def _buildkit_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mlops-operator" / "buildkit"


def build_targets(repo_root: Path, dataplane_bin: Path, registry: LocalRegistry, tag: str) -> None:
    """Build and push the Dockerfile targets missing from the registry, with a buildkitd of our own."""
    missing = [t for t in TARGETS if not image_exists(registry, f"mlops-operator/{t}", tag)]
    if not missing:
        return
    with tempfile.TemporaryDirectory(prefix="mlops-buildkit-") as tmp:
        socket, config = Path(tmp) / "buildkitd.sock", Path(tmp) / "buildkitd.toml"
        config.write_text(buildkitd_config(_buildkit_cache(), socket, dataplane_bin / "runc", registry))
        daemon = ManagedProcess("buildkitd", [str(dataplane_bin / "buildkitd"), f"--config={config}"],
                                Path(tmp) / "buildkitd.log")  # fmt: skip
        daemon.start(die_with_parent=True)
        try:
            daemon.wait_ready(socket.exists, time.monotonic() + 60)
            for target in missing:
                ref = registry.push_ref(f"mlops-operator/{target}:{tag}")
                _run(buildctl_argv(dataplane_bin / "buildctl", socket, repo_root, target, ref), f"image {target}")
        except ImageBuildError as err:
            raise ImageBuildError(f"{err}\nbuildkitd log:\n{daemon.log_tail(20)}") from err
        finally:
            daemon.stop()


@contextlib.contextmanager
def _storage_lock(storage: Path) -> Iterator[None]:
    """Held while checking and building: two builds into one storage would race and cost twice the time."""
    storage.parent.mkdir(parents=True, exist_ok=True)
    with (storage.parent / "build.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def ensure_images(repo_root: Path, dataplane_bin: Path, registry: LocalRegistry) -> ProjectImages:
    """Everything a real node needs, built only where missing: pause, the base, our two images."""
    started = time.monotonic()
    with _storage_lock(registry.storage):
        ensure_pause(dataplane_bin / "crane", dataplane_bin / "pause", registry)
        ensure_base(dataplane_bin / "crane", registry)
        tag = source_tag(repo_root)
        build_targets(repo_root, dataplane_bin, registry, tag)
    logger.info("images ready in %.1fs (tag %s)", time.monotonic() - started, tag)
    return project_images(tag)

"""The local OCI registry (distribution's `registry serve`) on 127.0.0.1 with on-disk storage kept in the
user's cache, so images built once are reused by every later cluster.

Pods never name this registry: they use ordinary image names (`mlops.localhost/mlops-operator/scoring:<tag>`,
`registry.k8s.io/pause:3.10.2`, ...) and the real node's containerd resolves every registry host to it
(see nodeconfig.registry_hosts_toml). Builds push to `127.0.0.1:<port>/<path>`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from mlops_operator.devcluster.process import LOOPBACK, ManagedProcess, free_ports, probe_http

LOCAL_IMAGE_HOST = "mlops.localhost"
"""The registry host in the image names pods use; `.localhost` is reserved, so it can never be a real one."""


def default_storage() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "mlops-operator" / "registry"


def registry_config(storage: Path, port: int) -> dict[str, object]:
    return {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
        "http": {"addr": f"{LOOPBACK}:{port}"},
    }


@dataclass
class LocalRegistry:
    """A running registry; `push_ref(path)` is how builders name an image in it."""

    binary: Path
    work_dir: Path
    storage: Path
    port: int = 0
    process: ManagedProcess | None = None

    def start(self, deadline_s: float = 30.0, *, die_with_parent: bool = True) -> LocalRegistry:
        self.port = self.port or free_ports(1)[0]
        self.storage.mkdir(parents=True, exist_ok=True)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        config = self.work_dir / "registry.yaml"
        config.write_text(yaml.safe_dump(registry_config(self.storage, self.port)))
        process = ManagedProcess("registry", [str(self.binary), "serve", str(config)], self.work_dir / "registry.log")
        process.env["OTEL_TRACES_EXPORTER"] = "none"  # else it tries to export traces to localhost:4318
        process.start(die_with_parent=die_with_parent)
        self.process = process
        process.wait_ready(lambda: probe_http(self.port, "/v2/"), time.monotonic() + deadline_s)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def push_ref(self, path: str) -> str:
        return f"{self.address}/{path}"

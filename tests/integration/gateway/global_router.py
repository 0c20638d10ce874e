"""Traefik as a GlobalEndpoint's global router: only its file provider, watching a directory the operator
writes one file per GlobalEndpoint into (router.traefik.configPath)."""

from __future__ import annotations

import time
from pathlib import Path

from mlops_operator.devcluster.gateway import find_traefik
from mlops_operator.devcluster.process import ManagedProcess, child_env, free_ports, probe_http


class GlobalRouter:
    """Traefik with only its file provider, watching a directory the hub operator writes into."""

    def __init__(self, directory: Path, logs: Path) -> None:
        self.directory = directory
        self.port, ping = free_ports(2)
        argv = [
            str(find_traefik()),
            "--global.checkNewVersion=false",
            "--global.sendAnonymousUsage=false",
            "--log.level=INFO",
            f"--providers.file.directory={directory}",
            "--providers.file.watch=true",
            "--providers.providersThrottleDuration=0s",
            f"--entryPoints.web.address=127.0.0.1:{self.port}",
            f"--entryPoints.ping.address=127.0.0.1:{ping}",
            "--ping=true",
            "--ping.entryPoint=ping",
        ]
        self._ping = ping
        self.process = ManagedProcess("global-router", argv, logs / "global-router.log", env=child_env({}))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> GlobalRouter:
        self.process.start(die_with_parent=True)
        self.process.wait_ready(lambda: probe_http(self._ping, "/ping"), time.monotonic() + 30)
        return self

    def stop(self) -> None:
        self.process.stop()

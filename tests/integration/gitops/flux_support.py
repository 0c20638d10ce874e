"""Flux's own controllers and a git server, as local processes next to the session's control plane.

- `GitServer`: `git http-backend` (git's smart HTTP server, the CGI program) behind a small threaded HTTP
  server on 127.0.0.1, so a GitRepository's `url` is a real http:// git remote.
- `FluxControllers`: source-controller and kustomize-controller built by hack/flux/build.sh from their Go
  modules, run against the cluster's admin kubeconfig with every listener on a free loopback port.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Self

from mlops_operator.devcluster import AssetsError, LocalCluster
from mlops_operator.devcluster.assets import run_build_script
from mlops_operator.devcluster.process import LOOPBACK, ManagedProcess, child_env, free_ports, probe_http

FLUX_BUILD_SCRIPT = Path("hack/flux/build.sh")
FLUX_ASSETS_ENV = "MLOPS_FLUX_ASSETS"
CONTROLLERS = ("source-controller", "kustomize-controller")
FLUX_NAMESPACE = "flux-system"
IN_CLUSTER_VARS = ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")
GIT = shutil.which("git") or "git"
GIT_TIMEOUT_S = 30.0


def find_flux(repo_root: Path) -> Path:
    """The build output: $MLOPS_FLUX_ASSETS, else hack/flux/build.sh (a no-op when cached)."""
    named = os.environ.get(FLUX_ASSETS_ENV)
    directory = Path(named) if named else run_build_script(repo_root, FLUX_BUILD_SCRIPT)
    missing = [name for name in CONTROLLERS if not os.access(directory / "bin" / name, os.X_OK)]
    if missing or not list((directory / "crds").glob("*.yaml")):
        raise AssetsError(f"{directory} lacks bin/{', bin/'.join(missing) or '...'} or crds/*.yaml")
    return directory


class _GitHandler(BaseHTTPRequestHandler):
    """Hands each request to `git http-backend` as CGI and relays its answer."""

    server: _GitHTTPServer

    def do_GET(self) -> None:
        self._cgi()

    def do_POST(self) -> None:
        self._cgi()

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _cgi(self) -> None:
        path, _, query = self.path.partition("?")
        body = self._body()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": self.client_address[0],
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
        }
        result = subprocess.run(
            [GIT, "http-backend"], input=body, env=env, capture_output=True, timeout=GIT_TIMEOUT_S, check=False
        )
        separator = b"\r\n\r\n" if b"\r\n\r\n" in result.stdout else b"\n\n"
        head, _, payload = result.stdout.partition(separator)
        headers = [line.split(":", 1) for line in head.decode("latin-1").splitlines() if ":" in line]
        status = next((int(value.split()[0]) for name, value in headers if name.lower() == "status"), 200)
        self.server.requests.append(f"{self.command} {path} {status}")
        self.send_response(status)
        for name, value in headers:
            if name.lower() != "status":
                self.send_header(name, value.strip())
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the requests are recorded in `server.requests` instead."""


class _GitHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__((LOOPBACK, 0), _GitHandler)
        self.root = root
        self.requests: list[str] = []


class GitServer:
    """Bare repositories under `root`, served read/write over smart HTTP on 127.0.0.1."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._server = _GitHTTPServer(root)
        self._thread = threading.Thread(target=self._server.serve_forever, name="git-http", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self._server.server_address[1]}"

    @property
    def requests(self) -> list[str]:
        """`METHOD path status` of every request served, in order."""
        return list(self._server.requests)

    def create_repository(self, name: str) -> str:
        """A new bare repository that accepts pushes; returns its clone URL."""
        bare = self.root / f"{name}.git"
        git("init", "--bare", "--initial-branch=main", str(bare))
        git("config", "http.receivepack", "true", cwd=bare)
        return f"{self.url}/{name}.git"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def git(*args: str, cwd: Path | None = None) -> str:
    """Run git with a fixed identity and no user or system config; raise with its output on failure."""
    env = child_env(
        {
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_AUTHOR_NAME": "mlops-operator tests",
            "GIT_AUTHOR_EMAIL": "tests@mlops.invalid",
            "GIT_COMMITTER_NAME": "mlops-operator tests",
            "GIT_COMMITTER_EMAIL": "tests@mlops.invalid",
        }
    )
    result = subprocess.run(
        [GIT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout.strip()


def commit_and_push(checkout: Path, message: str) -> str:
    """Commit everything in `checkout` and push it to origin main; returns the commit's sha."""
    git("add", "--all", cwd=checkout)
    git("commit", "--quiet", "--message", message, cwd=checkout)
    git("push", "--quiet", "origin", "HEAD:main", cwd=checkout)
    return git("rev-parse", "HEAD", cwd=checkout)


class FluxControllers:
    """source-controller and kustomize-controller as processes, their artifacts served on 127.0.0.1."""

    def __init__(self, cluster: LocalCluster, assets: Path, work_dir: Path) -> None:
        ports = free_ports(5)
        self.storage_port, self._health = ports[0], dict(zip(CONTROLLERS, ports[1:3], strict=True))
        metrics = dict(zip(CONTROLLERS, ports[3:5], strict=True))
        storage = work_dir / "source-controller-storage"
        storage.mkdir(parents=True, exist_ok=True)
        env = {key: value for key, value in child_env().items() if key not in IN_CLUSTER_VARS}
        env.update({"KUBECONFIG": str(cluster.kubeconfig_path), "RUNTIME_NAMESPACE": FLUX_NAMESPACE})
        extra = {
            "source-controller": [
                f"--storage-path={storage}",
                f"--storage-addr={LOOPBACK}:{self.storage_port}",
                f"--storage-adv-addr={LOOPBACK}:{self.storage_port}",
            ],
            "kustomize-controller": ["--no-remote-bases=true"],
        }
        self.processes = [
            ManagedProcess(
                name,
                [
                    str(assets / "bin" / name),
                    f"--metrics-addr={LOOPBACK}:{metrics[name]}",
                    f"--health-addr={LOOPBACK}:{self._health[name]}",
                    "--enable-leader-election=false",
                    "--log-level=debug",
                    *extra[name],
                ],
                cluster.logs_dir / f"{name}.log",
                env=env,
            )
            for name in CONTROLLERS
        ]
        self._die_with_parent = cluster.config.die_with_parent

    def start(self, timeout: float = 60.0) -> Self:
        """Launch both and wait for their /readyz; on failure both are stopped."""
        try:
            for process in self.processes:
                process.start(die_with_parent=self._die_with_parent)
            deadline = time.monotonic() + timeout
            for process in self.processes:
                port = self._health[process.name]
                process.wait_ready(functools.partial(probe_http, port, "/readyz"), deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def logs(self) -> Iterator[tuple[str, str]]:
        for process in self.processes:
            yield process.name, process.log_tail(40)

    def stop(self) -> None:
        for process in self.processes:
            process.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

"""Child processes that always die: own process group, log file, readiness polling with a deadline.

Every address here is 127.0.0.1. Nothing in this module can reach another host: probes take a port, not a
host, and child processes get an environment without proxy variables.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import logging
import os
import random
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
POLL_INTERVAL_S = 0.1
STOP_TIMEOUT_S = 10.0
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
PR_SET_PDEATHSIG = 1
# Below Linux's default ephemeral range (32768-60999) and Kubernetes' NodePort range (30000-32767).
FREE_PORT_RANGE = (20000, 30000)


class ComponentError(RuntimeError):
    """A component failed to start; the message ends with the tail of its log."""

    def __init__(self, component: str, reason: str, log_tail: str) -> None:
        super().__init__(f"{component} {reason}; last log lines:\n{log_tail}")
        self.component = component


def free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 right now, outside the kernel's ephemeral range.

    A port from the ephemeral range (what binding port 0 gives) can be taken before its server binds it,
    by any outgoing connection's source port, or by a scrape of it connecting to itself (TCP simultaneous
    open). Picking from FREE_PORT_RANGE (below the ephemeral range and Kubernetes' NodePorts) avoids both.
    """
    picked: list[socket.socket] = []
    try:
        for port in _candidate_ports():
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.bind((LOOPBACK, port))
            except OSError:
                sock.close()
                continue
            picked.append(sock)
            if len(picked) == count:
                return [int(sock.getsockname()[1]) for sock in picked]
        raise ComponentError("free_ports", f"found only {len(picked)} of {count} free ports", "")
    finally:
        for sock in picked:
            sock.close()


def _candidate_ports() -> list[int]:
    low, high = FREE_PORT_RANGE
    return random.sample(range(low, high), min(high - low, 2000))


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The parent's environment minus proxies and KUBECONFIG, so no child talks past loopback."""
    env = {key: value for key, value in os.environ.items() if key.lower() not in PROXY_VARS and key != "KUBECONFIG"}
    env["NO_PROXY"] = env["no_proxy"] = f"{LOOPBACK},localhost"
    env.update(extra or {})
    return env


def probe_http(port: int, path: str, context: ssl.SSLContext | None = None, timeout: float = 2.0) -> bool:
    """True if GET http(s)://127.0.0.1:<port><path> answers 200."""
    conn: http.client.HTTPConnection
    if context is None:
        conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    else:
        conn = http.client.HTTPSConnection(LOOPBACK, port, timeout=timeout, context=context)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status == http.HTTPStatus.OK
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGKILL it when the parent dies, even by SIGKILL."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class ManagedProcess:
    """One component: started in its own session so that stopping it reaps the whole group."""

    name: str
    argv: Sequence[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=child_env)
    popen: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0

    def start(self, *, die_with_parent: bool) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.started_at = time.monotonic()
        logger.debug("starting %s: %s", self.name, " ".join(self.argv))
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                list(self.argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
                preexec_fn=_die_with_parent if die_with_parent else None,  # noqa: PLW1509
            )

    @property
    def pid(self) -> int:
        if self.popen is None:
            raise RuntimeError(f"{self.name} was never started")
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM the process group, SIGKILL it after `timeout`; safe to call twice."""
        if self.popen is None or self.popen.returncode is not None:
            return
        _signal_group(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.warning("%s ignored SIGTERM for %.0fs; killing it", self.name, timeout)
            _signal_group(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout)
        _signal_group(self.popen.pid, signal.SIGKILL)  # stragglers left in the group

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(self.log_path, lines)

    def wait_ready(self, probe: Callable[[], bool], deadline: float) -> None:
        """Poll `probe` until it passes; fail fast if the process exits, fail at `deadline` (monotonic)."""
        while True:
            if self.popen is not None and (code := self.popen.poll()) is not None:
                raise ComponentError(self.name, f"exited with code {code}", self.log_tail())
            if probe():
                logger.debug("%s ready %.2fs after launch", self.name, time.monotonic() - self.started_at)
                return
            if time.monotonic() > deadline:
                raise ComponentError(self.name, "was not ready before the deadline", self.log_tail())
            time.sleep(POLL_INTERVAL_S)


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        content = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return "(no log file)"
    return "\n".join(content[-lines:])


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _is_running(pid: int) -> bool:
    """Alive and not a zombie (a zombie is dead but still answers kill(pid, 0))."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def process_executable(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def terminate_pid(pid: int, executable: str, timeout: float = STOP_TIMEOUT_S) -> bool:
    """Stop a process this code started earlier (maybe from another Python process).

    The pid is only signalled while /proc says it still runs `executable`, so a recycled pid is left alone.
    Returns True if the process is gone afterwards.
    """
    if process_executable(pid) != executable:
        return not _is_running(pid)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        _signal_group(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _is_running(pid):
                return True
            time.sleep(POLL_INTERVAL_S)
    return not _is_running(pid)

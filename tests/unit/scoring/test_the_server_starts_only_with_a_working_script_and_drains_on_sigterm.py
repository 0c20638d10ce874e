"""Process behaviour: a broken script stops the worker before it serves; SIGTERM finishes in-flight work."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from conftest import SCRIPTS
from mlops_operator.scoring.config import ScoringConfig
from mlops_operator.scoring.metrics import MetricsBlock
from mlops_operator.scoring.server import EXIT_BOOT_FAILURE, run_worker

DEADLINE_S = 30.0


def test_a_worker_whose_init_raises_exits_with_3_before_serving(config_for: Callable[..., ScoringConfig]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        assert run_worker(config_for(SCRIPTS / "init_raises.py"), sock, MetricsBlock(1), 0, None) == EXIT_BOOT_FAILURE


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{what} within {DEADLINE_S} s")


def test_sigterm_lets_an_in_flight_request_finish_then_exits_0(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable, "-m", "mlops_operator.scoring", "--entry-script", str(SCRIPTS / "slow_loop.py"),
        "--port", str(port), "--host", "127.0.0.1", "--workers", "2",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZUREML_", "AML_", "MLOPS_"))}
    server = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(f"{url}/readiness", timeout=1).status_code == 200, "server ready")
        with ThreadPoolExecutor(max_workers=1) as executor:
            slow = executor.submit(httpx.post, f"{url}/score", content=b'{"sleep": 1.0}', timeout=DEADLINE_S)
            wait_for(lambda: "inflight_requests 1" in httpx.get(f"{url}/metrics", timeout=1).text, "request in flight")
            server.send_signal(signal.SIGTERM)
            assert slow.result(timeout=DEADLINE_S).json() == {"done": True}
        assert server.wait(timeout=DEADLINE_S) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=5)

"""Run our scoring server and azureml-inference-server-http side by side on the same score.py.

Upstream lives in its own virtualenv (hack/aml-venv.sh) because its pins conflict with ours. Servers are
started once per script and module, listen on 127.0.0.1 only, and are waited for by polling their
liveness route with a deadline; nothing sleeps a fixed time.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = Path(__file__).resolve().parent / "scripts"
EXAMPLE = REPO / "examples" / "models" / "sklearn-diabetes"
AML_VENV_SCRIPT = REPO / "hack" / "aml-venv.sh"
START_DEADLINE_S = 60.0
VENV_DEADLINE_S = 600.0


@dataclass(frozen=True)
class Pair:
    """Base URLs of the two servers serving the same script."""

    ours: str
    theirs: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def aml_python() -> Path:
    """The interpreter of the upstream server's venv, created on first use; skip if it cannot be made."""
    try:
        result = subprocess.run(
            ["bash", str(AML_VENV_SCRIPT)], capture_output=True, text=True, timeout=VENV_DEADLINE_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as ex:
        pytest.skip(f"cannot create the azureml-inference-server-http venv: {ex}")
    if result.returncode != 0:
        pytest.skip(f"cannot create the azureml-inference-server-http venv: {result.stderr[-2000:]}")
    return Path(result.stdout.strip().splitlines()[-1]) / "bin" / "python"


def our_command(script: Path, port: int, model_dir: Path) -> list[str]:
    return [
        sys.executable, "-m", "mlops_operator.scoring", "--entry-script", str(script), "--port", str(port),
        "--host", "127.0.0.1", "--workers", "1", "--model-dir", str(model_dir),
    ]  # fmt: skip


def their_command(aml_python: Path, script: Path, port: int, model_dir: Path) -> list[str]:
    return [
        str(aml_python), "-m", "azureml_inference_server_http", "--entry_script", str(script),
        "--port", str(port), "--worker_count", "1", "--model_dir", str(model_dir),
    ]  # fmt: skip


def wait_until_live(url: str, process: subprocess.Popen[bytes], deadline_s: float = START_DEADLINE_S) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server for {url} exited with {process.returncode} before it was live")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/", timeout=1.0).status_code == 200:
                return
        time.sleep(0.05)
    raise TimeoutError(f"server for {url} not live within {deadline_s} s")


class ServerProcess:
    """One server subprocess with its log file."""

    def __init__(self, command: list[str], port: int, env: dict[str, str], log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        with log.open("wb") as sink:
            self.process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT, cwd=log.parent)

    def wait_live(self) -> str:
        try:
            wait_until_live(self.url, self.process)
        except (RuntimeError, TimeoutError) as ex:
            raise RuntimeError(f"{ex}\n--- {self.log} ---\n{self.log.read_text()[-3000:]}") from None
        return self.url

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL if it does not exit within the deadline."""
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZUREML_", "AML_", "MLOPS_"))}
    env.update(extra or {})
    return env


@pytest.fixture(scope="module")
def serve_pair(
    aml_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., contextlib.AbstractContextManager[Pair]]:
    """A factory: `with serve_pair(script, env=..., model_dir=...) as pair:` runs both servers."""

    @contextlib.contextmanager
    def start(script: Path, env: dict[str, str] | None = None, model_dir: Path | None = None) -> Iterator[Pair]:
        workdir = tmp_path_factory.mktemp(script.stem)
        model = model_dir or workdir
        environment = server_env(env)
        ours_port, theirs_port = free_port(), free_port()
        ours = ServerProcess(our_command(script, ours_port, model), ours_port, environment, workdir / "ours.log")
        theirs = ServerProcess(
            their_command(aml_python, script, theirs_port, model), theirs_port, environment, workdir / "theirs.log"
        )
        try:
            yield Pair(ours.wait_live(), theirs.wait_live())
        finally:
            ours.stop()
            theirs.stop()

    return start


@pytest.fixture(scope="session")
def diabetes_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example's model.pkl, trained now by the example's own train.py (bundled data, no download)."""
    model_dir = tmp_path_factory.mktemp("diabetes-model")
    subprocess.run([sys.executable, str(EXAMPLE / "train.py"), str(model_dir)], check=True, timeout=120)
    return model_dir

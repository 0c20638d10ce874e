"""The operator as a process of its own, so that it can be SIGKILLed mid-pass and started again.

It runs through the azureml tests' entry point (`azureml.operator_entry`: every handler, plus the static-token
credential the fake ARM server accepts); everything else comes from the ordinary MLOPS_* settings.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from fake_arm import FakeArm
from mlops_operator.devcluster import LocalCluster
from mlops_operator.devcluster.process import ManagedProcess, child_env

REPO = Path(__file__).resolve().parents[3]
PYTHONPATH = [REPO / "tests", REPO / "tests" / "integration", REPO / "operator"]
ARGV = [sys.executable, "-m", "kopf", "run", "--all-namespaces", "--standalone", "-m", "azureml.operator_entry"]
RESYNC_SECONDS = 30
KILL_WAIT_SECONDS = 10.0


class OperatorProcess:
    """Start, SIGKILL and start again; every start appends to one log file."""

    def __init__(self, cluster: LocalCluster, fake: FakeArm, log_path: Path) -> None:
        self.log_path = log_path
        self.env = child_env(
            {
                "KUBECONFIG": str(cluster.kubeconfig_path),
                "PYTHONPATH": os.pathsep.join(str(p) for p in PYTHONPATH),
                "MLOPS_AZURE_RESOURCE_MANAGER": fake.base_url,
                "MLOPS_AZURE_CA_BUNDLE": fake.ca_bundle,
                "MLOPS_AZURE_POLL_SECONDS": "0.5",
                "MLOPS_DRIFT_INTERVAL_SECONDS": str(RESYNC_SECONDS),
                "MLOPS_LIVENESS_PORT": "0",
                "PYTHONUNBUFFERED": "1",  # a SIGKILLed operator leaves its last log lines behind
            }
        )
        self.process: ManagedProcess | None = None
        self.starts = 0
        self.kills = 0
        self.kill_times: list[float] = []  # wall clock, as the fake ARM server stamps its requests
        self.start_times: list[float] = []

    def start(self) -> None:
        if self.process is not None and self.process.alive():
            raise RuntimeError("the operator is already running")
        self.process = ManagedProcess("operator", ARGV, self.log_path, env=self.env)
        self.process.start(die_with_parent=True)
        self.starts += 1
        self.start_times.append(time.time())

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a node failure would: no cleanup, no finished writes."""
        if self.process is None or not self.process.alive():
            raise RuntimeError(f"the operator is not running; log tail:\n{self.log_tail()}")
        os.killpg(self.process.pid, signal.SIGKILL)
        deadline = time.monotonic() + KILL_WAIT_SECONDS
        while self.process.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.kills += 1
        self.kill_times.append(time.time())

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def running(self) -> bool:
        return self.process is not None and self.process.alive()

    def log_tail(self, lines: int = 40) -> str:
        return self.process.log_tail(lines) if self.process is not None else "(never started)"

"""The README quick start: `mlopsctl dev` brings every example to Ready, and --stop cleans up.

Here on kwok nodes: the session's real-node cluster owns this machine's one real node while the suite runs
(tests/integration/realnode covers real pods; docs/testing.md has the real-node `mlopsctl dev` timings).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_mlopsctl_dev_brings_every_example_to_ready_and_stops_cleanly(tmp_path: Path) -> None:
    mlopsctl = [sys.executable, "-m", "mlops_operator.cli.main", "dev", "--state-dir", str(tmp_path / "dev")]
    mlopsctl += ["--nodes", "kwok"]
    started = subprocess.run(
        [*mlopsctl, "--detach", "--timeout", "120"], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        table = started.stdout.splitlines()
        rows = [line.split() for line in table[1:4]]
        assert {row[2] for row in rows} == {"local", "diabetes-blue", "diabetes-green"}
        assert all(row[3] == "True" for row in rows), started.stdout
        assert "httproute/diabetes-endpoint" in started.stdout
        assert (tmp_path / "dev" / "kubeconfig").exists()
    finally:
        stopped = subprocess.run(
            [*mlopsctl, "--stop"], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
        )
    assert stopped.returncode == 0, stopped.stderr
    assert not (tmp_path / "dev" / "devcluster.json").exists()

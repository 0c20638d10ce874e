"""bench/operator_scale.py's small case (N=50) as a smoke run: every phase works; no timing is asserted.

The benchmark starts its own cluster (with the API server's audit log) and runs the operator as a process
under its own ServiceAccount, so what is counted here is exactly what the operator asked for.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import operator_scale  # noqa: E402  (bench/ is a directory of scripts, not a package)

N = 50


def test_fifty_model_deployments_become_ready_idle_without_writes_update_and_delete() -> None:
    args = operator_scale.parse(["--n", str(N), "--idle-seconds", "12", "--resync-seconds", "5", "--timeout", "240"])
    run, floor = operator_scale.measure(args)

    assert len(run.latencies) == N
    assert all(math.isfinite(x) and x >= 0 for x in run.latencies)
    assert run.create.by_verb["patch"] >= N  # at least one status write each
    assert run.idle.total > 0  # resyncs came (5 s period in a 12 s window) ...
    assert run.idle.writes == 0, run.idle.by_verb  # ... and changed nothing
    assert len(run.tracker.gone) == N  # the delete wave went through the finalizer
    assert sum(len(g.deployments) for g in run.children.values()) == N
    assert sum(1 for g in run.children.values() for c in g.children if c["kind"] == "Deployment") == N
    assert floor.seconds > 0
    assert len(floor.latencies) == N  # every Deployment the operator made, applied again and available

"""A state file for detached clusters, so another process (`mlopsctl dev --stop`) can stop them later."""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mlops_operator.devcluster.process import terminate_pid

logger = logging.getLogger(__name__)

STATE_FILE = "devcluster.json"
STATE_VERSION = 1


@dataclass(frozen=True)
class ProcessRecord:
    name: str
    pid: int
    executable: str


@dataclass(frozen=True)
class ClusterState:
    """Everything needed to find, use and stop a cluster whose starter has exited."""

    work_dir: str
    owns_work_dir: bool
    kubeconfig: str
    server_url: str
    ca_cert: str
    processes: list[ProcessRecord] = field(default_factory=list)
    node_dir: str | None = None
    """The real node's directory, if the cluster has one: its leftovers are cleaned from there."""
    version: int = STATE_VERSION


def state_path(state_dir: Path) -> Path:
    return state_dir / STATE_FILE


def write_state(state_dir: Path, state: ClusterState) -> Path:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_path(state_dir)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2) + "\n")
    tmp.replace(path)
    return path


def read_state(state_dir: Path) -> ClusterState | None:
    path = state_path(state_dir)
    if not path.is_file():
        return None
    raw = json.loads(path.read_text())
    processes = [ProcessRecord(**p) for p in raw.pop("processes", [])]
    return ClusterState(processes=processes, **raw)


def stop_from_state(state_dir: Path, *, remove_work_dir: bool | None = None) -> bool:
    """Stop the cluster recorded in `state_dir` (newest component first) and delete the state file.

    Returns False if there was no state file. The work dir is removed if the cluster created it, unless
    `remove_work_dir` says otherwise. A pid now running some other program is never signalled.
    """
    state = read_state(state_dir)
    if state is None:
        return False
    survivors = [
        record.name for record in reversed(state.processes) if not terminate_pid(record.pid, record.executable)
    ]
    if survivors:
        raise RuntimeError(f"could not stop {', '.join(survivors)}; state kept in {state_path(state_dir)}")
    if state.node_dir is not None:
        from mlops_operator.devcluster.realnode import cleanup_node  # realnode imports this module's users

        cleanup_node(Path(state.node_dir))
    if remove_work_dir if remove_work_dir is not None else state.owns_work_dir:
        shutil.rmtree(state.work_dir, ignore_errors=True)
    state_path(state_dir).unlink(missing_ok=True)
    logger.info("stopped the dev cluster recorded in %s", state_dir)
    return True

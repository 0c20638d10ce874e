"""A score.py that cannot be served stops both servers at start with exit code 3, not per request."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import SCRIPTS, free_port, our_command, server_env, their_command

pytestmark = pytest.mark.differential

EXIT_DEADLINE_S = 60
BOOT_FAILURE = 3


def exit_code(command: list[str], cwd: Path) -> tuple[int, str]:
    result = subprocess.run(
        command, env=server_env(), cwd=cwd, capture_output=True, text=True, timeout=EXIT_DEADLINE_S, check=False
    )
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ("failing_init.py", "model file is missing"),
        ("failing_import.py", "a_module_that_does_not_exist"),
        ("missing_run.py", "does not have a run() function"),
    ],
)
@pytest.mark.parametrize("workers", [1, 2])
def test_unservable_script_exits_with_3_and_says_why(
    aml_python: Path, tmp_path: Path, script: str, reason: str, workers: int
) -> None:
    ours = our_command(SCRIPTS / script, free_port(), tmp_path)
    ours[ours.index("--workers") + 1] = str(workers)
    code, output = exit_code(ours, tmp_path)
    assert code == BOOT_FAILURE, output
    assert reason in output
    theirs, _ = exit_code(their_command(aml_python, SCRIPTS / script, free_port(), tmp_path), tmp_path)
    assert theirs == code

"""`mlopsctl wait` passes only on Ready for the current generation and fails with the reason otherwise."""

from __future__ import annotations

import argparse
import io
from typing import Any

import pytest

from mlops_operator.cli import resources as res
from mlops_operator.cli.wait import Judgement, Progress, duration, judge, wait


def item(ready: str, reason: str, generation: int = 2, observed: int = 2, severity: str = "") -> dict[str, Any]:
    condition = {"type": "Ready", "status": ready, "reason": reason, "message": f"{reason} details"}
    if severity:
        condition["severity"] = severity
    return {
        "metadata": {"name": "blue", "generation": generation},
        "status": {"observedGeneration": observed, "conditions": [condition]},
    }


READY = item("True", "Ready")
BROKEN = item("False", "InstanceTypeNotFound", severity="Error")
ROLLING = item("False", "RollingOut", severity="Info")


def test_ready_at_the_current_generation_passes() -> None:
    assert judge(READY, "ready") == Judgement("Ready (generation 2)", res.EXIT_OK)


def test_ready_for_an_older_generation_keeps_waiting() -> None:
    judgement = judge(item("True", "Ready", generation=3, observed=2), "ready")
    assert judgement.code is None
    assert judgement.line == "generation 3 not observed yet (status is for 2)"


def test_a_condition_needing_a_human_is_reported_with_its_reason_and_message() -> None:
    judgement = judge(BROKEN, "ready")
    assert judgement == Judgement(
        "Ready=False InstanceTypeNotFound: InstanceTypeNotFound details", None, needs_human=True
    )


def test_a_missing_object_is_not_found_unless_deletion_is_awaited() -> None:
    assert judge(None, "ready").code == res.EXIT_NOT_FOUND
    assert judge(None, "deleted").code == res.EXIT_OK
    assert judge(READY, "deleted").code is None


def quiet() -> Progress:
    return Progress(io.StringIO(), "mdep/blue")


def test_a_broken_deployment_fails_the_wait_once_it_lasted_fail_after() -> None:
    result = wait(lambda: BROKEN, "ready", timeout=5, fail_after=0, progress=quiet())
    assert result.code == res.EXIT_FAILED
    assert "InstanceTypeNotFound" in result.line


def test_a_deployment_still_progressing_at_the_deadline_times_out_with_the_last_reason() -> None:
    result = wait(lambda: ROLLING, "ready", timeout=0, fail_after=0, progress=quiet())
    assert result.code == res.EXIT_TIMEOUT
    assert result.line == "timed out after 0s; last: Ready=False RollingOut: RollingOut details"


def test_the_wait_returns_as_soon_as_the_deployment_is_ready() -> None:
    seen = iter([ROLLING, READY])
    assert wait(lambda: next(seen), "ready", timeout=10, fail_after=0, progress=quiet()).code == res.EXIT_OK


def test_progress_off_a_terminal_prints_one_plain_line_per_change() -> None:
    stream = io.StringIO()
    progress = Progress(stream, "mdep/blue")
    for line in ("a", "a", "b"):
        progress.show(line, 1.0)
    assert stream.getvalue() == "mdep/blue: a [1s]\nmdep/blue: b [1s]\n"


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("10m", 600), ("1h", 3600), ("0.5m", 30)])
def test_durations_take_seconds_minutes_and_hours(text: str, seconds: float) -> None:
    assert duration(text) == seconds


@pytest.mark.parametrize("text", ["ten", "-1m", ""])
def test_a_bad_duration_is_a_usage_error(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        duration(text)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_rewrites_one_live_line() -> None:
    stream = Terminal()
    progress = Progress(stream, "mdep/blue")
    progress.show("a", 1.0)
    progress.show("a", 2.0)
    progress.end()
    assert stream.getvalue() == "\r\x1b[Kmdep/blue: a [1s]\r\x1b[Kmdep/blue: a [2s]\n"

"""The run pool executes user code off the loop, propagates its errors, and enforces the timeout."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable

import pytest

from mlops_operator.scoring.pool import RunPool, ScoringTimeoutError

TIMEOUT_MS = 50


@pytest.fixture
async def pool() -> AsyncIterator[RunPool]:
    pool = RunPool(1, TIMEOUT_MS)
    pool.start(asyncio.get_running_loop())
    yield pool
    pool.stop()


async def test_a_result_comes_back_from_another_thread(pool: RunPool) -> None:
    caller = threading.get_ident()
    assert await pool.call(threading.get_ident) != caller


async def test_an_exception_in_user_code_reaches_the_caller(pool: RunPool) -> None:
    def fail() -> None:
        raise ValueError("from run()")

    with pytest.raises(ValueError, match=r"from run\(\)"):
        await pool.call(fail)


def spin(seconds: float, finished: list[bool]) -> Callable[[], None]:
    def work() -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            pass
        finished.append(True)

    return work


async def test_an_overrunning_call_is_answered_at_the_deadline_and_interrupted(pool: RunPool) -> None:
    finished: list[bool] = []
    started = time.monotonic()
    with pytest.raises(ScoringTimeoutError, match="Scoring timeout after 50 ms"):
        await pool.call(spin(5.0, finished))
    assert time.monotonic() - started < 2.0
    assert await pool.call(lambda: "next") == "next"
    assert finished == []


async def test_time_waiting_in_the_queue_does_not_count_against_the_timeout(pool: RunPool) -> None:
    finished: list[bool] = []
    first = asyncio.ensure_future(pool.call(spin(0.035, finished)))
    second = asyncio.ensure_future(pool.call(spin(0.035, finished)))
    await asyncio.gather(first, second)
    assert finished == [True, True]

"""Concurrent inputs are grouped into run_batch() calls; each caller gets its own output or the error."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest

from mlops_operator.scoring.batching import Batcher
from mlops_operator.scoring.pool import RunPool


class Model:
    """Doubles numbers; the first call waits on a gate so later callers pile up behind it."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = threading.Event()

    def __call__(self, inputs: list[int]) -> list[int]:
        self.gate.wait(5)
        self.batches.append(list(inputs))
        if -1 in inputs:
            raise ValueError("bad input in batch")
        return [value * 2 for value in inputs]


@pytest.fixture
async def pool() -> AsyncIterator[RunPool]:
    pool = RunPool(1, 10_000)
    pool.start(asyncio.get_running_loop())
    yield pool
    pool.stop()


async def test_a_lone_request_is_run_at_once(pool: RunPool) -> None:
    model = Model()
    model.gate.set()
    assert await Batcher(pool, model, max_size=8, max_wait_ms=0).submit(21) == 42
    assert model.batches == [[21]]


async def test_callers_arriving_during_a_batch_form_the_next_one_up_to_the_max(pool: RunPool) -> None:
    model = Model()
    batcher = Batcher(pool, model, max_size=4, max_wait_ms=0)
    first = asyncio.ensure_future(batcher.submit(0))
    await asyncio.sleep(0.01)
    rest = [asyncio.ensure_future(batcher.submit(n)) for n in range(1, 7)]
    await asyncio.sleep(0.01)
    model.gate.set()
    results = await asyncio.gather(first, *rest)
    assert results == [n * 2 for n in range(7)]
    assert model.batches == [[0], [1, 2, 3, 4], [5, 6]]


async def test_a_max_wait_collects_callers_before_running(pool: RunPool) -> None:
    model = Model()
    model.gate.set()
    batcher = Batcher(pool, model, max_size=8, max_wait_ms=50)
    first = asyncio.ensure_future(batcher.submit(1))
    await asyncio.sleep(0.005)
    second = asyncio.ensure_future(batcher.submit(2))
    assert await asyncio.gather(first, second) == [2, 4]
    assert model.batches == [[1, 2]]


async def test_a_failing_batch_fails_each_of_its_callers(pool: RunPool) -> None:
    model = Model()
    batcher = Batcher(pool, model, max_size=8, max_wait_ms=0)
    blocker = asyncio.ensure_future(batcher.submit(0))
    await asyncio.sleep(0.01)
    bad = [asyncio.ensure_future(batcher.submit(n)) for n in (5, -1)]
    await asyncio.sleep(0.01)
    model.gate.set()
    assert await blocker == 0
    outcomes = await asyncio.gather(*bad, return_exceptions=True)
    assert all(isinstance(outcome, ValueError) for outcome in outcomes)

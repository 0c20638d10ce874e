"""Adaptive batching for score scripts that define run_batch(list_of_inputs) -> list_of_outputs.

Models such as tree ensembles cost nearly the same for 1 row as for 100, so answering 32 concurrent
callers with one call is far cheaper than 32 calls. The policy needs no tuning to be safe:

* with max wait 0 (the default) a batch starts as soon as a pool thread is free, so a lone request pays
  no added latency; while a batch runs, newcomers queue and become the next batch (up to max size);
* with max wait > 0 a batch also waits, from its first input, up to that long for more inputs to arrive
  (trading latency for larger batches when threads are free).

Every caller gets its own output, or the exception that the whole batch failed with.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from .pool import RunPool


class Batcher:
    """Collects inputs on one event loop and runs them through `batch_fn` in the run pool."""

    def __init__(
        self,
        pool: RunPool,
        batch_fn: Callable[[list[Any]], list[Any]],
        max_size: int,
        max_wait_ms: float,
        on_batch: Callable[[list[Any]], None] | None = None,
    ) -> None:
        self._pool = pool
        self._batch_fn = batch_fn
        self._on_batch = on_batch
        self._max_size = max_size
        self._max_wait_s = max_wait_ms / 1000
        self._max_inflight = pool.size
        self._pending: list[tuple[Any, asyncio.Future[Any]]] = []
        self._first_at = 0.0
        self._inflight = 0
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def submit(self, item: Any) -> Any:
        """Queue one input; returns its output (or raises the batch's error) when its batch is done."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._pending:
            self._first_at = time.monotonic()
        self._pending.append((item, future))
        self._dispatch()
        return await future

    def _dispatch(self) -> None:
        while self._pending and self._inflight < self._max_inflight:
            if not self._ready():
                self._arm_timer()
                return
            batch = self._pending[: self._max_size]
            del self._pending[: self._max_size]
            if self._pending:
                self._first_at = time.monotonic()
            self._inflight += 1
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _ready(self) -> bool:
        if self._max_wait_s <= 0 or len(self._pending) >= self._max_size:
            return True
        return time.monotonic() - self._first_at >= self._max_wait_s

    def _arm_timer(self) -> None:
        if self._timer is not None:
            return
        delay = max(0.0, self._first_at + self._max_wait_s - time.monotonic())
        self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._dispatch()

    async def _run(self, batch: list[tuple[Any, asyncio.Future[Any]]]) -> None:
        inputs = [item for item, _ in batch]
        try:
            outputs = await self._pool.call(lambda: self._batch_fn(inputs))
        except Exception as ex:
            for _, future in batch:
                if not future.done():
                    future.set_exception(ex)
        else:
            if self._on_batch is not None:
                self._on_batch(outputs)
            for (_, future), output in zip(batch, outputs, strict=True):
                if not future.done():
                    future.set_result(output)
        finally:
            self._inflight -= 1
            self._dispatch()

"""A small, bounded thread pool for run(): user code is synchronous, the event loop must stay free.

Why not `loop.run_in_executor`: it chains a `concurrent.futures.Future` to an asyncio one on every call;
here a job is one object, a `SimpleQueue.put`, and one `call_soon_threadsafe` back. The pool also owns the
scoring timeout, measured from when a thread starts run() (as upstream's SIGALRM is), not from arrival:

* the caller is answered at the deadline whatever run() is doing;
* a timeout exception is injected into the thread (`PyThreadState_SetAsyncExc`), which stops pure-Python
  code at its next bytecode; code blocked in C returns first;
* that thread is retired and, while fewer than `size` threads are retired-but-busy, replaced, so one stuck
  request does not stall the worker.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("mlops.scoring")

_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc


class ScoringTimeoutError(Exception):
    """run() did not finish within SCORING_TIMEOUT_MS."""

    def __init__(self, timeout_ms: int) -> None:
        super().__init__(f"Scoring timeout after {timeout_ms} ms")
        self.timeout_ms = timeout_ms


class RunInterrupted(BaseException):
    """Injected into a thread whose run() overran; BaseException so user `except Exception` lets it through."""


class _Thread:
    __slots__ = ("ident", "job", "retired")

    def __init__(self) -> None:
        self.ident = 0
        self.job: _Job | None = None
        self.retired = False


class _Job:
    __slots__ = ("fn", "future", "interrupted", "started")

    def __init__(self, fn: Callable[[], Any], future: asyncio.Future[Any]) -> None:
        self.fn = fn
        self.future = future
        self.started = 0.0
        self.interrupted = False


def _resolve(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # already answered with a timeout
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


class RunPool:
    """`size` threads executing zero-argument callables for one event loop."""

    def __init__(self, size: int, timeout_ms: int, name: str = "score") -> None:
        self.size = size
        self.timeout_ms = timeout_ms
        self._timeout_s = timeout_ms / 1000
        self._name = name
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: set[_Thread] = set()
        self._retired_busy = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        for _ in range(self.size):
            self._spawn()

    def stop(self) -> None:
        """Ask idle threads to exit; busy ones exit after their job (they are daemons, never block exit)."""
        with self._lock:
            count = len(self._threads)
        for _ in range(count):
            self._queue.put(None)

    async def call(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` in a pool thread; its result, its exception, or ScoringTimeoutError at the deadline."""
        loop = self._loop
        assert loop is not None, "RunPool.start() was not called"
        job = _Job(fn, loop.create_future())
        self._queue.put(job)
        timer = loop.call_later(self._timeout_s, self._check_deadline, job)
        try:
            return await job.future
        finally:
            timer.cancel()

    def _spawn(self) -> None:
        state = _Thread()
        thread = threading.Thread(target=self._work, args=(state,), name=f"{self._name}-run", daemon=True)
        with self._lock:
            self._threads.add(state)
        thread.start()

    def _check_deadline(self, job: _Job) -> None:
        """Timer callback: answer with a timeout if run() has been running for the full budget."""
        if job.future.done():
            return
        assert self._loop is not None
        started = job.started
        remaining = self._timeout_s if not started else started + self._timeout_s - time.monotonic()
        if remaining > 0:  # still queued, or started later than it was submitted
            self._loop.call_later(remaining, self._check_deadline, job)
            return
        job.future.set_exception(ScoringTimeoutError(self.timeout_ms))
        self._interrupt(job)

    def _interrupt(self, job: _Job) -> None:
        with self._lock:
            owner = next((state for state in self._threads if state.job is job), None)
            if owner is None:
                return
            job.interrupted = True
            owner.retired = True
            self._retired_busy += 1
            _set_async_exc(ctypes.c_ulong(owner.ident), ctypes.py_object(RunInterrupted))
            replace = self._retired_busy <= self.size
        logger.error("run() exceeded the scoring timeout of %d ms; its thread is interrupted", self.timeout_ms)
        if replace:
            self._spawn()

    def _work(self, state: _Thread) -> None:
        state.ident = threading.get_ident()
        loop = self._loop
        assert loop is not None
        while not state.retired:
            try:
                job = self._queue.get()
                if job is None:
                    break
                self._execute(state, job, loop)
            except RunInterrupted:
                continue  # landed after the job ended; its caller has already been answered
        with self._lock:
            self._threads.discard(state)
            if state.retired:
                self._retired_busy -= 1

    def _execute(self, state: _Thread, job: _Job, loop: asyncio.AbstractEventLoop) -> None:
        if job.future.done():  # timed out while queued (cannot happen today, cheap to honour)
            return
        job.started = time.monotonic()
        state.job = job
        result: Any = None
        error: BaseException | None = None
        try:
            result = job.fn()
        except RunInterrupted:
            pass
        except Exception as ex:
            error = ex
        with self._lock:
            state.job = None
            if job.interrupted:  # drop an injected exception that has not fired yet
                _set_async_exc(ctypes.c_ulong(state.ident), None)
                return
        try:
            loop.call_soon_threadsafe(_resolve, job.future, result, error)
        except RuntimeError:  # the loop closed during shutdown; nobody is waiting any more
            return

"""The one way the operator looks at an object again: now, later, or because something it depends on changed.

kopf handlers (create, update, resume) look at once; a pass that asks to be looked at again later (an
Azure operation in flight, a rollout in progress, a failure, the periodic resync) and every "something
this depends on changed" (a sibling's traffic, a child, a referenced ConfigMap, the platform) go through
`wake`. At most one pass per object runs at a time; wakes arriving meanwhile fold into one more pass,
which is safe because passes are level-based. A pending wake keeps the earliest due time. Nothing is
persisted: after a restart kopf's resume handlers look at every object, and Azure operations are found
again in `status.operations`.

Raising kopf.TemporaryError would also bring a retry, but kopf then records progress in annotations and
posts an Event per retry: writes on every look.
"""

from __future__ import annotations

import contextvars
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from mlops_operator.backends.base import ObjectKey

log = logging.getLogger(__name__)
Look = Callable[[], float | None]  # one pass over one object; returns seconds until the next look, or None
# kopf's context variables that kopf.event() reads (kopf/_core/engines/posting.py, pinned by constraints.txt).
KOPF_POSTING_VARS = frozenset({"settings_var", "event_queue_var", "event_queue_loop_var"})
MAX_FOLDED_PASSES = 10  # passes in a row for one object before it yields its worker
EXCLUSIVE_TIMEOUT_S = 60.0  # a finalizer waits this long at most for a running pass to end
EXCLUSIVE_POLL_S = 0.05


@dataclass(frozen=True)
class _Due:
    """A pending look: when, what to run, and the context to run it in."""

    at: float
    look: Look
    context: contextvars.Context


class Waker:
    """Due times per object, a small bounded pool for the passes, and coalescing of concurrent wakes.

    Delayed looks wait in one heap served by one scheduler thread: a thread per pending look (the
    standard library's Timer) meant a thread per ModelDeployment rolling out, 1,000 at 1,000.
    """

    def __init__(self, workers: int = 8) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._due: dict[ObjectKey, _Due] = {}
        self._heap: list[tuple[float, int, ObjectKey]] = []
        self._order = itertools.count()
        self._running: set[ObjectKey] = set()
        self._dirty: set[ObjectKey] = set()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wakeup")
        self._stopped = False
        self._context: contextvars.Context | None = None
        self._scheduler = threading.Thread(target=self._schedule, name="wakeup-scheduler", daemon=True)
        self._scheduler.start()

    def wake(self, key: ObjectKey, look: Look, delay: float = 0.0) -> None:
        """Run `look` for `key` after `delay` seconds, unless a look is already due earlier."""
        due = time.monotonic() + max(delay, 0.0)
        with self._lock:
            if self._stopped:
                return
            pending = self._due.get(key)
            if pending is not None and pending.at <= due:
                return
            self._due[key] = _Due(due, look, self._context or contextvars.copy_context())
            if delay <= 0:  # bursts of child events: straight to the pool, past the scheduler
                self._submit(key)
                return
            heapq.heappush(self._heap, (due, next(self._order), key))
            if self._heap[0][2] == key:
                self._changed.notify()

    def adopt_context(self, source: contextvars.Context) -> None:
        """Run every look in (a copy of) a context holding only what passes need from kopf: its settings and
        the queue and loop that post Events (set per object by kopf, so `source` is a handler's context).
        Without it each wake copies its caller's context, which inside a kopf handler also holds the cause of
        the event, body and all, until the look runs: a body per pending look (hundreds of MiB at 1,000
        ModelDeployments). Taken once, from the first source that has all of them."""
        if self._context is not None:
            return
        wanted = {var: value for var, value in source.items() if var.name in KOPF_POSTING_VARS}
        if len(wanted) == len(KOPF_POSTING_VARS):
            fresh = contextvars.Context()
            for var, value in wanted.items():
                fresh.run(var.set, value)
            self._context = fresh

    def look_now(self, key: ObjectKey, look: Look) -> None:
        """Run a pass in the caller's thread (kopf handlers), folded into one already running."""
        with self._lock:
            self._due.pop(key, None)  # its heap entry is skipped when it comes up
        self._run(key, look)

    def _schedule(self) -> None:
        """The one timer thread: hand every look that came due to the pool."""
        with self._lock:
            while not self._stopped:
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    at, _, key = heapq.heappop(self._heap)
                    pending = self._due.get(key)
                    if pending is not None and pending.at == at:  # else replaced or taken meanwhile
                        self._submit(key)
                self._changed.wait(self._heap[0][0] - now if self._heap else None)

    def _submit(self, key: ObjectKey) -> None:
        """(Lock held) the pending look of `key` goes to the pool; it stays pending until a worker takes it."""
        pending = self._due[key]
        # A Context is entered by one thread at a time; the shared one is copied for each look.
        self._pool.submit(pending.context.copy().run, self._take, key, pending)

    def _take(self, key: ObjectKey, pending: _Due) -> None:
        """On the pool: run the look unless it was replaced by an earlier one or taken by `look_now`."""
        with self._lock:
            if self._due.get(key) is not pending or self._stopped:
                return
            del self._due[key]
        self._run(key, pending.look)

    def _run(self, key: ObjectKey, look: Look) -> None:
        with self._lock:
            if key in self._running:
                self._dirty.add(key)
                return
            self._running.add(key)
        passes = 0
        try:
            while True:
                self._pass(key, look)
                passes += 1
                # Checking for a wake and leaving must be one step: a wake between them would be lost.
                with self._lock:
                    again = key in self._dirty
                    self._dirty.discard(key)
                    if not again or passes >= MAX_FOLDED_PASSES:
                        self._running.discard(key)
                        break
        except BaseException:
            with self._lock:
                self._running.discard(key)
            raise
        if again:  # a flapping child cannot pin a worker: the rest waits for a fresh wake
            self.wake(key, look, 1.0)

    def _pass(self, key: ObjectKey, look: Look) -> None:
        try:
            delay = look()
        except Exception:  # the look surfaces failures on the object itself; this is the last resort
            log.exception("looking at %s failed", key)
            delay = None
        if delay is not None:
            self.wake(key, look, delay)

    @contextmanager
    def exclusive(self, key: ObjectKey, timeout: float = EXCLUSIVE_TIMEOUT_S) -> Iterator[None]:
        """Run the body (a finalizer) with no pass over `key` running: wait for a running one to end, keep
        new ones out meanwhile and drop them afterwards (the object is being deleted: they have nothing to
        do). Without it a pass that read the object just before its deletion could re-create, after the
        finalizer deleted it, what the finalizer just removed (seen in Azure as a second PUT)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if key not in self._running:
                    self._running.add(key)
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"a pass over {key} ran for over {timeout:.0f}s")
            time.sleep(EXCLUSIVE_POLL_S)
        try:
            yield
        finally:
            with self._lock:
                self._running.discard(key)
                self._dirty.discard(key)

    def pending(self) -> list[ObjectKey]:
        with self._lock:
            return sorted(self._due, key=str)

    def stop(self) -> None:
        """Drop pending looks and wait for running ones (operator shutdown)."""
        with self._lock:
            self._stopped = True
            self._due.clear()
            self._heap.clear()
            self._changed.notify()
        self._scheduler.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)

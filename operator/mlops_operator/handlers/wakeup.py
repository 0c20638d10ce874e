"""The one way the operator looks at an object again: now, later, or because something it depends on changed.

kopf handlers (create, update, resume, the drift timer) look at once; a pass that asks to be looked at
again later (an Azure operation in flight, a rollout in progress, a failure) and every "something this
depends on changed" (a sibling's traffic, a child, a referenced ConfigMap, the platform) go through
`wake`. At most one pass per object runs at a time; wakes arriving meanwhile fold into one more pass,
which is safe because passes are level-based. A pending wake keeps the earliest due time. Nothing is
persisted: after a restart kopf's resume handlers look at every object, and Azure operations are found
again in `status.operations`.

Raising kopf.TemporaryError would also bring a retry, but kopf then records progress in annotations and
posts an Event per retry: writes on every look.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from mlops_operator.backends.base import ObjectKey

log = logging.getLogger(__name__)
Look = Callable[[], float | None]  # one pass over one object; returns seconds until the next look, or None
MAX_FOLDED_PASSES = 10  # passes in a row for one object before it yields its worker
EXCLUSIVE_TIMEOUT_S = 60.0  # a finalizer waits this long at most for a running pass to end
EXCLUSIVE_POLL_S = 0.05


class Waker:
    """Due times per object, a small bounded pool for the passes, and coalescing of concurrent wakes."""

    def __init__(self, workers: int = 4) -> None:
        self._lock = threading.Lock()
        self._timers: dict[ObjectKey, tuple[float, threading.Timer | None]] = {}
        self._running: set[ObjectKey] = set()
        self._dirty: set[ObjectKey] = set()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wakeup")
        self._stopped = False

    def wake(self, key: ObjectKey, look: Look, delay: float = 0.0) -> None:
        """Run `look` for `key` after `delay` seconds, unless a look is already due earlier."""
        due = time.monotonic() + max(delay, 0.0)
        with self._lock:
            if self._stopped:
                return
            pending = self._timers.get(key)
            if pending is not None and pending[0] <= due:
                return
            if pending is not None and pending[1] is not None:
                pending[1].cancel()
            # kopf's context (settings, the event loop that posts Events) travels with the work
            context = contextvars.copy_context()
            if delay <= 0:  # bursts of child events: straight to the pool, no timer thread each
                self._timers[key] = (due, None)
                self._pool.submit(context.run, self._fire, key, look, None)
                return
            timer = threading.Timer(delay, self._fire, (key, look, context))
            timer.daemon = True
            self._timers[key] = (due, timer)
            timer.start()

    def look_now(self, key: ObjectKey, look: Look) -> None:
        """Run a pass in the caller's thread (kopf handlers), folded into one already running."""
        with self._lock:
            pending = self._timers.pop(key, None)
        if pending is not None and pending[1] is not None:
            pending[1].cancel()
        self._run(key, look)

    def _fire(self, key: ObjectKey, look: Look, context: contextvars.Context | None) -> None:
        """Due: run on the pool (from a timer thread), or right here (already on the pool, `context` None)."""
        with self._lock:
            self._timers.pop(key, None)
            if self._stopped:
                return
            if context is not None:
                self._pool.submit(context.run, self._run, key, look)
                return
        self._run(key, look)

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
            return sorted(self._timers, key=str)

    def stop(self) -> None:
        """Cancel pending looks and wait for running ones (operator shutdown)."""
        with self._lock:
            self._stopped = True
            timers = [t for _, t in self._timers.values() if t is not None]
            self._timers.clear()
        for timer in timers:
            timer.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)

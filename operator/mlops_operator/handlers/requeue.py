"""Looking at an object again later, in memory: how `Outcome.requeue_after` is honoured.

A pass that started an Azure operation (or met throttling, or a rollout in progress) asks to be looked at
again after some seconds. Raising kopf.TemporaryError would do that too, but kopf then records retry
progress in the object's annotations and posts a Warning Event for every retry: writes on every look. Here
a timer per object calls the same level-based reconcile; a later request for the same object keeps the
earlier due time. Nothing is persisted: after a restart kopf's resume handlers reconcile every object,
which finds the operations recorded in `status.operations` and carries on.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)


class Requeuer:
    """At most one pending look per key; the work runs on a small bounded pool."""

    def __init__(self, workers: int = 4) -> None:
        self._lock = threading.Lock()
        self._timers: dict[str, tuple[float, threading.Timer]] = {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="requeue")
        self._stopped = False

    def schedule(self, key: str, delay: float, step: Callable[[], None]) -> None:
        due = time.monotonic() + max(delay, 0.0)
        with self._lock:
            if self._stopped:
                return
            pending = self._timers.get(key)
            if pending is not None and pending[0] <= due:
                return
            if pending is not None:
                pending[1].cancel()
            # kopf's context (settings, the event loop for Events) travels with the work
            context = contextvars.copy_context()
            timer = threading.Timer(max(delay, 0.0), self._fire, (key, lambda: context.run(step)))
            timer.daemon = True
            self._timers[key] = (due, timer)
            timer.start()

    def _fire(self, key: str, step: Callable[[], None]) -> None:
        with self._lock:
            self._timers.pop(key, None)
            if self._stopped:
                return
            self._pool.submit(self._run, key, step)

    @staticmethod
    def _run(key: str, step: Callable[[], None]) -> None:
        try:
            step()
        except Exception:
            log.exception("requeued reconcile of %s failed; the drift timer will retry", key)

    def pending(self) -> list[str]:
        with self._lock:
            return sorted(self._timers)

    def stop(self) -> None:
        """Cancel pending looks and wait for running ones (operator shutdown)."""
        with self._lock:
            self._stopped = True
            timers = [t for _, t in self._timers.values()]
            self._timers.clear()
        for timer in timers:
            timer.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)

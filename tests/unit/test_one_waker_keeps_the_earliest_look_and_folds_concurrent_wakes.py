"""The one wake-up path: one pending look per object, the earliest wins, concurrent wakes fold, stop cancels."""

from __future__ import annotations

import threading

from mlops_operator.backends.base import ObjectKey
from mlops_operator.handlers.wakeup import Waker

BLUE = ObjectKey("ModelDeployment", "ns", "blue")
GREEN = ObjectKey("ModelDeployment", "ns", "green")


def test_a_later_request_keeps_the_earlier_due_time_and_the_look_runs_once() -> None:
    waker = Waker(workers=1)
    ran: list[str] = []
    done = threading.Event()

    def look(tag: str) -> None:
        ran.append(tag)
        done.set()

    waker.wake(BLUE, lambda: look("first"), 0.05)
    waker.wake(BLUE, lambda: look("later"), 5.0)

    assert done.wait(2)
    waker.stop()
    assert ran == ["first"]


def test_an_earlier_request_replaces_a_later_one() -> None:
    waker = Waker(workers=1)
    done = threading.Event()
    waker.wake(BLUE, lambda: None, 30.0)
    waker.wake(BLUE, done.set, 0.01)

    assert done.wait(2)
    waker.stop()


def test_a_look_that_asks_for_another_is_woken_again_after_its_delay() -> None:
    waker = Waker(workers=1)
    looks: list[int] = []
    twice = threading.Event()

    def look() -> float | None:
        looks.append(1)
        if len(looks) == 2:
            twice.set()
            return None
        return 0.01

    waker.look_now(BLUE, look)

    assert twice.wait(2)
    waker.stop()
    assert len(looks) == 2


def test_wakes_during_a_running_look_fold_into_one_more_pass() -> None:
    waker = Waker(workers=2)
    started, release = threading.Event(), threading.Event()
    passes: list[int] = []

    def look() -> None:
        passes.append(1)
        started.set()
        release.wait(2)

    runner = threading.Thread(target=waker.look_now, args=(BLUE, look))
    runner.start()
    assert started.wait(2)
    for _ in range(5):
        waker.look_now(BLUE, look)  # returns at once: a pass is running, so it only marks one more
    release.set()
    runner.join(2)
    waker.stop()

    assert len(passes) == 2


def test_a_failing_look_does_not_stop_the_waker() -> None:
    waker = Waker(workers=1)
    done = threading.Event()

    def broken() -> None:
        raise RuntimeError("boom")

    waker.wake(BLUE, broken, 0.0)
    waker.wake(GREEN, done.set, 0.05)

    assert done.wait(2)
    waker.stop()


def test_stopping_cancels_pending_looks() -> None:
    waker = Waker(workers=1)
    fired = threading.Event()
    waker.wake(BLUE, fired.set, 0.2)

    waker.stop()
    waker.wake(GREEN, fired.set, 0.01)

    assert not fired.wait(0.5)
    assert waker.pending() == []


def test_a_thousand_delayed_looks_share_one_timer_thread_and_each_runs_once_in_due_order() -> None:
    waker = Waker(workers=2)
    threads_before = threading.active_count()
    ran: list[int] = []
    lock = threading.Lock()
    all_ran = threading.Event()

    def look(i: int) -> None:
        with lock:
            ran.append(i)
            if len(ran) == 1000:
                all_ran.set()

    for i in range(1000):
        key = ObjectKey("ModelDeployment", "ns", f"md-{i}")
        waker.wake(key, lambda i=i: look(i), 0.2 + (999 - i) * 0.0005)  # the last one is due first
    pending_threads = threading.active_count() - threads_before

    assert all_ran.wait(10)
    waker.stop()
    assert pending_threads <= 2  # at most the pool's workers: no thread per pending look
    assert sorted(ran) == list(range(1000))
    assert ran[0] > ran[-1]  # served by due time, not by the order the wakes came in

"""A finalizer waits for a pass already running over its object, and passes woken while it runs are dropped:
a pass that read the object just before its deletion must not re-create what the finalizer removes."""

from __future__ import annotations

import threading

import pytest

from mlops_operator.backends.base import ObjectKey
from mlops_operator.handlers.wakeup import Waker

BLUE = ObjectKey("ModelDeployment", "ns", "blue")
GREEN = ObjectKey("ModelDeployment", "ns", "green")
DEADLINE_S = 2.0


def test_the_finalizer_starts_only_after_the_running_pass_ends() -> None:
    waker = Waker(workers=1)
    order: list[str] = []
    pass_started, release_pass = threading.Event(), threading.Event()

    def slow_pass() -> None:
        pass_started.set()
        assert release_pass.wait(DEADLINE_S)
        order.append("pass")

    waker.wake(BLUE, slow_pass)
    assert pass_started.wait(DEADLINE_S)

    def finalize() -> None:
        with waker.exclusive(BLUE):
            order.append("finalizer")

    finalizer = threading.Thread(target=finalize)
    finalizer.start()
    release_pass.set()
    finalizer.join(DEADLINE_S)

    assert order == ["pass", "finalizer"]
    waker.stop()


def test_a_pass_woken_during_the_finalizer_is_dropped_and_other_objects_run() -> None:
    waker = Waker(workers=1)
    ran: list[ObjectKey] = []
    green_done = threading.Event()

    def green_pass() -> None:
        ran.append(GREEN)
        green_done.set()

    with waker.exclusive(BLUE):
        waker.look_now(BLUE, lambda: ran.append(BLUE))
        waker.wake(GREEN, green_pass)
        assert green_done.wait(DEADLINE_S)

    waker.stop()
    assert ran == [GREEN]


def test_a_pass_that_never_ends_makes_the_finalizer_give_up_at_its_deadline() -> None:
    waker = Waker(workers=1)
    stuck, release = threading.Event(), threading.Event()

    def stuck_pass() -> None:
        stuck.set()
        release.wait(DEADLINE_S)

    waker.wake(BLUE, stuck_pass)
    assert stuck.wait(DEADLINE_S)

    with pytest.raises(TimeoutError), waker.exclusive(BLUE, timeout=0.1):
        pass

    release.set()
    waker.stop()

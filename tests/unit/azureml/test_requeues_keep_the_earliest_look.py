"""The in-memory requeuer: one pending look per object, the earliest wins, stop cancels everything."""

from __future__ import annotations

import threading

from mlops_operator.handlers.requeue import Requeuer


def test_a_later_request_keeps_the_earlier_due_time_and_the_look_runs_once() -> None:
    requeuer = Requeuer(workers=1)
    ran: list[str] = []
    done = threading.Event()

    def look(tag: str) -> None:
        ran.append(tag)
        done.set()

    requeuer.schedule("ns/blue", 0.05, lambda: look("first"))
    requeuer.schedule("ns/blue", 5.0, lambda: look("later"))

    assert done.wait(2)
    requeuer.stop()
    assert ran == ["first"]


def test_an_earlier_request_replaces_a_later_one() -> None:
    requeuer = Requeuer(workers=1)
    done = threading.Event()
    requeuer.schedule("ns/blue", 30.0, lambda: None)
    requeuer.schedule("ns/blue", 0.01, done.set)

    assert done.wait(2)
    requeuer.stop()


def test_stopping_cancels_pending_looks() -> None:
    requeuer = Requeuer(workers=1)
    fired = threading.Event()
    requeuer.schedule("ns/blue", 0.2, fired.set)

    requeuer.stop()
    requeuer.schedule("ns/green", 0.01, fired.set)

    assert not fired.wait(0.5)
    assert requeuer.pending() == []

"""The request path only queues a body; when the queue is full it drops and counts. The drift thread bins
at most its row budget per second and counts what it skips, so heavy load is sampled, not queued."""

from __future__ import annotations

import time

from mlops_operator.drift.profile import FeatureProfile, Profile
from mlops_operator.scoring.drift import BURST_S, DriftBlock, DriftCollector

PROFILE = Profile((FeatureProfile("age", 0, "numeric", (0.5, 0.5), 100, edges=(30.0,)),))
ONE_ROW = b'{"data": [[20]]}'
BUDGET_ROWS_PER_SECOND = 100
BURST = round(BUDGET_ROWS_PER_SECOND * BURST_S)  # what the bucket holds when full
WAIT_S = 2.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def counter(block: DriftBlock, name: str) -> int:
    offset = block.layout.rows if name == "rows" else block.layout.skipped[name]
    return int(block.totals()[offset])


def offer(collector: DriftCollector, body: bytes, times: int = 1) -> None:
    for _ in range(times):
        collector.offer([body], len(body))


def test_a_full_queue_drops_the_body_and_counts_it() -> None:
    block = DriftBlock(PROFILE, slots=1)
    collector = block.collector(0, BUDGET_ROWS_PER_SECOND)
    collector.max_bodies = 3
    started = time.perf_counter()
    offer(collector, ONE_ROW, times=5)
    assert time.perf_counter() - started < 0.1  # nothing waited for the (unstarted) thread
    assert counter(block, "queue_full") == 2
    collector.drain()
    assert counter(block, "rows") == 3


def test_queued_bytes_are_bounded_too() -> None:
    block = DriftBlock(PROFILE, slots=1)
    collector = block.collector(0, BUDGET_ROWS_PER_SECOND)
    collector.max_bytes = len(ONE_ROW) * 2
    offer(collector, ONE_ROW, times=3)
    assert counter(block, "queue_full") == 1
    collector.drain()  # what the thread took frees room for new bodies
    offer(collector, ONE_ROW, times=2)
    assert counter(block, "queue_full") == 1


def test_a_body_too_big_to_decode_without_stalling_the_worker_is_not_queued() -> None:
    block = DriftBlock(PROFILE, slots=1)
    collector = block.collector(0, BUDGET_ROWS_PER_SECOND)
    collector.max_body_bytes = len(ONE_ROW) - 1
    offer(collector, ONE_ROW)
    collector.drain()
    assert (counter(block, "too_large"), counter(block, "rows")) == (1, 0)


def test_the_thread_bins_at_most_its_budget_and_counts_the_rest_as_rate_limited() -> None:
    clock = FakeClock()
    block = DriftBlock(PROFILE, slots=1)
    collector = block.collector(0, BUDGET_ROWS_PER_SECOND, clock=clock)
    offer(collector, ONE_ROW, times=BURST + 5)
    collector.drain()
    assert (counter(block, "rows"), counter(block, "rate_limited")) == (BURST, 5)
    clock.now += 0.05  # 5 rows' worth refills
    offer(collector, ONE_ROW, times=8)
    collector.drain()
    assert (counter(block, "rows"), counter(block, "rate_limited")) == (BURST + 5, 8)


def test_a_body_bigger_than_the_budget_is_binned_then_paid_for_by_the_next_ones() -> None:
    clock = FakeClock()
    block = DriftBlock(PROFILE, slots=1)
    collector = block.collector(0, BUDGET_ROWS_PER_SECOND, clock=clock)
    offer(collector, b'{"data": [' + b",".join([b"[20]"] * (BURST + 20)) + b"]}")
    collector.drain()
    clock.now += 0.1  # 10 rows of budget: still 10 short of the 20 overspent
    offer(collector, ONE_ROW, times=3)
    collector.drain()
    assert (counter(block, "rows"), counter(block, "rate_limited")) == (BURST + 20, 3)


def test_bodies_beyond_the_cpu_allowance_are_counted_as_rate_limited() -> None:
    block = DriftBlock(PROFILE, slots=1)
    collector = block.collector(0, BUDGET_ROWS_PER_SECOND)
    offer(collector, ONE_ROW, times=4)
    collector.drain(cpu_allowance_s=0.0)
    assert (counter(block, "rows"), counter(block, "rate_limited")) == (0, 4)


def test_the_worker_thread_bins_queued_bodies_in_the_background() -> None:
    block = DriftBlock(PROFILE, slots=1)
    collector = block.collector(0, BUDGET_ROWS_PER_SECOND)
    collector.start()
    try:
        offer(collector, ONE_ROW, times=4)
        deadline = time.monotonic() + WAIT_S
        while counter(block, "rows") < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert counter(block, "rows") == 4
    finally:
        collector.stop()

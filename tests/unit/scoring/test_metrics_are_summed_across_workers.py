"""Each worker writes its own slot of shared memory; /metrics shows the sum over all workers."""

from __future__ import annotations

import os

import pytest

from mlops_operator.scoring.metrics import ROUTE_INDEX, MetricsBlock


def test_counts_from_two_slots_are_added() -> None:
    block = MetricsBlock(2)
    block.recorder(0).request(ROUTE_INDEX["score"], 200, 0.002)
    block.recorder(1).request(ROUTE_INDEX["score"], 201, 0.004)
    block.recorder(1).request(ROUTE_INDEX["score"], 500, 0.004)
    text = block.render().decode()
    assert 'mlops_scoring_requests_total{route="score",code="2xx"} 2' in text
    assert 'mlops_scoring_requests_total{route="score",code="5xx"} 1' in text
    assert "mlops_scoring_request_duration_seconds_count 3" in text
    assert 'mlops_scoring_request_duration_seconds_bucket{le="0.0025"} 1' in text
    assert 'mlops_scoring_request_duration_seconds_bucket{le="+Inf"} 3' in text


def test_a_forked_worker_writes_into_the_parents_view() -> None:
    block = MetricsBlock(2)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        block.recorder(1).batch(16)
        os._exit(0)
    os.waitpid(pid, 0)
    assert 'mlops_scoring_batch_size_bucket{le="16"} 1' in block.render().decode()


def test_a_slot_outside_the_block_is_refused() -> None:
    with pytest.raises(IndexError):
        MetricsBlock(1).recorder(1)

"""Each worker bins into its own slot of one shared block, created before the fork; /metrics adds them up."""

from __future__ import annotations

import os

import pytest

from mlops_operator.drift.profile import FeatureProfile, Profile
from mlops_operator.scoring.drift import DriftBlock

PROFILE = Profile(
    (
        FeatureProfile("age", 0, "numeric", (0.3, 0.4, 0.3), 100, edges=(30.0, 60.0)),
        FeatureProfile("city", 1, "categorical", (0.5, 0.3, 0.2), 100, categories=("paris", "rome")),
    )
)
YOUNG_PARISIANS = b'{"data": [[20, "paris"], [25, "paris"]]}'
OLD_ROMAN = b'{"data": [[70, "rome"]]}'


def rendered(block: DriftBlock) -> str:
    return block.render().decode()


def test_rows_binned_by_two_workers_are_added() -> None:
    block = DriftBlock(PROFILE, slots=2)
    block.collector(0, max_rows_per_second=100).process(YOUNG_PARISIANS)
    block.collector(1, max_rows_per_second=100).process(YOUNG_PARISIANS)
    block.collector(1, max_rows_per_second=100).process(OLD_ROMAN)
    text = rendered(block)
    assert 'mlops_drift_observations_total{feature="age",bin="0"} 4' in text
    assert 'mlops_drift_observations_total{feature="age",bin="2"} 1' in text
    assert 'mlops_drift_observations_total{feature="city",bin="paris"} 4' in text
    assert 'mlops_drift_observations_total{feature="city",bin="rome"} 1' in text
    assert "mlops_drift_rows_total 5" in text


def test_skips_counted_by_different_workers_are_added() -> None:
    block = DriftBlock(PROFILE, slots=2)
    first, second = block.collector(0, max_rows_per_second=100), block.collector(1, max_rows_per_second=100)
    first.max_bodies = second.max_bodies = 0  # every offer finds the queue full
    first.offer([OLD_ROMAN], len(OLD_ROMAN))
    second.offer([OLD_ROMAN], len(OLD_ROMAN))
    second.process(b"not json")
    text = rendered(block)
    assert 'mlops_drift_skipped_total{reason="queue_full"} 2' in text
    assert 'mlops_drift_skipped_total{reason="unparsed"} 1' in text


def test_a_forked_worker_bins_into_the_parents_view() -> None:
    block = DriftBlock(PROFILE, slots=2)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        block.collector(1, max_rows_per_second=100).process(OLD_ROMAN)
        os._exit(0)
    os.waitpid(pid, 0)
    assert 'mlops_drift_observations_total{feature="city",bin="rome"} 1' in rendered(block)


def test_a_slot_outside_the_block_is_refused() -> None:
    with pytest.raises(IndexError):
        DriftBlock(PROFILE, slots=1).collector(1, max_rows_per_second=100)

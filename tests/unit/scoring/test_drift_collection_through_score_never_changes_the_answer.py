"""Through the real app: accepted /score bodies reach the bins, odd ones count as unparsed, and collection
never changes what the client gets back (nor makes it wait when the queue is full). No profile, no series."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import SCRIPTS, Client
from mlops_operator.drift.profile import FeatureProfile, Profile
from mlops_operator.scoring.config import ScoringConfig
from mlops_operator.scoring.drift import DriftBlock, DriftCollector
from mlops_operator.scoring.loader import initialise, load_script
from mlops_operator.scoring.metrics import MetricsBlock
from mlops_operator.scoring.server import assemble
from mlops_operator.scoring.swagger import Swagger

ECHO = SCRIPTS / "echo_headers.py"
PROFILE = Profile(
    (
        FeatureProfile("age", 0, "numeric", (0.3, 0.4, 0.3), 100, edges=(30.0, 60.0)),
        FeatureProfile("city", 1, "categorical", (0.5, 0.3, 0.2), 100, categories=("paris", "rome")),
    )
)
ROWS = b'{"data": [[20, "paris"], [70, "lyon"]]}'
ODD_BODIES = [b'{"unrelated": [1, 2]}', b"[1, 2", b"\xff\xfe", b"", b'"text"']
KEY = "k" * 32
WAIT_S = 2.0
CPU_SECONDS = "mlops_drift_collector_cpu_seconds_total"


@pytest.fixture
async def drift_client_for(
    config_for: Callable[..., ScoringConfig],
) -> AsyncIterator[Callable[..., tuple[Client, DriftCollector]]]:
    """`drift_client_for(script, **config_changes)`: the app with collection on; its thread stopped, so a
    test drains by hand, unless `background=True`."""
    made: list[tuple[DriftCollector, Any]] = []

    def make(script: Path, background: bool = False, **changes: Any) -> tuple[Client, DriftCollector]:
        config = config_for(script, drift_profile=PROFILE, **changes)
        loaded = load_script(config)
        initialise(loaded)
        swagger = Swagger(config, loaded.run)
        app, pool = assemble(config, loaded, swagger, MetricsBlock(1), 0, DriftBlock(PROFILE, 1))
        assert app.drift is not None
        made.append((app.drift, pool))
        if not background:
            app.drift.stop()
        return Client(app), app.drift

    yield make
    for collector, pool in made:
        collector.stop()
        pool.stop()


def counted(collector: DriftCollector) -> dict[str, int]:
    """Non-zero counts by series, as /metrics shows them (labels included); CPU seconds aside."""
    lines = collector.block.render().decode().splitlines()
    samples = (line.rsplit(" ", 1) for line in lines if not line.startswith(("#", CPU_SECONDS)))
    return {series: int(value) for series, value in samples if value != "0"}


def cpu_seconds(collector: DriftCollector) -> float:
    return collector.block.totals()[collector.block.layout.cpu_seconds]


async def test_scored_rows_reach_the_bins_in_the_background(
    drift_client_for: Callable[..., tuple[Client, DriftCollector]],
) -> None:
    client, collector = drift_client_for(ECHO, background=True)
    answer = await client.post_json(ROWS)
    assert answer.status == 200
    deadline = time.monotonic() + WAIT_S
    while not (counted(collector) and cpu_seconds(collector)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert counted(collector) == {
        'mlops_drift_observations_total{feature="age",bin="0"}': 1,
        'mlops_drift_observations_total{feature="age",bin="2"}': 1,
        'mlops_drift_observations_total{feature="city",bin="paris"}': 1,
        'mlops_drift_observations_total{feature="city",bin="__other__"}': 1,
        "mlops_drift_rows_total": 2,
    }
    assert cpu_seconds(collector) > 0  # the thread accounts for what collection costs


async def test_odd_bodies_are_answered_as_without_collection_and_counted_unparsed(
    drift_client_for: Callable[..., tuple[Client, DriftCollector]], client_for: Callable[..., Client]
) -> None:
    collecting, collector = drift_client_for(ECHO)
    plain = client_for(ECHO)
    for body in ODD_BODIES:
        with_drift, without = await collecting.post_json(body), await plain.post_json(body)
        assert (with_drift.status, with_drift.body) == (without.status, without.body), body
    collector.drain()
    assert counted(collector) == {'mlops_drift_skipped_total{reason="unparsed"}': len(ODD_BODIES)}


async def test_a_full_queue_drops_bodies_without_holding_up_answers(
    drift_client_for: Callable[..., tuple[Client, DriftCollector]],
) -> None:
    client, collector = drift_client_for(ECHO)
    collector.max_bodies = 1
    answers = [await client.post_json(ROWS) for _ in range(3)]
    assert [answer.status for answer in answers] == [200, 200, 200]
    collector.drain()
    assert counted(collector)['mlops_drift_skipped_total{reason="queue_full"}'] == 2
    assert counted(collector)["mlops_drift_rows_total"] == 2


async def test_a_body_sent_in_pieces_is_collected_whole(
    drift_client_for: Callable[..., tuple[Client, DriftCollector]],
) -> None:
    client, collector = drift_client_for(ECHO)
    await client.post_json(
        b'{"data": [[45, "rome"]], "padding": "' + b"x" * 64 + b'"}'
    )  # the client sends 4 bytes a chunk
    collector.drain()
    assert counted(collector)['mlops_drift_observations_total{feature="city",bin="rome"}'] == 1


async def test_refused_requests_and_queries_are_not_collected(
    drift_client_for: Callable[..., tuple[Client, DriftCollector]], tmp_path: Path
) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "primaryKey").write_text(KEY)
    client, collector = drift_client_for(ECHO, max_request_bytes=len(ROWS) - 1, keys_dir=str(tmp_path / "keys"))
    unauthorised = await client.post_json(ROWS)
    too_large = await client.post_json(ROWS, Authorization=f"Bearer {KEY}")
    query = await client.request("GET", "/score", headers={"Authorization": f"Bearer {KEY}"}, query="age=20")
    assert (unauthorised.status, too_large.status, query.status) == (401, 413, 200)
    collector.drain()
    assert counted(collector) == {}


async def test_metrics_carry_the_drift_series_only_when_collection_is_on(
    drift_client_for: Callable[..., tuple[Client, DriftCollector]], client_for: Callable[..., Client]
) -> None:
    collecting, _ = drift_client_for(ECHO)
    plain = client_for(ECHO)
    assert plain.app.drift is None
    with_drift = (await collecting.request("GET", "/metrics")).body.decode()
    without = (await plain.request("GET", "/metrics")).body.decode()
    assert "mlops_scoring_requests_total" in with_drift
    assert 'mlops_drift_observations_total{feature="age",bin="0"} 0' in with_drift
    assert "mlops_drift" not in without

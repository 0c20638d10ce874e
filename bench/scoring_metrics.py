"""Hot-path cost of the scoring server's metrics: our shared-memory recorder against prometheus-client's
multiprocess mode, in the same run.

Per simulated /score request both sides do what the server does: in-flight +1/-1, one request counter by
status class, the request and run() histograms, queue wait and payload bytes histograms. prometheus-client
is measured with pre-bound label children (its fastest use) and `PROMETHEUS_MULTIPROC_DIR` set before it is
imported, as a multi-worker server would have to run it. Prints ns per request for each and the ratio.

    .venv/bin/python bench/scoring_metrics.py --requests 200000 --rounds 5
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from mlops_operator.scoring.metrics import ROUTE_INDEX, MetricsBlock

SCORE = ROUTE_INDEX["score"]


def ours(requests: int) -> float:
    """Seconds for `requests` simulated requests through one worker's Recorder."""
    recorder = MetricsBlock(4).recorder(1)
    start = time.perf_counter()
    for i in range(requests):
        recorder.inflight(1)
        recorder.queue(0.0001)
        recorder.run(0.002)
        recorder.payload(512 + i % 7)
        recorder.inflight(-1)
        recorder.request(SCORE, 200, 0.003)
    return time.perf_counter() - start


def prometheus_multiprocess(directory: str) -> Callable[[int], float]:
    """A runner over prometheus-client metrics in multiprocess mode (mmap files under `directory`)."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    client: Any = importlib.import_module("prometheus_client")
    registry = client.CollectorRegistry()
    requests_total = client.Counter("b_requests", "r", ["route", "code"], registry=registry).labels("score", "2xx")
    request_seconds = client.Histogram("b_request_seconds", "r", registry=registry)
    run_seconds = client.Histogram("b_run_seconds", "r", registry=registry)
    queue_seconds = client.Histogram("b_queue_seconds", "r", registry=registry)
    payload = client.Histogram("b_payload_bytes", "r", buckets=(256, 1024, 4096, 65536), registry=registry)
    inflight = client.Gauge("b_inflight", "r", multiprocess_mode="livesum", registry=registry)

    def run(requests: int) -> float:
        start = time.perf_counter()
        for i in range(requests):
            inflight.inc()
            queue_seconds.observe(0.0001)
            run_seconds.observe(0.002)
            payload.observe(512 + i % 7)
            inflight.dec()
            requests_total.inc()
            request_seconds.observe(0.003)
        return time.perf_counter() - start

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-prom-") as directory:
        theirs = prometheus_multiprocess(directory)
        ours_s, theirs_s = [], []
        for _ in range(args.rounds):  # interleaved, so drift in machine load hits both alike
            ours_s.append(ours(args.requests))
            theirs_s.append(theirs(args.requests))
    ours_ns = statistics.median(ours_s) / args.requests * 1e9
    theirs_ns = statistics.median(theirs_s) / args.requests * 1e9
    print(f"recorder (shared memory)         {ours_ns:8.0f} ns/request")
    print(f"prometheus-client multiprocess   {theirs_ns:8.0f} ns/request")
    print(f"RESULT prometheus-client/recorder = {theirs_ns / ours_ns:.1f}x (median of {args.rounds} rounds)")


if __name__ == "__main__":
    main()

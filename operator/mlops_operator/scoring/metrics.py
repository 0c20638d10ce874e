"""Prometheus metrics shared by all worker processes, at the cost of a few array writes per request.

Workers are separate processes behind one port, so a scrape lands on any one of them; each worker writes
its own slot of an anonymous shared memory block created before the fork, and /metrics sums the slots.
No locks: each slot has a single writer, and a scrape tolerates a value that is one request stale.
prometheus-client's multiprocess mode was measured against this recorder on the same hot path
(bench/scoring_metrics.py, docs/benchmarks.md) and costs several times more per request, so we keep ours.

Names follow Prometheus conventions (`_total`, `_seconds`, `_bytes`); there is no deployment or endpoint
label: the scrape config adds them from the pod's `mlops.dev/deployment` and `mlops.dev/endpoint` labels.
"""

from __future__ import annotations

import bisect
import mmap
from collections.abc import Sequence

ROUTES = ("score", "liveness", "readiness", "swagger", "metrics", "other")
STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
SECONDS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
BYTES_BUCKETS = (256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
LOAD_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)

_REQUESTS = 0
_REQUEST_SECONDS = _REQUESTS + len(ROUTES) * len(STATUS_CLASSES)
_RUN_SECONDS = _REQUEST_SECONDS + len(SECONDS_BUCKETS) + 3  # buckets, +Inf, sum, count
_BATCH_SIZE = _RUN_SECONDS + len(SECONDS_BUCKETS) + 3
_TIMEOUTS = _BATCH_SIZE + len(BATCH_BUCKETS) + 3
_INFLIGHT = _TIMEOUTS + 1
_QUEUE_SECONDS = _INFLIGHT + 1
_PAYLOAD_BYTES = _QUEUE_SECONDS + len(SECONDS_BUCKETS) + 3
_LOAD_SECONDS = _PAYLOAD_BYTES + len(BYTES_BUCKETS) + 3
SLOT_SIZE = _LOAD_SECONDS + len(LOAD_BUCKETS) + 3
HISTOGRAMS: dict[int, tuple[str, str, Sequence[float]]] = {
    _REQUEST_SECONDS: ("mlops_scoring_request_duration_seconds", "Time to answer /score.", SECONDS_BUCKETS),
    _RUN_SECONDS: ("mlops_scoring_run_duration_seconds", "Time in run() or run_batch().", SECONDS_BUCKETS),
    _QUEUE_SECONDS: (
        "mlops_scoring_queue_wait_seconds",
        "Time a /score request waited for a run() slot (or for its batch to fill).",
        SECONDS_BUCKETS,
    ),
    _BATCH_SIZE: ("mlops_scoring_batch_size", "Inputs per run_batch() call.", BATCH_BUCKETS),
    _PAYLOAD_BYTES: ("mlops_scoring_request_payload_bytes", "Body size of /score requests.", BYTES_BUCKETS),
    _LOAD_SECONDS: ("mlops_scoring_model_load_seconds", "Time each worker spent in init().", LOAD_BUCKETS),
}

ROUTE_INDEX = {route: index for index, route in enumerate(ROUTES)}


class Recorder:
    """The writer for one worker's slot."""

    __slots__ = ("_base", "_values")

    def __init__(self, values: memoryview[float], slot: int) -> None:
        self._values = values
        self._base = slot * SLOT_SIZE

    def request(self, route: int, status: int, seconds: float | None = None) -> None:
        """Count a response; `seconds` (for /score) also feeds the request duration histogram."""
        klass = min(max(status // 100 - 1, 0), len(STATUS_CLASSES) - 1)
        self._values[self._base + _REQUESTS + route * len(STATUS_CLASSES) + klass] += 1
        if seconds is not None:
            self._observe(_REQUEST_SECONDS, SECONDS_BUCKETS, seconds)

    def run(self, seconds: float) -> None:
        self._observe(_RUN_SECONDS, SECONDS_BUCKETS, seconds)

    def batch(self, size: int) -> None:
        self._observe(_BATCH_SIZE, BATCH_BUCKETS, size)

    def queue(self, seconds: float) -> None:
        self._observe(_QUEUE_SECONDS, SECONDS_BUCKETS, seconds)

    def payload(self, size: int) -> None:
        self._observe(_PAYLOAD_BYTES, BYTES_BUCKETS, size)

    def model_load(self, seconds: float) -> None:
        self._observe(_LOAD_SECONDS, LOAD_BUCKETS, seconds)

    def timeout(self) -> None:
        self._values[self._base + _TIMEOUTS] += 1

    def inflight(self, delta: int) -> None:
        self._values[self._base + _INFLIGHT] += delta

    def _observe(self, offset: int, buckets: Sequence[float], value: float) -> None:
        start = self._base + offset
        values = self._values
        values[start + bisect.bisect_left(buckets, value)] += 1
        values[start + len(buckets) + 1] += value
        values[start + len(buckets) + 2] += 1


class MetricsBlock:
    """Shared counters for `slots` workers; create before forking so every worker maps the same pages."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._memory = mmap.mmap(-1, max(1, slots) * SLOT_SIZE * 8)
        self._values = memoryview(self._memory).cast("d")

    def recorder(self, slot: int) -> Recorder:
        if not 0 <= slot < self.slots:
            raise IndexError(f"metrics slot {slot} out of range 0..{self.slots - 1}")
        return Recorder(self._values, slot)

    def _total(self, offset: int) -> float:
        return sum(self._values[slot * SLOT_SIZE + offset] for slot in range(self.slots))

    def render(self) -> bytes:
        """The Prometheus text exposition format (version 0.0.4)."""
        lines = [
            "# HELP mlops_scoring_requests_total HTTP responses by route and status class.",
            "# TYPE mlops_scoring_requests_total counter",
        ]
        for route_index, route in enumerate(ROUTES):
            for class_index, klass in enumerate(STATUS_CLASSES):
                value = self._total(_REQUESTS + route_index * len(STATUS_CLASSES) + class_index)
                if value:
                    lines.append(f'mlops_scoring_requests_total{{route="{route}",code="{klass}"}} {value:.0f}')
        for offset in HISTOGRAMS:
            self._histogram(lines, offset)
        lines += [
            "# HELP mlops_scoring_timeouts_total run() calls that exceeded SCORING_TIMEOUT_MS.",
            "# TYPE mlops_scoring_timeouts_total counter",
            f"mlops_scoring_timeouts_total {self._total(_TIMEOUTS):.0f}",
            "# HELP mlops_scoring_inflight_requests /score requests being answered.",
            "# TYPE mlops_scoring_inflight_requests gauge",
            f"mlops_scoring_inflight_requests {self._total(_INFLIGHT):.0f}",
        ]
        return ("\n".join(lines) + "\n").encode()

    def _histogram(self, lines: list[str], offset: int) -> None:
        name, help_text, buckets = HISTOGRAMS[offset]
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
        cumulative = 0.0
        for index, bound in enumerate(buckets):
            cumulative += self._total(offset + index)
            lines.append(f'{name}_bucket{{le="{_le(bound)}"}} {cumulative:.0f}')
        cumulative += self._total(offset + len(buckets))
        lines.append(f'{name}_bucket{{le="+Inf"}} {cumulative:.0f}')
        lines.append(f"{name}_sum {self._total(offset + len(buckets) + 1):.6f}")
        lines.append(f"{name}_count {self._total(offset + len(buckets) + 2):.0f}")


def _le(bound: float) -> str:
    """A bucket bound as Prometheus clients write it: 0.005, 1, 1048576 (never 1.04858e+06)."""
    return str(int(bound)) if float(bound).is_integer() else f"{bound:g}"

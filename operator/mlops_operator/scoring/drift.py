"""Data drift collection: served inputs binned against the reference profile, off the request path.

A request pays for one `deque.append` of the body it already holds (or, when the queue is full, for one
counter increment): no decoding, no locks, no wake-up. A daemon thread per worker wakes every `TICK_S`,
decodes what queued up, extracts rows (`drift.rows`), bins them (`drift.profile`) and counts. It bins at
most `max_rows_per_second` rows (a token bucket) and spends at most `MAX_CPU_SHARE` of a core: for a cheap
model, binning every row of every request would cost a noticeable share of each request, and more than its
own CPU time since it holds the GIL that the loop and run() need (docs/benchmarks.md). So under load it
samples; what it skips is counted, by reason, so the sampled share is known, and its CPU time is exported.

Counters live like `metrics.MetricsBlock`'s: one anonymous shared memory block created before the fork,
one slot per worker, and /metrics sums the slots. Every index of a slot has a single writer: the worker's
event loop writes `queue_full` and `too_large`, its drift thread everything else. Skips count request
bodies, not rows; `rate_limited` counts those over either budget (rows per second, or CPU share).
"""

from __future__ import annotations

import bisect
import collections
import json
import logging
import math
import mmap
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from mlops_operator.drift.profile import Profile
from mlops_operator.drift.rows import MAX_ROWS_PER_BODY, RowExtractor

try:
    import orjson

    _fast_loads: Callable[[bytes], object] = orjson.loads
except ImportError:  # pragma: no cover - orjson is part of the scoring image; the fallback keeps this standalone
    _fast_loads = json.loads

logger = logging.getLogger("mlops.scoring")

SKIP_REASONS = ("queue_full", "rate_limited", "unparsed", "too_large")
TICK_S = 0.2  # how often the thread drains the queue: each wake-up costs, so not more often than needed
BURST_S = 2 * TICK_S  # the token bucket holds this many seconds of rows: a tick can use a full tick's worth
# Of one core, per worker, as the thread's own CPU clock measures it. Binning costs the worker more than that
# clock shows (the GIL it holds is the one the loop and run() need: 2 % of the server's CPU cost 6-10 % of
# req/s on a busy 2-core machine, docs/benchmarks.md), so the share is small; it still bins hundreds of rows/s.
MAX_CPU_SHARE = 0.005
MAX_CPU_CREDIT_S = 2 * TICK_S * MAX_CPU_SHARE  # what an idle spell may bank for the next burst
QUEUE_BODIES = 1024  # more than a tick's worth of requests at thousands of req/s per worker
QUEUE_BYTES = 8 * 1024 * 1024  # per worker: what waiting bodies may pin in memory
# Decoding holds the GIL throughout (~5 ms a MiB): a bigger body would stall the worker's requests for longer.
MAX_BODY_BYTES = 1024 * 1024
_UNPARSED = object()


def decode(body: bytes) -> object:
    """orjson for speed; the standard library for what orjson refuses (NaN, huge integers); else unparsed."""
    try:
        return _fast_loads(body)
    except ValueError:
        pass
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return _UNPARSED


def escape_label(value: str) -> str:
    """A label value as the Prometheus text format wants it: backslash, double quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class DriftLayout:
    """Where each counter sits in a slot: every bin of every feature, then missing, rows and skips."""

    def __init__(self, profile: Profile) -> None:
        self.bins: list[tuple[str, str, int]] = []  # (feature, bin label, offset)
        self.missing: list[tuple[str, int]] = []  # (feature, offset)
        offset = 0
        for feature in profile.features:
            for label in feature.bin_labels():
                self.bins.append((feature.name, label, offset))
                offset += 1
        for feature in profile.features:
            self.missing.append((feature.name, offset))
            offset += 1
        self.rows = offset
        self.skipped = {reason: self.rows + 1 + index for index, reason in enumerate(SKIP_REASONS)}
        self.cpu_seconds = self.rows + 1 + len(SKIP_REASONS)
        self.size = self.cpu_seconds + 1


class DriftBlock:
    """Shared drift counters for `slots` workers; create before forking so every worker maps the same pages."""

    def __init__(self, profile: Profile, slots: int) -> None:
        self.profile = profile
        self.slots = max(1, slots)
        self.layout = DriftLayout(profile)
        self._memory = mmap.mmap(-1, self.slots * self.layout.size * 8)
        self._values = memoryview(self._memory).cast("d")
        self._exposition = _exposition_lines(self.layout)

    def collector(
        self, slot: int, max_rows_per_second: int, clock: Callable[[], float] = time.monotonic
    ) -> DriftCollector:
        if not 0 <= slot < self.slots:
            raise IndexError(f"drift slot {slot} out of range 0..{self.slots - 1}")
        return DriftCollector(self, self._values, slot * self.layout.size, max_rows_per_second, clock)

    def totals(self) -> list[float]:
        """Each counter summed over the workers' slots."""
        size = self.layout.size
        sums = [0.0] * size
        for slot in range(self.slots):
            for index, value in enumerate(self._values[slot * size : (slot + 1) * size].tolist()):
                sums[index] += value
        return sums

    def render(self) -> bytes:
        """Prometheus text (0.0.4): every series from the start, zeros included, so increase() has a baseline."""
        totals = self.totals()
        lines = [line if offset < 0 else f"{line} {_sample(totals[offset])}" for offset, line in self._exposition]
        return ("\n".join(lines) + "\n").encode()


def _sample(value: float) -> str:
    """Counts as integers (never 1.2e+09, which drops digits); CPU seconds with every digit they have."""
    return f"{value:.0f}" if value.is_integer() else repr(value)


def _exposition_lines(layout: DriftLayout) -> list[tuple[int, str]]:
    """The exposition with its series names and labels rendered once: (offset of the value, or -1; text)."""
    name = "mlops_drift_observations_total"
    lines = [
        (-1, f"# HELP {name} Served input values by feature and bin of the reference profile."),
        (-1, f"# TYPE {name} counter"),
    ]
    lines += [(o, f'{name}{{feature="{escape_label(f)}",bin="{escape_label(b)}"}}') for f, b, o in layout.bins]
    name = "mlops_drift_missing_total"
    lines += [
        (-1, f"# HELP {name} Served rows without a usable value for the feature (absent, null, NaN, not a number)."),
        (-1, f"# TYPE {name} counter"),
    ]
    lines += [(offset, f'{name}{{feature="{escape_label(feature)}"}}') for feature, offset in layout.missing]
    lines += [
        (-1, "# HELP mlops_drift_rows_total Served rows binned against the reference profile."),
        (-1, "# TYPE mlops_drift_rows_total counter"),
        (layout.rows, "mlops_drift_rows_total"),
        (-1, "# HELP mlops_drift_skipped_total /score request bodies not binned, by reason."),
        (-1, "# TYPE mlops_drift_skipped_total counter"),
    ]
    lines += [(offset, f'mlops_drift_skipped_total{{reason="{r}"}}') for r, offset in layout.skipped.items()]
    lines += [
        (-1, "# HELP mlops_drift_collector_cpu_seconds_total CPU time the drift threads spent: what collection costs."),
        (-1, "# TYPE mlops_drift_collector_cpu_seconds_total counter"),
        (layout.cpu_seconds, "mlops_drift_collector_cpu_seconds_total"),
    ]
    return lines


class DriftCollector:
    """One worker's collection: `offer` on the event loop, everything else on the drift thread."""

    def __init__(
        self,
        block: DriftBlock,
        values: memoryview[float],
        base: int,
        max_rows_per_second: int,
        clock: Callable[[], float],
    ) -> None:
        self.block = block
        self._values = values
        layout = block.layout
        self._queue_full = base + layout.skipped["queue_full"]
        self._too_large = base + layout.skipped["too_large"]
        self._rate_limited = base + layout.skipped["rate_limited"]
        self._unparsed = base + layout.skipped["unparsed"]
        self._rows = base + layout.rows
        self._cpu_seconds = base + layout.cpu_seconds
        self._features = _binners(block, base)
        self._extractor = RowExtractor(block.profile, MAX_ROWS_PER_BODY)
        self._queue: collections.deque[list[bytes]] = collections.deque()  # bodies, as the chunks received
        self.max_bodies = QUEUE_BODIES
        self.max_bytes = QUEUE_BYTES
        self.max_body_bytes = MAX_BODY_BYTES
        self._offered = 0  # bytes ever queued: written by the loop only
        self._taken = 0  # bytes ever dequeued: written by the drift thread only
        self._rate = float(max(1, max_rows_per_second))
        self._burst = max(1.0, self._rate * BURST_S)
        self._tokens = self._burst
        self._clock = clock
        self._refilled = clock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def offer(self, chunks: list[bytes], size: int) -> None:
        """The hot path: queue a body (its chunks, joined later by the thread) or count it as dropped.

        Never blocks and never copies: a deque append is atomic under the GIL, and only this (the loop)
        thread appends while only the drift thread pops.
        """
        if size > self.max_body_bytes:
            self._values[self._too_large] += 1
            return
        if len(self._queue) >= self.max_bodies or self._offered - self._taken + size > self.max_bytes:
            self._values[self._queue_full] += 1
            return
        self._offered += size
        self._queue.append(chunks)

    def drain(self, cpu_allowance_s: float = math.inf) -> None:
        """Bin what is queued, within the row budget and `cpu_allowance_s` of this thread's CPU time; the
        rest is counted as rate limited. Runs on the drift thread (or in a test)."""
        self._refill()
        started = time.thread_time()
        queue = self._queue
        waiting = len(queue)  # only what is queued now: bodies offered meanwhile wait for the next tick
        while waiting and self._tokens > 0 and time.thread_time() - started < cpu_allowance_s:
            chunks = queue.popleft()
            waiting -= 1
            self._taken += len(chunks[0]) if len(chunks) == 1 else sum(map(len, chunks))
            try:
                binned = self.process(chunks[0] if len(chunks) == 1 else b"".join(chunks))
            except Exception:  # client input we did not foresee: count it, keep collecting
                logger.debug("Drift collection could not bin a request body", exc_info=True)
                self._values[self._unparsed] += 1
                binned = 0
            self._tokens -= max(1, binned)  # a body costs at least a row: decoding is not free
        # Over budget: what is left goes at the least cost per body, since under load that is most of them.
        taken = 0
        for _ in range(waiting):
            chunks = queue.popleft()
            taken += len(chunks[0]) if len(chunks) == 1 else sum(map(len, chunks))
        self._taken += taken
        self._values[self._rate_limited] += waiting

    def process(self, body: bytes) -> int:
        """Decode, extract and bin one body; returns the rows binned. Unknown shapes count as unparsed."""
        document = decode(body)
        rows = None if document is _UNPARSED else self._extractor.extract(document)
        if rows is None:
            self._values[self._unparsed] += 1
            return 0
        values = self._values
        bisect_left = bisect.bisect_left
        for row in rows:
            for name, edges, bin_of, base, missing in self._features:
                value = row.get(name)
                # Plain numbers, the common case, bisected here: what `bin_of` does, minus its checks
                # (a bool bisects as 0 or 1, as bin_of's float(value) would).
                if edges is not None and isinstance(value, int | float):
                    index = None if isinstance(value, float) and math.isnan(value) else bisect_left(edges, value)
                else:
                    index = bin_of(value)
                values[missing if index is None else base + index] += 1
        values[self._rows] += len(rows)
        return len(rows)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._refilled) * self._rate)
        self._refilled = now

    def start(self) -> None:
        """Start the drift thread; call in the worker, after the fork (threads do not survive one)."""
        self._thread = threading.Thread(target=self._loop, name="drift-collector", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 1.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _loop(self) -> None:
        credit, last = MAX_CPU_CREDIT_S, time.monotonic()
        while not self._stopping.wait(TICK_S):
            now, started = time.monotonic(), time.thread_time()
            # CPU credit accrues with time, MAX_CPU_SHARE of a core, and binning (and waking up) spends it.
            credit = min(MAX_CPU_CREDIT_S, credit + MAX_CPU_SHARE * (now - last))
            last = now
            try:
                self.drain(cpu_allowance_s=credit)
            except Exception:  # never let one odd body end collection for the worker's lifetime
                logger.exception("Drift collection failed on a request body; it was skipped")
            spent = time.thread_time() - started
            credit -= spent
            self._values[self._cpu_seconds] += spent


class BodyTap:
    """Stands in for ASGI `receive` while the scorer reads a /score body, keeping the chunks it hands over."""

    __slots__ = ("_receive", "chunks", "size")

    def __init__(self, receive: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        self._receive = receive
        self.chunks: list[bytes] = []
        self.size = 0

    async def __call__(self) -> dict[str, Any]:
        message = await self._receive()
        body = message.get("body")
        if body:
            self.chunks.append(body)
            self.size += len(body)
        return message


# feature name, numeric edges (None for a categorical), bin_of, offsets of its first bin and of missing
Binner = tuple[str, tuple[float, ...] | None, Callable[[object], int | None], int, int]


def _binners(block: DriftBlock, base: int) -> list[Binner]:
    """Per feature: where its bins and its missing counter are in this worker's slot."""
    first_bins: dict[str, int] = {}
    for feature, _, offset in block.layout.bins:
        first_bins.setdefault(feature, offset)
    missing = dict(block.layout.missing)
    return [
        (f.name, f.edges if f.kind == "numeric" else None, f.bin_of, base + first_bins[f.name], base + missing[f.name])
        for f in block.profile.features
    ]

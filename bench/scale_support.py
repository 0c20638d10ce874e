"""What bench/operator_scale.py measures with: readiness as the API server reports it, the operator
process's CPU and memory, and the API server's own audit log of who asked for what."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client, watch

GROUP, VERSION, PLURAL = "mlops.dev", "v1alpha1", "modeldeployments"
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})
Key = tuple[str, str]


def ready_at_generation(body: dict[str, Any]) -> bool:
    """Ready=True for the spec the object has now (what `mlopsctl wait` and kstatus accept)."""
    generation = body["metadata"].get("generation")
    status = body.get("status") or {}
    if status.get("observedGeneration") != generation:
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


@dataclass
class ReadinessTracker:
    """Watches every ModelDeployment and records when each first became Ready at each generation."""

    api: client.ApiClient
    started: float = field(default_factory=time.monotonic)
    ready: dict[Key, dict[int, float]] = field(default_factory=dict)
    gone: dict[Key, float] = field(default_factory=dict)
    timeline: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> ReadinessTracker:
        threading.Thread(target=self._run, name="readiness", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        """One watch after another, each resuming where the last ended: a fresh one would list what exists
        and never tell of what was deleted in between."""
        custom = client.CustomObjectsApi(self.api)
        resource_version: str | None = None
        while not self._stop.is_set():
            stream = watch.Watch()
            options: dict[str, Any] = {"timeout_seconds": 30, "allow_watch_bookmarks": True}
            if resource_version:
                options["resource_version"] = resource_version
            try:
                for event in stream.stream(custom.list_cluster_custom_object, GROUP, VERSION, PLURAL, **options):
                    if event["type"] != "BOOKMARK":
                        self._record(event["type"], event["object"])
                    if self._stop.is_set():
                        stream.stop()
                resource_version = stream.resource_version
            except client.ApiException as exc:
                if exc.status != 410:
                    raise
                resource_version = None  # expired: start over from a listing

    def _record(self, kind: str, body: dict[str, Any]) -> None:
        meta = body["metadata"]
        key = (meta["namespace"], meta["name"])
        now = time.monotonic()
        with self._lock:
            if kind == "DELETED":
                self.gone.setdefault(key, now)
                return
            if ready_at_generation(body):
                self.ready.setdefault(key, {}).setdefault(int(meta["generation"]), now)
            self.timeline.append((now - self.started, self.ready_count()))

    def ready_count(self, generation: int = 1) -> int:
        return sum(1 for gens in self.ready.values() if any(g >= generation for g in gens))

    def ready_time(self, key: Key, generation: int) -> float | None:
        with self._lock:
            return self.ready.get(key, {}).get(generation)

    def wait(self, done: Any, timeout: float, what: str) -> float:
        """Poll `done()` until true; the time it became true. Bounded: raises after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: not done after {timeout:.0f}s")
            time.sleep(0.2)
        return time.monotonic()


@dataclass
class ProcessSampler:
    """CPU seconds (user+system) and peak resident memory of one process, from /proc."""

    pid: int
    peak_rss_kib: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> ProcessSampler:
        threading.Thread(target=self._run, name="sampler", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.peak_rss_kib = max(self.peak_rss_kib, self._status_kib("VmHWM"))

    def _status_kib(self, field_name: str) -> int:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def cpu_seconds(self) -> float:
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        return ticks / 100.0


@dataclass(frozen=True)
class AuditCounts:
    """Requests one user made in a time window, by verb, from the API server's audit log."""

    by_verb: Counter[str]

    @property
    def total(self) -> int:
        return sum(self.by_verb.values())

    @property
    def writes(self) -> int:
        return sum(n for verb, n in self.by_verb.items() if verb in WRITE_VERBS)

    def writes_by_resource(self, entries: list[dict[str, Any]]) -> Counter[str]:
        return Counter(_resource(e) for e in entries if e.get("verb") in WRITE_VERBS)


def _resource(entry: dict[str, Any]) -> str:
    ref = entry.get("objectRef") or {}
    return "/".join(filter(None, (ref.get("resource"), ref.get("subresource"))))


def audit_entries(path: Path, user: str, start_wall: float, end_wall: float) -> Iterator[dict[str, Any]]:
    """Completed requests of `user` whose response completed within [start, end) (wall-clock seconds)."""
    with path.open() as lines:
        for line in lines:
            if f'"{user}"' not in line:  # cheap prefilter: the log holds every user's requests
                continue
            entry = json.loads(line)
            if entry.get("user", {}).get("username") != user:
                continue
            stamp = _wall(entry["stageTimestamp"])
            if start_wall <= stamp < end_wall:
                yield entry


def audit_counts(path: Path, user: str, start_wall: float, end_wall: float) -> AuditCounts:
    # A watch completes when it ends; counting it then is what "requests per minute" means for watches too.
    return AuditCounts(Counter(e["verb"] for e in audit_entries(path, user, start_wall, end_wall)))


def _wall(stamp: str) -> float:
    """RFC 3339 with microseconds, as the audit log writes it, to epoch seconds."""
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


@contextlib.contextmanager
def operator_process(argv: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """The operator as its own process (its CPU and memory are its own), logging to a temp file."""
    log = tempfile.NamedTemporaryFile(prefix="operator-scale-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(argv, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    print(f"operator pid {process.pid}, log {log.name}", flush=True)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

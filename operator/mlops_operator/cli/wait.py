"""Wait until a ModelDeployment is Ready for its current generation (or deleted): a CI gate.

  kubectl apply -f models.yaml && mlopsctl wait mdep/blue -n models --timeout 10m

Ready means the `Ready` condition is True and `status.observedGeneration` equals `metadata.generation`,
so a status written for the previous spec never passes. A condition that needs a human (severity Error,
e.g. InstanceTypeNotFound) fails the wait once it has lasted --fail-after at the current generation;
anything else (rolling out, retrying) is waited for until --timeout. Progress is a live line on a
terminal and one plain line per change otherwise (CI logs).

Exit codes:
  0  Ready at the current generation (or deleted, with --for deleted)
  1  failed: the failing condition's reason and message are printed
  2  usage error
  3  timed out: the last reason and message seen are printed
  4  not found (with --for ready), or the API server could not be reached
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from mlops_operator.cli import resources as res

POLL_S = 1.0


def duration(text: str) -> float:
    """`90`, `90s`, `10m`, `1h` -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    number, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "s")
    try:
        seconds = float(number) * units[unit]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration: use e.g. 90s, 10m or 1h") from None
    if seconds < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a duration cannot be negative")
    return seconds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", type=res.deployment_ref, metavar="mdep/NAME", help="the ModelDeployment")
    res.add_connection_arguments(parser)
    parser.add_argument("--for", dest="until", choices=("ready", "deleted"), default="ready", help="what to wait for")
    parser.add_argument("--timeout", type=duration, default=600.0, help="give up after this long (default 10m)")
    parser.add_argument(
        "--fail-after",
        type=duration,
        default=20.0,
        help="fail once a condition needing a human lasted this long (default 20s; 0 = at once)",
    )
    parser.add_argument("-o", "--output", choices=("text", "json"), default="text", help="final result format")


@dataclass(frozen=True)
class Judgement:
    """Where a wait stands after one look: `code` is None while it goes on."""

    line: str
    code: int | None = None
    needs_human: bool = False


def judge(item: dict[str, Any] | None, until: str) -> Judgement:
    """Pure: what one observation of the object means for the wait."""
    if item is None:
        if until == "deleted":
            return Judgement("deleted", res.EXIT_OK)
        return Judgement("not found", res.EXIT_NOT_FOUND)
    if until == "deleted":
        return Judgement("still exists" + (" (terminating)" if item["metadata"].get("deletionTimestamp") else ""))
    generation = item["metadata"].get("generation")
    if not res.is_current(item):
        observed = (item.get("status") or {}).get("observedGeneration")
        return Judgement(f"generation {generation} not observed yet (status is for {observed})")
    ready = res.condition(item, "Ready") or {}
    if ready.get("status") == "True":
        return Judgement(f"Ready (generation {generation})", res.EXIT_OK)
    line = f"Ready={ready.get('status', 'Unknown')} {ready.get('reason', '-')}: {ready.get('message', '')}".rstrip()
    return Judgement(line, needs_human=ready.get("severity") == "Error")


class Progress:
    """A live line on a terminal; one plain line per change otherwise."""

    def __init__(self, stream: TextIO, name: str) -> None:
        self.stream, self.name, self.last = stream, name, ""
        self.live = stream.isatty()

    def show(self, line: str, elapsed: float) -> None:
        if self.live:
            self.stream.write(f"\r\x1b[K{self.name}: {line} [{elapsed:.0f}s]")
            self.stream.flush()
        elif line != self.last:
            print(f"{self.name}: {line} [{elapsed:.0f}s]", file=self.stream, flush=True)
        self.last = line

    def end(self) -> None:
        if self.live:
            self.stream.write("\n")


def wait(
    fetch: Callable[[], dict[str, Any] | None], until: str, timeout: float, fail_after: float, progress: Progress
) -> Judgement:
    """Poll `fetch()` until the judgement is final, a human-needing state lasted `fail_after`, or the deadline."""
    started = time.monotonic()
    deadline, failing_since = started + timeout, None
    judgement = Judgement("not looked yet")
    while True:
        now = time.monotonic()
        judgement = judge(fetch(), until)
        progress.show(judgement.line, now - started)
        failing_since = (failing_since or now) if judgement.needs_human else None
        if judgement.code is not None:
            return judgement
        if failing_since is not None and now - failing_since >= fail_after:
            return Judgement(judgement.line, res.EXIT_FAILED)
        if now >= deadline:
            return Judgement(f"timed out after {timeout:.0f}s; last: {judgement.line}", res.EXIT_TIMEOUT)
        time.sleep(min(POLL_S, max(deadline - now, 0.05)))


def run(args: argparse.Namespace) -> int:
    from mlops_operator.kube import KubeError

    progress = Progress(sys.stderr, f"mdep/{args.target.name}")
    try:
        kube = res.connect(args.kubeconfig)
        result = wait(
            lambda: res.get_deployment(kube, args.target, args.namespace),
            args.until,
            args.timeout,
            args.fail_after,
            progress,
        )
    except (KubeError, OSError) as exc:
        progress.end()
        print(f"error: {exc}", file=sys.stderr)
        return res.EXIT_NOT_FOUND
    progress.end()
    if args.output == "json":
        data = {"name": args.target.name, "namespace": args.namespace, "exitCode": result.code, "result": result.line}
        print(res.render(data, "json"))
    else:
        print(f"mdep/{args.target.name}: {result.line}")
    return result.code if result.code is not None else res.EXIT_FAILED

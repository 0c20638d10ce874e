"""Show MLOpsPlatforms and ModelDeployments: Ready, reason, traffic, replicas, scoring URI and age.

  mlopsctl status                    platforms and the deployments of namespace default
  mlopsctl status mdep/blue -n prod  one deployment
  mlopsctl status mdep -A -o json    every deployment, for scripts
  mlopsctl status --watch            print again whenever something changes (until Ctrl-C or --timeout)

READY is Unknown (reason NotObservedYet) while the operator has not yet looked at the current generation.

Exit codes:
  0  printed (whatever the objects' state)
  2  usage error
  4  the named object does not exist, or the API server could not be reached
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from typing import TYPE_CHECKING, Any

from mlops_operator.api.v1alpha1 import API_VERSION
from mlops_operator.cli import resources as res

if TYPE_CHECKING:
    from mlops_operator.kube import Kube

WATCH_PERIOD_S = 2.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target", nargs="?", type=res.parse_ref, metavar="KIND[/NAME]", help="mlp, mdep, mlp/NAME or mdep/NAME"
    )
    res.add_connection_arguments(parser)
    parser.add_argument("-A", "--all-namespaces", action="store_true", help="deployments of every namespace")
    parser.add_argument("-o", "--output", choices=("table", "json", "yaml"), default="table", help="output format")
    parser.add_argument("-w", "--watch", action="store_true", help="print again when something changes")
    parser.add_argument(
        "--timeout", type=float, default=3600.0, metavar="SECONDS", help="stop watching after this long (default 1h)"
    )


def fetch(kube: Kube, target: res.Ref | None, namespace: str | None) -> list[dict[str, Any]] | None:
    """The objects to show; None when a named object does not exist."""
    kinds = [target.kind] if target else [res.PLATFORM, res.DEPLOYMENT]
    items: list[dict[str, Any]] = []
    for kind in kinds:
        where = namespace if kind == res.DEPLOYMENT else None
        if target is not None and target.name is not None:
            found = kube.get(API_VERSION, kind, target.name, where)
            if found is None:
                return None
            listed = [found]
        else:
            listed = sorted(kube.list(API_VERSION, kind, where), key=_sort_key)
        items.extend({**item, "kind": kind} for item in listed)  # list responses leave kind out of items
    return items


def _sort_key(item: dict[str, Any]) -> tuple[str, str]:
    return item["metadata"].get("namespace", ""), item["metadata"]["name"]


def format_items(items: list[dict[str, Any]], output: str, now: dt.datetime) -> str:
    if output == "table":
        return res.status_table(items, now)
    return res.render([res.summary(item, now) for item in items], output)


def run(args: argparse.Namespace) -> int:
    from mlops_operator.kube import KubeError

    named = args.target is not None and args.target.name is not None
    namespace = None if args.all_namespaces and not named else args.namespace
    try:
        kube = res.connect(args.kubeconfig)
        if args.watch:
            return _watch(kube, args, namespace)
        items = fetch(kube, args.target, namespace)
    except (KubeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return res.EXIT_NOT_FOUND
    if items is None:
        print(f"error: {args.target.kind} {args.target.name} not found", file=sys.stderr)
        return res.EXIT_NOT_FOUND
    print(format_items(items, args.output, dt.datetime.now(dt.UTC)))
    return res.EXIT_OK


def _watch(kube: Kube, args: argparse.Namespace, namespace: str | None) -> int:
    """Poll and print whenever the output (ages aside) changes; a TTY gets the screen redrawn."""
    deadline = time.monotonic() + args.timeout
    last = ""
    while time.monotonic() < deadline:
        items = fetch(kube, args.target, namespace) or []
        frozen = format_items(items, "json", dt.datetime.fromtimestamp(0, dt.UTC))
        if frozen != last:
            last = frozen
            clear = "\x1b[H\x1b[2J" if sys.stdout.isatty() else ""
            print(clear + format_items(items, args.output, dt.datetime.now(dt.UTC)), flush=True)
        time.sleep(min(WATCH_PERIOD_S, max(deadline - time.monotonic(), 0)))
    return res.EXIT_OK

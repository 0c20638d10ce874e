"""Abort a ModelDeployment's rollout: its traffic goes back to the baseline, and it reports RolledBack.

  mlopsctl abort green -n models
  mlopsctl abort green -n models --retry      # start a rolled-back or failed rollout again

Sets the `rollout.mlops.dev/action` annotation (`abort`, or `retry`), which the operator acts on and
removes; the spec is not touched. Waits until the rollout is RolledBack (abort) or Succeeded (retry).

Exit codes:
  0  done
  1  the rollout ended otherwise (printed), or the deployment has no rollout to act on
  2  usage error
  3  not done within --timeout
  4  the deployment or the API server was not found
"""

from __future__ import annotations

import argparse
import sys

from mlops_operator.api.v1alpha1 import API_VERSION
from mlops_operator.cli import resources as res
from mlops_operator.cli.rollout_action import ACTIVE, act, rollout_of
from mlops_operator.cli.wait import duration


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="DEPLOYMENT", help="the candidate ModelDeployment (it has spec.rollout)")
    parser.add_argument("--retry", action="store_true", help="start a rolled-back or failed rollout again instead")
    parser.add_argument("--timeout", type=duration, default=300.0, help="how long to wait (default 5m)")
    res.add_connection_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from mlops_operator.kube import KubeError

    try:
        kube = res.connect(args.kubeconfig)
        item = kube.get(API_VERSION, res.DEPLOYMENT, args.name, args.namespace)
        if item is None:
            print(f"error: no ModelDeployment {args.namespace}/{args.name}", file=sys.stderr)
            return res.EXIT_NOT_FOUND
        phase = rollout_of(item).get("phase")
        allowed = ("RolledBack", "Failed") if args.retry else ACTIVE
        if not (item.get("spec") or {}).get("rollout") or phase not in allowed:
            wanted = " or ".join(allowed)
            print(f"error: {args.name} has no rollout that is {wanted} (phase: {phase})", file=sys.stderr)
            return res.EXIT_FAILED
        return act(kube, args.namespace, args.name, "retry" if args.retry else "abort", args.timeout)
    except (KubeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return res.EXIT_NOT_FOUND

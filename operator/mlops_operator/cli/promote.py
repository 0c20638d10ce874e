"""Shift an endpoint's live traffic to one deployment in steps, waiting for each step to be in force.

  mlopsctl promote diabetes --to green --steps 10,50,100 --interval 60s -n models
  mlopsctl promote diabetes --to green --print > traffic-steps.yaml      # for a GitOps commit
  mlopsctl promote diabetes --to green                # green has a rollout under way: promote it now
  mlopsctl promote diabetes --to green --next-step    # end a rollout step that waits for a human

When --to has a progressive rollout under way (spec.rollout, status.rollout Progressing, Paused or
Promoting), promote does not patch any spec: it asks the operator, with the `rollout.mlops.dev/action`
annotation, to skip the remaining steps (or, with --next-step, to end the current one), and waits until
the rollout Succeeded (or the step ended).

Each step gives --to its percentage and shares the rest among the other deployments of the endpoint in
proportion to their current traffic, so every step sums to 100 (the operator refuses other sums). A step
patches `spec.traffic` of the deployments whose share changes, then waits until every member reports
`TrafficApplied=True` for its current generation with that split in `status.traffic`, then waits
--interval before the next step. Between the patches of one step the sum is briefly off; the operator
keeps serving the last valid split until the step is complete. --print writes nothing: it prints each
step's changes as partial ModelDeployments (`spec.traffic` only), in order, to commit one by one.

Exit codes:
  0  every step is in force (or, with --print, the steps were printed)
  1  a step cannot be planned, or a member reports TrafficApplied=False needing a human (reason printed)
  2  usage error
  3  a step was not in force within --step-timeout (the last reason seen is printed)
  4  the endpoint, the deployment or the API server was not found
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING, Any

from mlops_operator.api.v1alpha1 import API_VERSION
from mlops_operator.cli import resources as res
from mlops_operator.cli.rollout_action import act, has_active_rollout
from mlops_operator.cli.wait import duration

if TYPE_CHECKING:
    from mlops_operator.kube import Kube

POLL_S = 1.0


class PlanError(ValueError):
    """The steps cannot be taken from the current split."""


def step_list(text: str) -> list[int]:
    try:
        steps = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: steps are percentages, e.g. 10,50,100") from None
    if not steps or any(not 1 <= s <= 100 for s in steps) or steps != sorted(set(steps)):
        raise argparse.ArgumentTypeError(f"{text!r}: steps must be increasing percentages from 1 to 100")
    return steps


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("endpoint", metavar="ENDPOINT", help="the endpoint (spec.endpoint.name of its deployments)")
    parser.add_argument("--to", required=True, metavar="DEPLOYMENT", help="the deployment to shift traffic to")
    parser.add_argument("--steps", type=step_list, default=[10, 50, 100], help="percentages (default 10,50,100)")
    parser.add_argument("--interval", type=duration, default=60.0, help="wait between steps (default 60s)")
    parser.add_argument("--step-timeout", type=duration, default=300.0, help="limit for one step (default 5m)")
    res.add_connection_arguments(parser)
    parser.add_argument("--print", action="store_true", help="print the patches (YAML) instead of applying them")
    parser.add_argument(
        "--next-step", action="store_true", help="a rollout under way: end its current step instead of all of them"
    )


def _shares(weights: dict[str, int], total: int) -> dict[str, int]:
    """`total` split in proportion to `weights` (largest remainder, ties by name), summing exactly."""
    weight_sum = sum(weights.values())
    exact = {name: total * weight / weight_sum for name, weight in weights.items()}
    shares = {name: int(value) for name, value in exact.items()}
    by_remainder = sorted(exact, key=lambda n: (-(exact[n] - shares[n]), n))
    for name in by_remainder[: total - sum(shares.values())]:
        shares[name] += 1
    return shares


def plan(current: dict[str, int], target: str, steps: list[int]) -> list[dict[str, int]]:
    """Pure: the split after each step (all members, each split summing to 100)."""
    if target not in current:
        raise PlanError(f"{target} is not a deployment of this endpoint (members: {', '.join(sorted(current))})")
    if sum(current.values()) not in (0, 100):
        raise PlanError(f"the current split sums to {sum(current.values())} ({current}); make it 0 or 100 first")
    others = {name: pct for name, pct in current.items() if name != target}
    splits = []
    for step in (s for s in steps if s > current[target]):
        if step < 100 and not any(others.values()):
            raise PlanError(f"no other deployment serves traffic to keep {100 - step}%; use --steps 100")
        rest = _shares(others, 100 - step) if step < 100 else dict.fromkeys(others, 0)
        splits.append({**rest, target: step})
    return splits


def changes(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Members whose share changes, decreases first (the transient sum stays below 100, never above)."""
    changed = {name: pct for name, pct in after.items() if before.get(name) != pct}
    return dict(sorted(changed.items(), key=lambda item: (item[1] > before.get(item[0], 0), item[0])))


def patch_documents(
    current: dict[str, int], splits: list[dict[str, int]], namespace: str, mirrored: dict[str, int]
) -> list[tuple[str, list[dict[str, Any]]]]:
    """Pure: per step, a title and the partial ModelDeployments that make it (spec.traffic only)."""
    steps, before = [], current
    for index, split in enumerate(splits, start=1):
        documents = []
        for name, pct in changes(before, split).items():
            spec: dict[str, Any] = {"traffic": pct}
            if pct and mirrored.get(name):
                spec["mirrorTraffic"] = 0  # live and mirrored traffic exclude each other
            meta = {"name": name, "namespace": namespace}
            documents.append({"apiVersion": API_VERSION, "kind": res.DEPLOYMENT, "metadata": meta, "spec": spec})
        title = f"step {index} of {len(splits)}: " + ", ".join(f"{n}={p}" for n, p in sorted(split.items()))
        steps.append((title, documents))
        before = split
    return steps


def print_patches(steps: list[tuple[str, list[dict[str, Any]]]]) -> str:
    import yaml

    parts = []
    for title, documents in steps:
        body = yaml.safe_dump_all(documents, sort_keys=False, explicit_start=True)
        parts.append(f"# {title}\n{body}")
    return "".join(parts)


def members(kube: Kube, namespace: str, endpoint: str) -> list[dict[str, Any]]:
    items = kube.list(API_VERSION, res.DEPLOYMENT, namespace)
    return [i for i in items if (i.get("spec") or {}).get("endpoint", {}).get("name") == endpoint]


def in_force(items: list[dict[str, Any]], split: dict[str, int]) -> tuple[bool, str, bool]:
    """Pure: (the split is in force on every member, the last reason, whether it needs a human)."""
    wanted = {n: p for n, p in split.items() if p}
    for item in items:
        name = item["metadata"]["name"]
        applied = res.condition(item, "TrafficApplied") or {}
        shown = {n: p for n, p in ((item.get("status") or {}).get("traffic") or {}).items() if p}
        if not res.is_current(item):
            return False, f"{name}: generation not observed yet", False
        if applied.get("status") != "True":
            line = f"{name}: TrafficApplied={applied.get('status', 'Unknown')} {applied.get('reason', '-')}: "
            return False, line + applied.get("message", ""), applied.get("severity") == "Error"
        if shown != wanted:
            return False, f"{name}: status.traffic is {shown}", False
    return True, "in force", False


def apply_step(kube: Kube, namespace: str, documents: list[dict[str, Any]]) -> None:
    for document in documents:
        name = document["metadata"]["name"]
        kube.patch_merge(API_VERSION, res.DEPLOYMENT, name, namespace, {"spec": document["spec"]})


def wait_in_force(kube: Kube, args: argparse.Namespace, split: dict[str, int]) -> tuple[int, str]:
    deadline = time.monotonic() + args.step_timeout
    while True:
        done, line, needs_human = in_force(members(kube, args.namespace, args.endpoint), split)
        if done:
            return res.EXIT_OK, line
        if needs_human:
            return res.EXIT_FAILED, line
        if time.monotonic() >= deadline:
            return res.EXIT_TIMEOUT, f"timed out after {args.step_timeout:.0f}s; last: {line}"
        time.sleep(POLL_S)


def run(args: argparse.Namespace) -> int:
    from mlops_operator.kube import KubeError

    try:
        kube = res.connect(args.kubeconfig)
        items = members(kube, args.namespace, args.endpoint)
        if not items:
            print(f"error: no ModelDeployment of endpoint {args.endpoint} in {args.namespace}", file=sys.stderr)
            return res.EXIT_NOT_FOUND
        return _promote(kube, args, items)
    except PlanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return res.EXIT_FAILED
    except (KubeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return res.EXIT_NOT_FOUND


def _promote(kube: Kube, args: argparse.Namespace, items: list[dict[str, Any]]) -> int:
    target = next((i for i in items if i["metadata"]["name"] == args.to), None)
    if target is not None and has_active_rollout(target) and not args.print:
        action = "resume" if args.next_step else "promote"
        return act(kube, args.namespace, args.to, action, args.step_timeout)
    current = {i["metadata"]["name"]: int(i["spec"].get("traffic", 0)) for i in items}
    mirrored = {i["metadata"]["name"]: int(i["spec"].get("mirrorTraffic", 0)) for i in items}
    splits = plan(current, args.to, args.steps)
    steps = patch_documents(current, splits, args.namespace, mirrored)
    if args.print:
        print(print_patches(steps), end="")
        return res.EXIT_OK
    if not steps:
        print(f"{args.to} already has {current[args.to]}%: nothing to do")
    for index, ((title, documents), split) in enumerate(zip(steps, splits, strict=True)):
        print(f"{title}: patching {', '.join(d['metadata']['name'] for d in documents)}", flush=True)
        apply_step(kube, args.namespace, documents)
        code, line = wait_in_force(kube, args, split)
        print(f"  {line}", flush=True)
        if code != res.EXIT_OK:
            return code
        if index < len(steps) - 1:
            time.sleep(args.interval)
    return res.EXIT_OK

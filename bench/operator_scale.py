"""The operator at scale: N ModelDeployments (native backend) against the API-server floor, same run.

On a local control plane with kwok nodes (pods are fake and never run; nothing connects to them):

1. operator phase: the operator runs as its own process under its own ServiceAccount. N
   ModelDeployments, spread over namespaces and two-member endpoints, are applied by `--workers` threads;
   a watch records when each is Ready at its generation. Then a bounded idle period (the resync period
   shortened by MLOPS_DRIFT_INTERVAL_SECONDS so several resyncs fall in it), an update wave (a new model
   version on 10 %) and a delete wave (all of them, through the operator's finalizer).
2. floor phase: the operator stopped, a plain client under another ServiceAccount applies exactly the
   child objects the operator created (read back from the API server, re-pointed at fresh namespaces and
   owners), the ModelDeployments included, as fast as the API server takes them with the same workers,
   and waits until every Deployment is available (what Ready waits for).

Requests are counted from the API server's audit log by user, CPU and peak RSS from /proc. It ends with
`RESULT backend=native n=<N> ready_s=<t> floor_s=<t> ratio=<x> p99_ready_s=<t> rss_mib=<m> idle_writes=<k>`.
Nothing is asserted (tests/integration/test_operator_scale_smoke.py runs N=50 as a smoke run).

    .venv/bin/python bench/operator_scale.py --n 1000 --idle-seconds 300 --resync-seconds 60 --plot docs/img/scale.png
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen

from mlops_operator.devcluster import ClusterConfig, LocalCluster
from mlops_operator.kube import Kube, load_api_client
from scale_floor import EndpointObjects, FloorRun, capture_children, run_floor
from scale_load import Layout, apply_all, delete_all, operator_identity, prepare_cluster, update_wave
from scale_support import AuditCounts, ProcessSampler, ReadinessTracker, audit_counts, operator_process, percentile

REPO = Path(__file__).resolve().parents[1]
OPERATOR_USER = "system:serviceaccount:mlops-system:operator"


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    run, floor = measure(args)
    _report(args, run, floor)
    return 0


def measure(args: argparse.Namespace) -> tuple[OperatorRun, FloorRun]:
    """Both phases on one fresh cluster: what the operator did, and what the floor took."""
    layout = Layout(n=args.n, namespaces=args.namespaces or max(1, args.n // 100), prefix="scale")
    config = ClusterConfig(audit_log=True, node_pools=layout.node_pools(), keep_work_dir=args.keep_work_dir)
    with LocalCluster(config) as cluster:
        print(f"cluster work dir {cluster.work_dir} (audit log in logs/audit.jsonl)", flush=True)
        kube = Kube(load_api_client(str(cluster.kubeconfig_path)))
        prepare_cluster(cluster, kube, REPO)
        run = _operator_phase(args, cluster, kube, layout, operator_identity(cluster, "operator"))
        return run, run_floor(cluster, kube, run.children, layout, args.workers)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="ModelDeployments to apply")
    parser.add_argument("--namespaces", type=int, default=0, help="spread over this many (default N/100)")
    parser.add_argument("--workers", type=int, default=8, help="client threads applying objects")
    parser.add_argument("--idle-seconds", type=float, default=300.0, help="bounded idle period after Ready")
    parser.add_argument("--resync-seconds", type=float, default=60.0, help="the operator's resync period")
    parser.add_argument("--timeout", type=float, default=1800.0, help="bound on every wait")
    parser.add_argument(
        "--operator-source", type=Path, help="run the operator from this source root (another worktree's operator/)"
    )
    parser.add_argument("--keep-work-dir", action="store_true", help="keep the cluster's files (audit log)")
    parser.add_argument("--plot", type=Path, help="write a Ready-count-over-time plot (needs matplotlib)")
    return parser.parse_args(argv)


def _operator_process(kubeconfig: Path, resync: float, source: Path | None) -> AbstractContextManager[Popen[bytes]]:
    env = {"KUBECONFIG": str(kubeconfig), "MLOPS_DRIFT_INTERVAL_SECONDS": str(resync), "MLOPS_METRICS_PORT": "0"}
    if source is not None:  # another checkout's operator (before/after a change), same harness
        env["PYTHONPATH"] = str(source)
    return operator_process([sys.executable, "-m", "mlops_operator.cli.main", "operator", "--liveness", ""], env)


@dataclass
class OperatorRun:
    """What the operator phase measured."""

    tracker: ReadinessTracker
    ready_s: float = 0.0
    latencies: list[float] = field(default_factory=list)
    create: AuditCounts = field(default_factory=lambda: AuditCounts(Counter()))
    create_cpu_s: float = 0.0
    idle: AuditCounts = field(default_factory=lambda: AuditCounts(Counter()))
    idle_cpu_s: float = 0.0
    update_s: float = 0.0
    delete_s: float = 0.0
    rss_mib: float = 0.0
    children: dict[tuple[str, str], EndpointObjects] = field(default_factory=dict)


def _operator_phase(
    args: argparse.Namespace, cluster: LocalCluster, kube: Kube, layout: Layout, kubeconfig: Path
) -> OperatorRun:
    audit = cluster.audit_log_path
    assert audit is not None
    run = OperatorRun(ReadinessTracker(load_api_client(str(cluster.kubeconfig_path))).start())
    with _operator_process(kubeconfig, args.resync_seconds, args.operator_source) as process:
        sampler = ProcessSampler(process.pid).start()
        time.sleep(3)  # kopf's first list and watch; not part of anyone's apply-to-Ready
        cpu0, wall0, start = sampler.cpu_seconds(), time.time(), time.monotonic()
        run.tracker.started = start  # the plot's time axis starts at the first apply
        applied = apply_all(kube, layout, args.workers)
        run.ready_s = run.tracker.wait(lambda: run.tracker.ready_count() >= args.n, args.timeout, "all Ready") - start
        run.latencies = [(run.tracker.ready_time(k, 1) or float("nan")) - t for k, t in applied.items()]
        run.create = audit_counts(audit, OPERATOR_USER, wall0, time.time())
        run.create_cpu_s = sampler.cpu_seconds() - cpu0
        run.children = capture_children(kube, layout)
        time.sleep(min(10.0, args.idle_seconds))  # the create wave's last status writes and Events land
        cpu0, wall0 = sampler.cpu_seconds(), time.time()
        time.sleep(args.idle_seconds)
        run.idle, run.idle_cpu_s = audit_counts(audit, OPERATOR_USER, wall0, time.time()), sampler.cpu_seconds() - cpu0
        run.update_s = update_wave(kube, layout, run.tracker, args.workers, args.timeout)
        run.delete_s = delete_all(kube, layout, run.tracker, args.workers, args.timeout)
        run.rss_mib = sampler.peak_rss_kib / 1024
        sampler.stop()
    run.tracker.stop()
    return run


def _report(args: argparse.Namespace, run: OperatorRun, floor: FloorRun) -> None:
    p50, p99 = percentile(run.latencies, 50), percentile(run.latencies, 99)
    floor_s, floor_p99 = floor.seconds, percentile(floor.latencies, 99)
    print(f"create: {run.create.total / args.n:.1f} operator requests per ModelDeployment {dict(run.create.by_verb)}")
    print(f"create: operator CPU {run.create_cpu_s:.1f}s; apply-to-Ready p50 {p50:.1f}s p99 {p99:.1f}s")
    per_min = run.idle.total / (args.idle_seconds / 60)
    print(
        f"idle {args.idle_seconds:.0f}s (resync every {args.resync_seconds:.0f}s): {run.idle.total} requests "
        f"({per_min:.1f}/min), {run.idle.writes} writes {dict(run.idle.by_verb)}; CPU {run.idle_cpu_s:.1f}s"
    )
    print(f"update wave (10 %): {run.update_s:.1f}s; delete wave: {run.delete_s:.1f}s")
    floor_p50 = percentile(floor.latencies, 50)
    print(f"floor: all available {floor_s:.1f}s; apply-to-available p50 {floor_p50:.1f}s p99 {floor_p99:.1f}s")
    if args.plot:
        from scale_plot import plot_ready

        plot_ready(args.plot, run.tracker.timeline, floor.available_at)
    print(
        f"RESULT backend=native n={args.n} ready_s={run.ready_s:.1f} floor_s={floor_s:.1f} "
        f"ratio={run.ready_s / floor_s:.2f} p99_ready_s={p99:.1f} rss_mib={run.rss_mib:.0f} "
        f"idle_writes={run.idle.writes} floor_p99_s={floor_p99:.1f}"
    )


if __name__ == "__main__":
    raise SystemExit(main())

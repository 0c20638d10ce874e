"""The azureml backend at scale against the fake ARM server (tests/fake_arm, a test double), shaped like
bench/operator_scale.py: N ModelDeployments over two-member endpoints until Ready, an idle window of whole
resync periods, a delete wave. ARM calls are counted by the fake: per ModelDeployment on create, and per
resync when nothing changed (target: no writes, at most one read per Azure resource).

The floor replays exactly the ARM writes the operator made (the fake logs each request with its body), in
the same order per endpoint, endpoints in parallel, each polled until its provisioning succeeded: a plain
client doing the same work as fast as ARM (here the fake) takes it. Ends with
`RESULT backend=azureml n=<N> ready_s=<t> floor_s=<t> ratio=<x> p99_ready_s=<t> rss_mib=<m> idle_writes=<k>`.

    .venv/bin/python bench/scale_azureml.py --n 100 --resync-seconds 20 --idle-seconds 40
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TESTS = [str(REPO / "tests"), str(REPO / "tests" / "integration")]
sys.path[:0] = TESTS  # the fake ARM server and the azureml test bodies

import httpx  # noqa: E402
from azureml.helpers import AKS, RG, WS, md_body, platform_body  # noqa: E402

from fake_arm import FakeArm  # noqa: E402
from mlops_operator.devcluster import LocalCluster  # noqa: E402
from mlops_operator.kube import Kube, load_api_client  # noqa: E402
from scale_load import API, in_parallel, operator_identity  # noqa: E402
from scale_support import ProcessSampler, ReadinessTracker, operator_process, percentile  # noqa: E402

NAMESPACE = "scale-aml"
WRITES = frozenset({"PUT", "PATCH", "POST", "DELETE"})
PLATFORM_KINDS = frozenset({"workspaces", "managedClusters", "agentPools", "extensions", "computes"})
PLATFORM_RESYNC_FACTOR = 2  # a platform is resynced every other period (handlers/flows.py resync_seconds)
INSTANCE_TYPES_CRD = REPO / "tests/integration/azureml/instancetypes.amlarc.azureml.com.yaml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100, help="ModelDeployments (two per endpoint)")
    parser.add_argument("--workers", type=int, default=8, help="client threads (apply, and the floor's replay)")
    parser.add_argument("--resync-seconds", type=float, default=20.0, help="the operator's resync period")
    parser.add_argument("--idle-seconds", type=float, default=40.0, help="idle window (whole resync periods)")
    parser.add_argument("--timeout", type=float, default=900.0, help="bound on every wait")
    args = parser.parse_args(argv)
    with FakeArm() as fake, LocalCluster() as cluster:
        result = measure(args, fake, cluster)
        floor_s = replay_floor(fake, result["create_log"], args.workers)
    report(args, result, floor_s)
    return 0


def measure(args: argparse.Namespace, fake: FakeArm, cluster: LocalCluster) -> dict[str, Any]:
    fake.seed_workspace(RG, WS)
    fake.seed_aks_cluster(RG, AKS)
    cluster.install_crds(*sorted((REPO / "crds").glob("*.yaml")), INSTANCE_TYPES_CRD)
    cluster.kubectl("create", "namespace", NAMESPACE)
    kube = Kube(load_api_client(str(cluster.kubeconfig_path)))
    tracker = ReadinessTracker(load_api_client(str(cluster.kubeconfig_path))).start()
    result: dict[str, Any] = {}
    with _operator(fake, operator_identity(cluster, "operator"), args.resync_seconds) as process:
        sampler = ProcessSampler(process.pid).start()
        kube.apply(platform_body(), "scale-bench")
        _wait(lambda: _ready(kube.get(API, "MLOpsPlatform", "aml")), args.timeout, "platform Ready")
        fake.reset_log()
        start = tracker.started = time.monotonic()
        applied = dict(in_parallel(lambda i: _apply(kube, i), range(args.n), args.workers))
        result["ready_s"] = tracker.wait(lambda: tracker.ready_count() >= args.n, args.timeout, "all Ready") - start
        result["latencies"] = [(tracker.ready_time(k, 1) or float("nan")) - t for k, t in applied.items()]
        result["create_log"] = fake.requests()
        time.sleep(args.resync_seconds / 2)  # the last status writes land; then count whole periods
        fake.reset_log()
        time.sleep(args.idle_seconds)
        result["idle"] = fake.call_counts()
        result["idle_paths"] = Counter(f"{r.method} {_shape(r.path)}" for r in fake.requests())
        start = time.monotonic()
        in_parallel(lambda i: kube.delete(API, "ModelDeployment", f"model-{i}", NAMESPACE), range(args.n), args.workers)
        gone = [(NAMESPACE, f"model-{i}") for i in range(args.n)]
        result["delete_s"] = tracker.wait(lambda: all(k in tracker.gone for k in gone), args.timeout, "gone") - start
        result["left_in_azure"] = [r.id for r in fake.app.store.all() if r.kind in ("onlineEndpoints", "deployments")]
        result["rss_mib"] = sampler.peak_rss_kib / 1024
        sampler.stop()
    tracker.stop()
    return result


def _shape(path: str) -> str:
    """An ARM path with the names of endpoints, deployments, models and operations left out."""
    parts = path.rsplit("/providers/Microsoft.MachineLearningServices/workspaces/", maxsplit=1)[-1].split("/")
    return "/".join(p if i % 2 == 1 or i == 0 else "*" for i, p in enumerate(parts[1:], start=1))


def _operator(fake: FakeArm, kubeconfig: Path, resync: float) -> Any:
    env = {
        "KUBECONFIG": str(kubeconfig),
        "PYTHONPATH": ":".join([*TESTS, str(REPO / "operator")]),
        "MLOPS_AZURE_RESOURCE_MANAGER": fake.base_url,
        "MLOPS_AZURE_CA_BUNDLE": fake.ca_bundle,
        "MLOPS_AZURE_POLL_SECONDS": "0.5",
        "MLOPS_DRIFT_INTERVAL_SECONDS": str(resync),
        "MLOPS_LIVENESS_PORT": "0",
    }
    # The tests' entry point swaps in a static-token credential for the fake; production has no such switch.
    argv = [sys.executable, "-m", "kopf", "run", "--all-namespaces", "--standalone", "-m", "azureml.operator_entry"]
    return operator_process(argv, env)


def _apply(kube: Kube, i: int) -> tuple[tuple[str, str], float]:
    endpoint, member = divmod(i, 2)
    body = md_body(NAMESPACE, f"model-{i}", endpoint=f"endpoint-{endpoint}", traffic=100 if member == 0 else 0)
    kube.apply(body, "scale-bench")
    return (NAMESPACE, f"model-{i}"), time.monotonic()


def _ready(body: dict[str, Any] | None) -> bool:
    conditions = ((body or {}).get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _wait(done: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not after {timeout:.0f}s")
        time.sleep(0.5)


def replay_floor(fake: FakeArm, log: list[Any], workers: int) -> float:
    """Seconds for a plain HTTPS client to make the operator's successful ARM writes again, in the same order
    per endpoint, each long-running one polled (GET) until its provisioning state is final."""
    # After the delete wave the fake holds the platform's resources (workspace, compute) but no endpoints:
    # every write creates again, as the operator's did.
    by_endpoint: dict[str, list[Any]] = defaultdict(list)
    for record in log:
        if record.method in WRITES and record.status < 300 and "/onlineEndpoints/" in record.path:
            by_endpoint[record.path.split("/onlineEndpoints/")[1].split("/")[0].lower()].append(record)
    groups = list(by_endpoint.values())
    headers = {"Authorization": "Bearer fake-arm-token"}
    with httpx.Client(base_url=fake.base_url, verify=fake.ca_bundle, headers=headers, timeout=60) as arm:
        start = time.monotonic()
        in_parallel(lambda g: _replay(arm, groups[g]), range(len(groups)), workers)
        return time.monotonic() - start


def _replay(arm: httpx.Client, records: list[Any]) -> None:
    for record in records:
        response = arm.request(record.method, record.path, params=record.query, json=record.body)
        response.raise_for_status()
        if record.method == "PUT" and response.status_code in (200, 201, 202):
            _wait(lambda r=record: _provisioned(arm, r), 120, f"{record.path} provisioned")


def _provisioned(arm: httpx.Client, record: Any) -> bool:
    state = arm.get(record.path, params=record.query).json().get("properties", {}).get("provisioningState")
    return state in ("Succeeded", "Failed", "Canceled", None)


def reads_per_resource(idle: Counter[tuple[str, str]], n: int, resyncs: float) -> dict[str, float]:
    """Idle GETs of each resource type per resource per resync of its owner: n deployments, n/2 endpoints,
    one platform (resynced every other period); anything else (asset versions, operation status) per
    ModelDeployment."""
    owners = {"deployments": (n, resyncs), "onlineEndpoints": (n // 2, resyncs)}
    reads: dict[str, float] = {}
    for (method, kind), count in idle.items():
        if method == "GET":
            default = (1, resyncs / PLATFORM_RESYNC_FACTOR) if kind in PLATFORM_KINDS else (n, resyncs)
            resources, periods = owners.get(kind, default)
            reads[kind] = count / resources / periods
    return reads


def report(args: argparse.Namespace, result: dict[str, Any], floor_s: float) -> None:
    create = Counter(r.method for r in result["create_log"])
    create_kinds = Counter((r.method, r.resource_type) for r in result["create_log"])
    idle: Counter[tuple[str, str]] = result["idle"]
    resyncs = args.idle_seconds / args.resync_seconds
    resources = args.n + args.n // 2  # a deployment each, an endpoint per two
    idle_writes = sum(n for (method, _), n in idle.items() if method in WRITES)
    idle_reads = sum(n for (method, _), n in idle.items() if method == "GET")
    print(f"create: {sum(create.values()) / args.n:.1f} ARM calls per ModelDeployment {dict(create)}")
    print(f"create by kind: {dict(create_kinds.most_common())}")
    print(f"idle {args.idle_seconds:.0f}s ({resyncs:.1f} resyncs): {dict(idle)}")
    print(f"idle: {idle_reads / resyncs / resources:.2f} reads per Azure resource per resync, {idle_writes} writes")
    per_kind = reads_per_resource(idle, args.n, resyncs)
    print("idle reads per resource per resync, by type: " + ", ".join(f"{k} {v:.2f}" for k, v in per_kind.items()))
    for path, count in result["idle_paths"].most_common(8):
        print(f"  {count / resyncs / args.n:5.2f} per ModelDeployment per resync: {path}")
    print(f"delete wave: {result['delete_s']:.1f}s; left in Azure: {result['left_in_azure'] or 'nothing'}")
    p99 = percentile(result["latencies"], 99)
    print(
        f"RESULT backend=azureml n={args.n} ready_s={result['ready_s']:.1f} floor_s={floor_s:.1f} "
        f"ratio={result['ready_s'] / floor_s:.2f} p99_ready_s={p99:.1f} rss_mib={result['rss_mib']:.0f} "
        f"idle_writes={idle_writes}"
    )


if __name__ == "__main__":
    raise SystemExit(main())

"""Flagger's canary of our scoring Deployment, behind the same Gateway (Traefik) and Prometheus (issue 14).

On a real-node cluster (one kubelet, our scoring image built from the Dockerfile) with Traefik and a real
Prometheus, this deploys a plain apps/v1 Deployment whose pod template is the one our operator renders for
a ModelDeployment (render/workload.py, without the owner reference: no operator runs here, Flagger owns
and scales the Deployment), runs Flagger v1.36.1 (hack/flagger/build.sh) as a local process with
`-mesh-provider=gatewayapi:v1` and a Canary whose analysis is one Prometheus MetricTemplate (the 5xx ratio
of `mlops_scoring_requests_total` over the canary's pods), and times two rollouts under bounded load
through the Gateway:

1. healthy: the template moves to model v2 (same model, new ConfigMap) -> seconds from the change until
   the Canary's phase is Succeeded, and the non-2xx answers meanwhile;
2. bad: the template moves to a score.py whose run() raises on every fifth call -> seconds until the
   Canary is Failed (rolled back), and the non-2xx answers meanwhile.

Then, in the same run and cluster, our operator runs the same two scenarios (bench/rollout_ours.py: the
same Gateway, Prometheus, pod template, load and equivalent analysis settings) and `comparison` puts both
side by side.

Prints one JSON document (settings, numbers, each Canary status change) on stdout; progress goes to
stderr. Needs root (the real node) and no other real-node cluster running. Every request goes to Traefik
on 127.0.0.1, which dials pod addresses on the node's bridge; each load loop is bounded by seconds and
by requests. Run: `make flagger`, or
    PYTHONPATH=operator .venv/bin/python bench/flagger_canary.py
"""

from __future__ import annotations

import argparse
import collections
import json
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests" / "integration")]  # the Prometheus runner and the Gateway load client

from gateway.traffic import Load  # noqa: E402
from kubernetes import client  # noqa: E402
from prometheus_server import Prometheus, prometheus_bin  # noqa: E402

from mlops_operator.api.v1alpha1 import InstanceType, ModelDeployment  # noqa: E402
from mlops_operator.cli.dev_resources import model_configmaps  # noqa: E402
from mlops_operator.devcluster import ClusterConfig, LocalCluster  # noqa: E402
from mlops_operator.devcluster.gateway import (  # noqa: E402
    Traefik,
    apply_gateway,
    apply_gateway_class,
    apply_manifest,
    find_traefik,
)
from mlops_operator.devcluster.nodeconfig import NODE_NAME  # noqa: E402
from mlops_operator.devcluster.process import ManagedProcess, free_ports  # noqa: E402
from mlops_operator.kube import Kube, load_api_client  # noqa: E402
from mlops_operator.render.prometheus import prometheus_config, scoring_pods_scrape_config  # noqa: E402
from mlops_operator.render.workload import WorkloadInputs, render_deployment  # noqa: E402

sys.path[:0] = [str(REPO / "bench")]
from rollout_ours import PacedCaller, run_ours  # noqa: E402

BAD_SCORE = Path(__file__).resolve().parent / "flagger" / "score_fails_one_in_five.py"
NAMESPACE = "flagger-bench"
NAME = "diabetes"
HOST = "diabetes.flagger.local"
GATEWAY, GATEWAY_NAMESPACE = "mlops-gateway", "mlops-system"
SELECTOR_LABEL = "mlops.dev/deployment"
ROW = [0.03, 0.05, 0.06, 0.02, -0.04, -0.03, -0.04, 0.0, 0.02, -0.02]
BODY = json.dumps({"data": [ROW]}).encode()
FAST_PROBE = {"initialDelay": 1, "period": 1, "timeout": 2, "successThreshold": 1, "failureThreshold": 30}
NO_TRACKING = {"flagger.app/config-tracking": "disabled"}
TERMINAL = {"Succeeded", "Failed"}
TAIL_SECONDS = 8.0  # load after the terminal phase: the scaled-down pods' preStop drain (5 s) and exit
FLAGGER_VERSION = "v1.36.1"
# What our pod template needs changed for Flagger v1.36.1 (docs/flagger-notes.md): preStop `sleep` becomes an
# exec of the image's python; the binaryData (model) ConfigMaps are not config-tracked.
WORKAROUNDS = ("prestop-exec", "untracked-binary-configmaps")
VERSIONS = {  # the answers' azureml-model-deployment header names the version that served them
    "v1": {"name": "diabetes-v1", "model": "1", "code": "sklearn-diabetes-code"},
    "v2": {"name": "diabetes-v2", "model": "2", "code": "sklearn-diabetes-code"},
    "bad": {"name": "diabetes-bad", "model": "2", "code": "sklearn-diabetes-code-bad"},
}
INSTANCE_TYPE = {  # the same instance type as tests/integration/native_backend/helpers.py:apply_platform
    "name": "small",
    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
    "nodeSelector": {"agentpool": "mlpool"},
    "tolerations": [{"key": "workload", "operator": "Equal", "value": "ml", "effect": "NoSchedule"}],
}
# Flagger renders {{ namespace }}, {{ target }} (the Deployment: its canary pods keep `mlops.dev/deployment`
# = target, the primary's become target-primary) and {{ interval }} (the metric's interval) in the query.
CANARY_REQUESTS = (
    'mlops_scoring_requests_total{namespace="{{ namespace }}", deployment="{{ target }}", route="score"%s}'
    "[{{ interval }}]"
)
FIVE_XX = ', code="5xx"'
ERROR_RATIO_QUERY = (
    "(sum(rate(" + CANARY_REQUESTS % FIVE_XX + ")) or on() vector(0))\n/\nsum(rate(" + CANARY_REQUESTS % "" + "))"
)


@dataclass(frozen=True)
class Settings:
    interval: str
    threshold: int
    step_weights: list[int]
    max_error_ratio: float
    metric_interval: str
    replicas: int
    threads: int
    rate_per_thread: float
    max_seconds: float
    max_requests_per_thread: int
    scrape_interval: str
    warmup_seconds: float
    workarounds: list[str]


class HostCaller(PacedCaller):
    """PacedCaller's keep-alive POST /score, to the Flagger route's hostname."""

    def __init__(self, port: int, key: str, rate: float) -> None:
        super().__init__(port, key, BODY, rate, namespace=NAMESPACE)
        self.path = "/score"
        self.headers = self.headers | {"Host": HOST}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def flagger_assets() -> Path:
    out = subprocess.run([str(REPO / "hack" / "flagger" / "build.sh")], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"hack/flagger/build.sh failed:\n{out.stderr[-4000:]}")
    return Path(out.stdout.strip().splitlines()[-1])


def another_real_node_running() -> list[int]:
    """Pids of kubelets already running: a second real node would fight over the bridge and the mounts."""
    pids = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "kubelet":
                pids.append(int(comm.parent.name))
        except OSError:
            continue
    return pids


def deployment(image: str, version: dict[str, str], prestop_exec: bool = True) -> dict[str, Any]:
    """The Deployment our operator renders for the ModelDeployment `diabetes` at `version` (model version,
    score.py ConfigMap, the name its answers carry in azureml-model-deployment), minus what ties it to the
    operator: no owner reference, its own managed-by label, and a selector of the one label Flagger rewrites
    for the primary (`mlops.dev/deployment`)."""
    md = ModelDeployment.model_validate({
        "apiVersion": "mlops.dev/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "uid": "none"},
        "spec": {
            "platformRef": {"name": "local"},
            "endpoint": {"name": NAME},
            "model": {"name": "sklearn-diabetes", "version": version["model"],
                      "uri": f"configmap://sklearn-diabetes-model-v{version['model']}"},
            "code": {"scoringScript": "score.py", "configMap": {"name": version["code"]}},
            "environmentVariables": {"AZUREML_DEPLOYMENT_NAME": version["name"]},
            "instanceType": "small",
            "instanceCount": 1,
            "livenessProbe": {**FAST_PROBE, "initialDelay": 10},
            "readinessProbe": FAST_PROBE,
        },
    })  # fmt: skip
    inputs = WorkloadInputs(instance_type=InstanceType.model_validate(INSTANCE_TYPE), image=image, fetcher_image=image)
    body = render_deployment(md, inputs)
    body["metadata"].pop("ownerReferences")
    for labels in (body["metadata"]["labels"], body["spec"]["template"]["metadata"]["labels"]):
        labels["app.kubernetes.io/managed-by"] = "flagger"
    body["spec"]["selector"] = {"matchLabels": {SELECTOR_LABEL: NAME}}
    # Flagger v1.36.1 copies the template through k8s.io/api v0.27, whose LifecycleHandler has no `sleep`
    # (Kubernetes 1.29+): the primary's preStop would be empty and the API server refuses the Deployment.
    # The same drain as an exec of the image's python (docs/flagger-notes.md).
    [container] = body["spec"]["template"]["spec"]["containers"]
    if not prestop_exec:
        return body
    seconds = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    container["lifecycle"] = {"preStop": {"exec": {"command": ["python", "-c", f"import time; time.sleep({seconds})"]}}}
    return body


def model_files(kube: Kube, untrack_binary: bool = True) -> str:
    """Code and model ConfigMaps (the model ones untracked by Flagger: see docs/flagger-notes.md), the bad
    score.py, and the endpoint keys Secret; returns the primary key."""
    for body in model_configmaps(REPO / "examples", NAMESPACE):
        if "binaryData" in body and untrack_binary:
            body["metadata"]["annotations"] = dict(NO_TRACKING)
        kube.create(body)
    bad = {"name": VERSIONS["bad"]["code"], "namespace": NAMESPACE}
    kube.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": bad, "data": {"score.py": BAD_SCORE.read_text()}})
    key = secrets.token_urlsafe(32)
    kube.create({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"{NAME}-endpoint-keys", "namespace": NAMESPACE},
        "type": "Opaque", "stringData": {"primaryKey": key, "secondaryKey": secrets.token_urlsafe(32)},
    })  # fmt: skip
    return key


def metric_template() -> dict[str, Any]:
    return {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "MetricTemplate",
        "metadata": {"name": "scoring-error-ratio", "namespace": NAMESPACE},
        "spec": {"provider": {"type": "prometheus", "address": "set-below"}, "query": ERROR_RATIO_QUERY},
    }


def canary(settings: Settings) -> dict[str, Any]:
    return {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "metadata": {"name": NAME, "namespace": NAMESPACE},
        "spec": {
            "provider": "gatewayapi:v1",
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": NAME},
            "progressDeadlineSeconds": 120,
            "service": {
                "port": 80,
                "targetPort": "http",
                "hosts": [HOST],
                "gatewayRefs": [
                    {
                        "name": GATEWAY,
                        "namespace": GATEWAY_NAMESPACE,
                        "group": "gateway.networking.k8s.io",
                        "kind": "Gateway",
                    }
                ],
            },
            "analysis": {
                "interval": settings.interval,
                "threshold": settings.threshold,
                "stepWeights": settings.step_weights,
                "metrics": [
                    {
                        "name": "error-ratio",
                        "templateRef": {"name": "scoring-error-ratio", "namespace": NAMESPACE},
                        "thresholdRange": {"max": settings.max_error_ratio},
                        "interval": settings.metric_interval,
                    }
                ],
            },
        },
    }


class Cluster:
    """The Kube client, plus the Canary read by its plural (Kube's kind-to-plural table knows no `canaries`)."""

    def __init__(self, kubeconfig: Path) -> None:
        self.api = load_api_client(str(kubeconfig))
        self.kube = Kube(self.api)
        self.objects = client.CustomObjectsApi(self.api)

    def canary_status(self) -> dict[str, Any]:
        body = self.objects.get_namespaced_custom_object("flagger.app", "v1beta1", NAMESPACE, "canaries", NAME)
        assert isinstance(body, dict)
        return dict(body.get("status") or {})


@dataclass
class Watch:
    """Every change of the Canary's (phase, canaryWeight, failedChecks), timed from `t0` (monotonic)."""

    k: Cluster
    flagger: ManagedProcess
    t0: float = field(default_factory=time.monotonic)
    changes: list[dict[str, Any]] = field(default_factory=list)
    last: tuple[Any, ...] | None = None

    def until(self, phases: set[str], timeout: float) -> str:
        """Poll every 0.25 s until the phase is in `phases`; returns it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.flagger.alive():
                raise RuntimeError(f"flagger exited:\n{self.flagger.log_tail(40)}")
            status = self.k.canary_status()
            now = (status.get("phase"), status.get("canaryWeight"), status.get("failedChecks"))
            if now != self.last:
                self.last = now
                change = {"t": round(time.monotonic() - self.t0, 2), "phase": now[0], "canaryWeight": now[1],
                          "failedChecks": now[2]}  # fmt: skip
                self.changes.append(change)
                log(f"canary: {change}")
            if now[0] in phases:
                return str(now[0])
            time.sleep(0.25)
        raise TimeoutError(f"Canary not in {phases} after {timeout}s; changes: {self.changes}")

    def state_at(self, t: float) -> str:
        """`phase@weight` in force `t` seconds after t0."""
        state = "before"
        for change in self.changes:
            if change["t"] > t:
                break
            state = f"{change['phase']}@{change['canaryWeight']}"
        return state


def through_gateway(port: int, key: str, timeout: float = 120.0) -> None:
    """One 200 through the Gateway on the Flagger route's host (Traefik has picked the route up)."""
    caller = HostCaller(port, key, rate=10.0)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if caller.call().status == 200:
                return
        raise TimeoutError(f"no 200 through the Gateway on Host {HOST} within {timeout}s")
    finally:
        caller.close()


def rollout(
    k: Cluster, settings: Settings, gateway_port: int, key: str, template: dict[str, Any], flagger: ManagedProcess
) -> dict[str, Any]:
    """Bounded load through the Gateway; after the warm-up the Deployment's template changes; until the
    Canary is Succeeded or Failed. Counts the answers from the change until that phase, per Canary state
    (phase@canaryWeight) and per version (the answer's azureml-model-deployment header)."""
    phase_before = k.canary_status().get("phase")
    with Load(lambda: HostCaller(gateway_port, key, settings.rate_per_thread), settings.threads,
              settings.max_seconds, settings.max_requests_per_thread) as load:  # fmt: skip
        time.sleep(settings.warmup_seconds)
        watch = Watch(k, flagger)
        k.kube.patch_merge("apps/v1", "Deployment", NAME, NAMESPACE, {"spec": {"template": template}})
        log("deployment template changed")
        budget = settings.max_seconds - settings.warmup_seconds - 5
        watch.until({"Progressing"}, budget)
        phase = watch.until(TERMINAL, budget - (time.monotonic() - watch.t0))
        done = time.monotonic() - watch.t0
        time.sleep(TAIL_SECONDS)  # Flagger scales the old pods down at that phase: they drain meanwhile
    all_answers = load.merged().answers
    window = [(at - watch.t0, a) for at, a in all_answers if 0 <= at - watch.t0 <= done]
    before = [a for at, a in all_answers if at < watch.t0]
    tail = [a for at, a in all_answers if at - watch.t0 > done]
    states: dict[str, collections.Counter[str]] = {}
    for t, answer in window:
        counter = states.setdefault(watch.state_at(t), collections.Counter())
        counter["requests"] += 1
        counter[f"{answer.deployment}:{answer.status}"] += 1
    first_seen: dict[str, float] = {}
    for change in watch.changes:
        first_seen.setdefault(f"{change['phase']}@{change['canaryWeight']}", change["t"])
    codes = collections.Counter(a.status for _, a in window)
    return {
        "phase_before": phase_before,
        "phase": phase,
        "seconds_to_terminal_phase": round(done, 2),
        "seconds_to_first_seen": first_seen,
        "requests": len(window),
        "failed_requests": sum(n for code, n in codes.items() if not 200 <= code < 300),
        "status_codes": {str(code): n for code, n in sorted(codes.items())},
        "answers_by_state": {state: dict(counter) for state, counter in states.items()},
        "tail_seconds": TAIL_SECONDS,
        "tail_requests": len(tail),
        "tail_failed_requests": sum(1 for a in tail if not 200 <= a.status < 300),
        "warmup_requests": len(before),
        "warmup_failed_requests": sum(1 for a in before if not 200 <= a.status < 300),
        "load_bound_reached": any(len(r.answers) >= settings.max_requests_per_thread for r in load.results)
        or time.monotonic() >= load.deadline,
        "canary_changes": watch.changes,
    }


def parse_settings() -> tuple[Settings, Path]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--interval", default="10s", help="Canary analysis interval (default 10s)")
    parser.add_argument("--threshold", type=int, default=2, help="failed checks before rollback (default 2)")
    parser.add_argument("--step-weights", default="10,25,50", help="canary weights, then promotion (10,25,50)")
    parser.add_argument("--max-error-ratio", type=float, default=0.05, help="5xx/all above this fails a check")
    parser.add_argument("--metric-interval", default="15s", help="the query's rate window (default 15s)")
    parser.add_argument("--threads", type=int, default=4, help="load threads (default 4)")
    parser.add_argument("--rate-per-thread", type=float, default=50.0, help="requests/s per thread (default 50)")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="bound of each scenario's load (300)")
    parser.add_argument("--max-requests-per-thread", type=int, default=20_000, help="bound per thread (20000)")
    parser.add_argument(
        "--without",
        action="append",
        default=[],
        choices=WORKAROUNDS,
        help="leave a workaround out to reproduce the incompatibility it avoids (docs/flagger-notes.md); "
        "the run then stops after Flagger's initialisation",
    )
    parser.add_argument("--logs", type=Path, default=Path("/tmp/flagger-bench-logs"), help="Flagger's etc. logs")
    args = parser.parse_args()
    settings = Settings(
        interval=args.interval, threshold=args.threshold,
        step_weights=[int(w) for w in args.step_weights.split(",")], max_error_ratio=args.max_error_ratio,
        metric_interval=args.metric_interval, replicas=1, threads=args.threads,
        rate_per_thread=args.rate_per_thread, max_seconds=args.max_seconds,
        max_requests_per_thread=args.max_requests_per_thread, scrape_interval="1s", warmup_seconds=5.0,
        workarounds=[w for w in WORKAROUNDS if w not in args.without],
    )  # fmt: skip
    return settings, args.logs


def start_gateway(cluster: LocalCluster) -> Traefik:
    traefik = Traefik(cluster, find_traefik()).start()
    cluster.adopt(traefik.process)
    apply_manifest(cluster, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": GATEWAY_NAMESPACE}})
    apply_gateway_class(cluster)
    apply_gateway(cluster, traefik, GATEWAY, GATEWAY_NAMESPACE)
    traefik.wait_gateway(cluster, GATEWAY, GATEWAY_NAMESPACE, timeout=30)
    return traefik


def start_prometheus(cluster: LocalCluster, settings: Settings) -> Prometheus:
    job = scoring_pods_scrape_config(str(cluster.kubeconfig_path), NODE_NAME, interval=settings.scrape_interval)
    prometheus = Prometheus(prometheus_bin(), cluster.work_dir / "prometheus", prometheus_config([job]))
    prometheus.start()
    cluster.adopt(prometheus.process)
    return prometheus


def start_flagger(cluster: LocalCluster, assets: Path, prometheus: Prometheus) -> ManagedProcess:
    """Flagger out of cluster with the admin kubeconfig, watching only the bench's namespace. Its HTTP server
    (/metrics, /healthz) binds ":<port>" (pkg/server/server.go): a free port, nothing connects to it."""
    argv = [
        str(assets / "bin" / "flagger"), f"-kubeconfig={cluster.kubeconfig_path}", "-mesh-provider=gatewayapi:v1",
        f"-metrics-server={prometheus.url}", f"-namespace={NAMESPACE}", f"-selector-labels={SELECTOR_LABEL}",
        f"-port={free_ports(1)[0]}", "-log-level=info",
    ]  # fmt: skip
    flagger = ManagedProcess("flagger", argv, cluster.logs_dir / "flagger.log")
    flagger.start(die_with_parent=True)
    cluster.adopt(flagger)
    return flagger


def wait_default_service_account(kube: Kube, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while kube.get("v1", "ServiceAccount", "default", NAMESPACE) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no default ServiceAccount in {NAMESPACE} after {timeout}s")
        time.sleep(0.2)


def run(cluster: LocalCluster, assets: Path, settings: Settings, result: dict[str, Any]) -> None:
    assert cluster.images is not None
    cluster.install_gateway_api_crds()
    cluster.install_crds(assets / "crds" / "crd.yaml")
    k = Cluster(cluster.kubeconfig_path)
    traefik = start_gateway(cluster)
    prometheus = start_prometheus(cluster, settings)
    k.kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    wait_default_service_account(k.kube)
    key = model_files(k.kube, untrack_binary="untracked-binary-configmaps" in settings.workarounds)
    prestop_exec = "prestop-exec" in settings.workarounds
    image = cluster.images.scoring
    k.kube.create(deployment(image, VERSIONS["v1"], prestop_exec))
    template = metric_template()
    template["spec"]["provider"]["address"] = prometheus.url
    k.kube.create(template)
    apply_manifest(cluster, canary(settings))
    result["metric_template"] = template["spec"]
    result["canary"] = canary(settings)["spec"]

    flagger = start_flagger(cluster, assets, prometheus)
    result["flagger_argv"] = [a for a in flagger.argv[1:] if "kubeconfig" not in a and "-port" not in a]
    watch = Watch(k, flagger)
    if set(settings.workarounds) != set(WORKAROUNDS):
        try:  # reproducing an incompatibility: what Flagger says, and stop
            result["init_phase"] = watch.until({"Initialized", "Failed"}, 150)
        except TimeoutError:
            result["init_phase"] = watch.last[0] if watch.last else None
        result["init_changes"] = watch.changes
        result["flagger_events"] = canary_events(k)
        result["primary"] = primary_state(k)
        return
    if watch.until({"Initialized", "Failed"}, 240) != "Initialized":
        raise RuntimeError(f"Canary initialisation failed:\n{flagger.log_tail(60)}")
    result["seconds_to_initialized"] = round(time.monotonic() - watch.t0, 2)
    through_gateway(traefik.web_port, key)
    route = k.kube.get("gateway.networking.k8s.io/v1", "HTTPRoute", NAME, NAMESPACE) or {}
    result["httproute_spec"] = route.get("spec")
    parents = (route.get("status") or {}).get("parents", [])
    result["httproute_parent_conditions"] = [{c["type"]: c["status"] for c in p.get("conditions", [])} for p in parents]

    for scenario, version in (("healthy", "v2"), ("bad", "bad")):
        log(f"scenario {scenario}: {VERSIONS[version]}")
        template = deployment(image, VERSIONS[version], prestop_exec)["spec"]["template"]
        result[scenario] = rollout(k, settings, traefik.web_port, key, template, flagger)
    result["flagger_events"] = canary_events(k)
    flagger.stop()  # its CPU is not ours: the second half runs alone
    log("our operator: the same scenarios")
    result["ours"] = run_ours(cluster, k.kube, settings, prometheus, traefik.web_port, BODY)
    result["comparison"] = compare(result)


def compare(result: dict[str, Any]) -> dict[str, Any]:
    """Side by side: seconds from the change to the end, and the failed requests meanwhile."""
    rows = {}
    for scenario in ("healthy", "bad"):
        theirs, ours = result[scenario], result["ours"][scenario]
        rows[scenario] = {
            "flagger": {k: theirs[k] for k in ("phase", "seconds_to_terminal_phase", "requests", "failed_requests")},
            "ours": {k: ours[k] for k in ("phase", "seconds_to_terminal_phase", "requests", "failed_requests")},
            "seconds_ratio_ours_to_flagger": round(
                ours["seconds_to_terminal_phase"] / theirs["seconds_to_terminal_phase"], 2
            ),
        }
    return rows


def primary_state(k: Cluster) -> dict[str, Any]:
    """The primary's pods (how their scoring container last ended) and the ConfigMaps Flagger copied for it."""
    pods = k.kube.list("v1", "Pod", NAMESPACE, f"{SELECTOR_LABEL}={NAME}-primary")
    states = []
    for pod in pods:
        for status in pod.get("status", {}).get("containerStatuses", []):
            ended = status.get("lastState", {}).get("terminated") or status.get("state", {}).get("terminated") or {}
            message = (ended.get("message") or "")[-600:]
            states.append({"pod": pod["metadata"]["name"], "ready": status.get("ready"), "last_message": message})
    maps = k.kube.list("v1", "ConfigMap", NAMESPACE)
    copies = {m["metadata"]["name"]: sorted({**m.get("data", {}), **m.get("binaryData", {})}) for m in maps}
    return {"pods": states, "configmaps": {name: keys for name, keys in copies.items() if name.endswith("-primary")}}


def canary_events(k: Cluster) -> list[str]:
    """The Canary's events, oldest first, with how often each was seen."""
    events = sorted(k.kube.list("v1", "Event", NAMESPACE), key=lambda e: e.get("lastTimestamp") or "")
    return [
        f"{e['message']} (x{e.get('count', 1)})" for e in events if e.get("involvedObject", {}).get("kind") == "Canary"
    ]


def keep_logs(cluster: LocalCluster, logs: Path) -> None:
    """Flagger's, Traefik's and Prometheus's logs, copied out before the cluster's work dir goes."""
    logs.mkdir(parents=True, exist_ok=True)
    for path in (cluster.logs_dir / "flagger.log", cluster.logs_dir / "traefik.log",
                 cluster.work_dir / "prometheus" / "prometheus.log"):  # fmt: skip
        if path.is_file():
            shutil.copyfile(path, logs / path.name)


def main() -> int:
    settings, logs = parse_settings()
    if pids := another_real_node_running():
        print(f"a kubelet is already running (pids {pids}): one real-node cluster at a time", file=sys.stderr)
        return 1
    assets = flagger_assets()
    log(f"flagger: {assets}")
    result: dict[str, Any] = {"flagger": FLAGGER_VERSION, "settings": asdict(settings), "versions": VERSIONS}
    cluster = LocalCluster(ClusterConfig(real_node=True, startup_timeout=120))
    try:
        started = time.monotonic()
        cluster.start(controllers=True, scheduler=True, with_nodes=False)
        log(f"cluster with a real node up in {time.monotonic() - started:.0f}s; logs in {cluster.logs_dir}")
        run(cluster, assets, settings, result)
    except BaseException as err:
        result["error"] = f"{type(err).__name__}: {err}"
        raise
    finally:
        keep_logs(cluster, logs)
        cluster.stop()  # stops what it adopted (Flagger, Prometheus, Traefik) too
        result["dropped_packets"] = cluster.dropped_packets
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

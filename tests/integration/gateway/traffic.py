"""Pieces of the traffic tests: scoring servers as local processes, local backends, a counting client.

No pods run here. Each "deployment" is our scoring server, a local process, and its Service has no
selector: a hand-written EndpointSlice names the process's address, which is what Traefik dials. That
address is this machine's own (`host_address`, 192.0.2.2 on the project VM) because the API server
refuses 127.0.0.1 in EndpointSlices; the kernel delivers traffic to its own addresses locally, and
`local_backend` refuses any address that is not this machine's. kwok pods' fake IPs are never used.
"""

from __future__ import annotations

import collections
import http.client
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client

from mlops_operator.api.v1alpha1.platform import GatewayParentRef
from mlops_operator.devcluster import LocalCluster
from mlops_operator.devcluster.gateway import apply_manifest, host_address, local_backend
from mlops_operator.devcluster.process import LOOPBACK, ManagedProcess, child_env, free_ports
from mlops_operator.naming import deployment_name, scoring_path
from mlops_operator.render.endpoint import (
    PIN_HEADER,
    Endpoint,
    EndpointMember,
    render_httproute,
    render_retry_middleware,
)
from mlops_operator.scoring.config import DEPLOYMENT_NAME_ENV

OPERATOR_DIR = Path(__file__).resolve().parents[3] / "operator"
SCORE_SCRIPT = Path(__file__).resolve().parent / "scripts" / "score.py"
REQUEST_TIMEOUT_S = 5.0


@dataclass
class Answer:
    status: int
    deployment: str | None


def start_scorer(
    name: str, address: str, work_dir: Path, log_dir: Path, timeout: float = 60.0
) -> tuple[ManagedProcess, int]:
    """Our scoring server serving the identifying score.py on <address>:<free port>, naming itself `name`."""
    port = free_ports(1)[0]
    argv = [
        sys.executable, "-m", "mlops_operator.scoring", "--entry-script", str(SCORE_SCRIPT),
        "--host", address, "--port", str(port), "--workers", "1", "--log-level", "WARNING",
    ]  # fmt: skip
    env = child_env({"PYTHONPATH": str(OPERATOR_DIR), DEPLOYMENT_NAME_ENV: name, "AML_APP_ROOT": str(work_dir)})
    process = ManagedProcess(f"scorer-{name}", argv, log_dir / f"scorer-{name}.log", env=env)
    process.start(die_with_parent=True)
    process.wait_ready(lambda: ready(address, port), time.monotonic() + timeout)
    return process, port


def ready(address: str, port: int) -> bool:
    """GET /readiness answers 200 (only ever asked of a local address: start_scorer's)."""
    conn = http.client.HTTPConnection(address, port, timeout=2)
    try:
        conn.request("GET", "/readiness")
        return conn.getresponse().status == http.HTTPStatus.OK
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


@dataclass
class Deployments:
    """Scoring servers started for one test; each has a loopback backend in the test's namespace."""

    cluster: LocalCluster
    namespace: str
    work_dir: Path
    address: str = field(default_factory=host_address)
    ports: dict[str, int] = field(default_factory=dict)
    processes: list[ManagedProcess] = field(default_factory=list)

    def add(self, *names: str) -> None:
        for name in names:
            process, port = start_scorer(name, self.address, self.work_dir, self.cluster.logs_dir)
            self.processes.append(process)
            self.ports[name] = port
            for manifest in local_backend(deployment_name(name), self.namespace, self.address, port):
                apply_manifest(self.cluster, manifest)

    def stop(self) -> None:
        for process in self.processes:
            process.stop()


def endpoint(namespace: str, name: str, traffic: dict[str, int], mirror: dict[str, int] | None = None) -> Endpoint:
    members = tuple(
        EndpointMember(member, f"uid-{member}", share, (mirror or {}).get(member, 0))
        for member, share in sorted(traffic.items())
    )
    return Endpoint(name, namespace, members)


def apply_route(cluster: LocalCluster, ep: Endpoint, gateway: GatewayParentRef) -> dict[str, Any]:
    """The HTTPRoute (and with `gateway.retry`, its retry Middleware) exactly as the native backend renders
    them; the fake owner uids are dropped because the API server would garbage-collect objects whose owners
    do not exist."""
    if gateway.retry is not None:
        middleware = render_retry_middleware(ep, gateway.retry)
        middleware["metadata"].pop("ownerReferences", None)
        apply_manifest(cluster, middleware)
    route = render_httproute(ep, gateway, retry=gateway.retry is not None)
    route["metadata"].pop("ownerReferences", None)
    apply_manifest(cluster, route)
    return route


def route_parent_conditions(api: client.ApiClient, namespace: str, name: str) -> dict[str, dict[str, Any]]:
    route = client.CustomObjectsApi(api).get_namespaced_custom_object(
        "gateway.networking.k8s.io", "v1", namespace, "httproutes", name
    )
    parents = (route.get("status") or {}).get("parents") or []
    return {c["type"]: c for p in parents for c in p.get("conditions") or []}


class Caller:
    """POSTs to one endpoint's /score through the Gateway over one keep-alive connection."""

    def __init__(
        self, port: int, namespace: str, endpoint_name: str, key: str | None = None, body: bytes = b"{}"
    ) -> None:
        self.port = port
        self.path = scoring_path(namespace, endpoint_name) + "/score"
        self.conn = http.client.HTTPConnection(LOOPBACK, port, timeout=REQUEST_TIMEOUT_S)
        self.headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {key}"} if key else {})
        self.body = body

    def call(self, pin: str | None = None, body: bytes | None = None) -> Answer:
        headers = self.headers | ({PIN_HEADER: pin} if pin else {})
        body = self.body if body is None else body
        try:
            self.conn.request("POST", self.path, body, headers)
            response = self.conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # reconnects on the next call; the failure is counted by the caller
            return Answer(0, None)
        return Answer(response.status, response.getheader(PIN_HEADER))

    def count(self, requests: int, pin: str | None = None) -> collections.Counter[tuple[int, str | None]]:
        return collections.Counter((a.status, a.deployment) for a in (self.call(pin) for _ in range(requests)))

    def close(self) -> None:
        self.conn.close()


@dataclass
class LoadResult:
    answers: list[tuple[float, Answer]] = field(default_factory=list)

    def non_2xx(self) -> list[tuple[float, Answer]]:
        return [(t, a) for t, a in self.answers if not 200 <= a.status < 300]

    def served_by(self) -> collections.Counter[str | None]:
        return collections.Counter(a.deployment for _, a in self.answers)


class Load:
    """`threads` callers in a loop until stopped, each bounded by `max_seconds` and `max_requests`."""

    def __init__(
        self, caller_factory: Callable[[], Caller], threads: int, max_seconds: float, max_requests: int
    ) -> None:
        self.stop_event = threading.Event()
        self.results = [LoadResult() for _ in range(threads)]
        self.deadline = time.monotonic() + max_seconds
        self.max_requests = max_requests
        self.threads = [
            threading.Thread(target=self._run, args=(caller_factory(), result), daemon=True) for result in self.results
        ]

    def _run(self, caller: Caller, result: LoadResult) -> None:
        try:
            while not self.stop_event.is_set() and time.monotonic() < self.deadline:
                if len(result.answers) >= self.max_requests:
                    return
                result.answers.append((time.monotonic(), caller.call()))
        finally:
            caller.close()

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(REQUEST_TIMEOUT_S + 1)

    def answered_since(self, since: float) -> int:
        return sum(1 for result in self.results for at, _ in result.answers[-5000:] if at >= since)

    def merged(self) -> LoadResult:
        return LoadResult(sorted((pair for r in self.results for pair in r.answers), key=lambda pair: pair[0]))

"""Gateway overhead: req/s and p99 through Traefik against straight to one scoring server, same run.

One scoring server (ours, LinearRegression on the bundled diabetes data, 1 row per request) listens on
this machine's own address: the API server refuses 127.0.0.1 in EndpointSlices (see
devcluster.gateway.host_address). A local control plane (etcd + kube-apiserver only) holds a Gateway
served by Traefik on 127.0.0.1 and the endpoint's HTTPRoute exactly as the native backend renders it; its
backend is a selector-less Service whose EndpointSlice names that server. wrk then drives, per
concurrency, the server directly and the Gateway right after (same server, same body), and we print one
RESULT line per case: `RESULT gateway conc=<c> rps_ratio=<via/direct> p99_ratio=<via/direct> ...`.
Nothing is asserted.

    MLOPS_CONTROLPLANE_ASSETS=<dir> .venv/bin/python bench/gateway.py --duration 10
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mlops_operator.api.v1alpha1.platform import GatewayParentRef
from mlops_operator.devcluster import ClusterConfig, LocalCluster
from mlops_operator.devcluster.gateway import (
    Traefik,
    apply_gateway,
    apply_gateway_class,
    apply_manifest,
    find_traefik,
    host_address,
    local_backend,
)
from mlops_operator.devcluster.process import ManagedProcess, child_env
from mlops_operator.naming import scoring_path
from mlops_operator.render.endpoint import Endpoint, EndpointMember, render_httproute
from scoring import REPO, SCRIPTS, START_DEADLINE_S, cpu_seconds, free_port, payload, process_tree, train

NAMESPACE = "bench"
ENDPOINT = "bench"
ROUTE_DEADLINE_S = 30.0
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass(frozen=True)
class Measurement:
    rps: float
    p99_ms: float
    errors: int
    traefik_cpu_ms_per_req: float


def drive(url: str, lua: Path, concurrency: int, duration: float, traefik_pid: int) -> Measurement:
    """1 s of warm-up, then one bounded wrk run; Traefik's CPU is sampled around it (0 when bypassed)."""
    base = ["wrk", "-t", str(min(2, concurrency)), "-c", str(concurrency), "--latency", "-s", str(lua)]
    subprocess.run([*base, "-d", "1s", url], capture_output=True, timeout=30, check=True)
    pids = process_tree(traefik_pid)
    before = cpu_seconds(pids)
    text = subprocess.run(
        [*base, "-d", f"{duration:g}s", url], capture_output=True, text=True, timeout=duration + 30, check=True
    ).stdout
    used = cpu_seconds(pids) - before
    requests = int(_first(r"(\d+) requests in", text))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", text))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    p99_ms = float(p99.group(1)) * UNITS[p99.group(2)] if p99 else float("nan")
    return Measurement(float(_first(r"Requests/sec:\s+([\d.]+)", text)), p99_ms, errors, used * 1000 / max(requests, 1))


def _first(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise RuntimeError(f"wrk output lacks {pattern!r}:\n{text}")
    return match.group(1)


@contextlib.contextmanager
def gateway_in_front_of(address: str, port: int) -> Iterator[tuple[Traefik, str]]:
    """A control plane, Traefik and the rendered HTTPRoute whose only backend is <address>:<port>."""
    config = ClusterConfig(repo_root=REPO)
    with LocalCluster(config).start(controllers=False, scheduler=False, with_nodes=False) as cluster:
        cluster.install_gateway_api_crds()
        with Traefik(cluster, find_traefik(REPO)).start() as traefik:
            apply_manifest(cluster, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
            apply_gateway_class(cluster)
            apply_gateway(cluster, traefik, "bench", NAMESPACE)
            traefik.wait_gateway(cluster, "bench", NAMESPACE)
            for manifest in local_backend("scorer", NAMESPACE, address, port):
                apply_manifest(cluster, manifest)
            ep = Endpoint(ENDPOINT, NAMESPACE, (EndpointMember("scorer", "uid-scorer", 100, 0),))
            route = render_httproute(ep, GatewayParentRef(name="bench", namespace=NAMESPACE))
            route["metadata"].pop("ownerReferences")  # no such ModelDeployment: GC would delete the route
            apply_manifest(cluster, route)
            path = scoring_path(NAMESPACE, ENDPOINT) + "/score"
            _wait_answering(traefik.web_port, path)
            yield traefik, f"{traefik.url}{path}"


def _answers(address: str, port: int, path: str, body: bytes | None) -> bool:
    """One request (GET, or POST of `body`) answered 200; `address` is always this machine's or loopback."""
    conn = http.client.HTTPConnection(address, port, timeout=2)
    try:
        conn.request("GET" if body is None else "POST", path, body, {"Content-Type": "application/json"})
        return conn.getresponse().status == http.HTTPStatus.OK
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def _wait_answering(port: int, path: str) -> None:
    deadline = time.monotonic() + ROUTE_DEADLINE_S
    while not _answers("127.0.0.1", port, path, payload(1).encode()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the route did not answer 200 on :{port}{path} within {ROUTE_DEADLINE_S}s")
        time.sleep(0.2)


def measure(args: argparse.Namespace, lua: Path, address: str, port: int) -> list[str]:
    """Per concurrency: the server directly, then through the Gateway, straight after each other."""
    results = []
    with gateway_in_front_of(address, port) as (traefik, via_url):
        pid = traefik.process.pid
        for conc in args.concurrency:
            direct = drive(f"http://{address}:{port}/score", lua, conc, args.duration, pid)
            via = drive(via_url, lua, conc, args.duration, pid)
            for name, m in (("direct", direct), ("gateway", via)):
                print(
                    f"{name:8} conc={conc:3}: {m.rps:9.1f} req/s p99 {m.p99_ms:7.2f} ms errors {m.errors}", flush=True
                )
            results.append(
                f"RESULT gateway conc={conc} rps_ratio={via.rps / direct.rps:.2f} "
                f"p99_ratio={via.p99_ms / direct.p99_ms:.2f} direct_rps={direct.rps:.0f} via_rps={via.rps:.0f} "
                f"direct_p99_ms={direct.p99_ms:.2f} via_p99_ms={via.p99_ms:.2f} "
                f"traefik_cpu_per_req_ms={via.traefik_cpu_ms_per_req:.3f} errors={direct.errors + via.errors}"
            )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measured run (default 10)")
    parser.add_argument("--workers", type=int, default=2, help="scoring server worker processes (default 2)")
    parser.add_argument("--concurrency", nargs="+", type=int, default=[16], help="wrk connections (default 16)")
    args = parser.parse_args(argv)
    if not 0 < args.duration <= 60:
        parser.error("--duration must be within (0, 60] seconds")
    if shutil.which("wrk") is None:
        print("wrk is required: apt-get install -y wrk", file=sys.stderr)
        return 2
    env = child_env({k: v for k, v in os.environ.items() if k.startswith("PYTHON")})
    env = {k: v for k, v in env.items() if not k.startswith(("AZUREML_", "AML_", "MLOPS_"))}
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp:
        work = Path(tmp)
        train("linear", work / "model")
        lua = work / "post.lua"
        lua.write_text(
            f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [==[{payload(1)}]==]\n'
        )
        address, port = host_address(), free_port()
        command = [
            sys.executable, "-m", "mlops_operator.scoring", "--entry-script", str(SCRIPTS["linear"]),
            "--model-dir", str(work / "model"), "--port", str(port), "--host", address,
            "--workers", str(args.workers),
        ]  # fmt: skip
        scorer = ManagedProcess("scorer", command, work / "scorer.log", env=env)
        scorer.start(die_with_parent=True)
        try:
            scorer.wait_ready(lambda: _answers(address, port, "/readiness", None), time.monotonic() + START_DEADLINE_S)
            results = measure(args, lua, address, port)
        finally:
            scorer.stop()
    print("\n".join(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

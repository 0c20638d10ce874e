"""Run everything locally: a real control plane and a real node, our CRDs, the operator and the examples.

Starts etcd, kube-apiserver, controller-manager and scheduler, plus one real node (kubelet, containerd,
runc, CNI bridge, kube-proxy) labelled and tainted like an ML node pool, with our images built from the
Dockerfile into a local registry (`--nodes kwok` uses kwok fake nodes instead: no root, no containers).
Installs the Gateway API and our CRDs, runs the operator, applies examples/, waits until every resource
is Ready and prints their status and the objects the operator created. The kubeconfig is written to
.mlops-dev/kubeconfig so kubectl and mlopsctl in another shell can use the cluster. Ctrl-C stops
everything; --detach leaves it running for scripts, --stop stops a detached one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

STATE_DIR = Path(".mlops-dev")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--examples", type=Path, default=Path("examples"), help="directory of example YAML")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for Ready (default 180)")
    parser.add_argument("--detach", action="store_true", help="leave the cluster and operator running and exit")
    parser.add_argument("--stop", action="store_true", help="stop a cluster started with --detach")
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR, help="where state and kubeconfig go")
    parser.add_argument(
        "--gateway-port",
        type=int,
        default=8000,
        help="127.0.0.1 port of the Gateway (Traefik) with real nodes; a free one if taken (default 8000)",
    )
    parser.add_argument(
        "--nodes",
        choices=("real", "kwok"),
        default="real",
        help="real: pods run on a local kubelet (needs root; default); kwok: fake nodes, pods never run",
    )


def run(args: argparse.Namespace) -> int:
    if args.stop:
        return stop(args.state_dir)
    from mlops_operator.devcluster import ClusterConfig, LocalCluster, read_state

    if read_state(args.state_dir) is not None:
        print(
            f"a dev cluster is already running (see {args.state_dir}); stop it with `mlopsctl dev --stop`",
            file=sys.stderr,
        )
        return 1
    work = args.state_dir.resolve() / "cluster"
    shutil.rmtree(work, ignore_errors=True)
    started = time.monotonic()
    real = args.nodes == "real"
    config = ClusterConfig(
        work_dir=work, keep_work_dir=args.detach, die_with_parent=not args.detach, real_node=real, startup_timeout=120
    )
    cluster = LocalCluster(config)
    cluster.start(with_nodes=not real)
    try:
        code = _run_on(cluster, args, started)
    except BaseException:
        _stop_operator_pid(args.state_dir)
        cluster.stop()
        raise
    if not args.detach:
        cluster.stop()
    return code


def _run_on(cluster: object, args: argparse.Namespace, started: float) -> int:
    from mlops_operator.cli import dev_resources as res
    from mlops_operator.cli.resources import is_ready, status_table
    from mlops_operator.devcluster import LocalCluster
    from mlops_operator.kube import Kube, load_api_client

    assert isinstance(cluster, LocalCluster)
    kubeconfig = args.state_dir.resolve() / "kubeconfig"
    shutil.copyfile(cluster.kubeconfig_path, kubeconfig)
    kube = Kube(load_api_client(str(kubeconfig)))
    cluster.install_gateway_api_crds()
    res.apply_all(kube, res.crd_documents())
    _wait_crds(kube)
    gateway_url = _start_gateway(cluster, args.gateway_port) if cluster.real_node is not None else None
    if gateway_url is None:
        res.apply_all(kube, res.gateway_documents())
    scoring_image = cluster.images.scoring if cluster.images is not None else None
    operator = _start_operator(kubeconfig, args.state_dir, detach=args.detach, scoring_image=scoring_image)
    res.apply_all(kube, res.model_configmaps(args.examples))
    res.apply_all(kube, res.example_documents(args.examples))
    items = res.wait_ready(kube, args.timeout)
    if gateway_url is not None and not res.wait_serving(kube, gateway_url, timeout=30):
        print("warning: the endpoint did not answer through the Gateway within 30 s", file=sys.stderr)
    print(status_table(items))
    print("\nobjects created by the operator in namespace default:\n  " + "\n  ".join(res.created_objects(kube)))
    print(f"\nready in {time.monotonic() - started:.0f}s. kubeconfig: {kubeconfig}")
    print(f"  export KUBECONFIG={kubeconfig}; kubectl get mlp,mdep -A")
    if gateway_url is not None:
        print(res.curl_example(gateway_url))
    ok = all(is_ready(i) for i in items)
    if args.detach:
        cluster.detach(args.state_dir)
        print("detached; stop with `mlopsctl dev --stop`")
        return 0 if ok else 1
    return _serve_until_interrupted(operator, ok)


def _start_gateway(cluster: object, port: int) -> str:
    """Traefik serving the examples' Gateway on 127.0.0.1:`port` (or a free port); returns its base URL."""
    from mlops_operator.cli.dev_resources import GATEWAY_NAME, GATEWAY_NAMESPACE
    from mlops_operator.devcluster import LocalCluster
    from mlops_operator.devcluster.gateway import (
        Traefik,
        apply_gateway,
        apply_gateway_class,
        apply_manifest,
        find_traefik,
    )

    assert isinstance(cluster, LocalCluster)
    web_port = port if _port_free(port) else None
    # Traefik's CRDs and provider too: examples/platform.yaml asks the Gateway to retry refused connections.
    traefik = Traefik(cluster, find_traefik(), web_port=web_port, middlewares=True).start()
    cluster.adopt(traefik.process)
    apply_manifest(cluster, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": GATEWAY_NAMESPACE}})
    apply_gateway_class(cluster)
    apply_gateway(cluster, traefik, GATEWAY_NAME, GATEWAY_NAMESPACE)
    traefik.wait_gateway(cluster, GATEWAY_NAME, GATEWAY_NAMESPACE, timeout=30)
    return traefik.url


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_crds(kube: object, timeout: float = 30.0) -> None:
    from mlops_operator.api.crd import KINDS
    from mlops_operator.kube import Kube

    assert isinstance(kube, Kube)
    deadline = time.monotonic() + timeout
    while not all(kube.crd_established(k.crd_name) for k in KINDS):
        if time.monotonic() > deadline:
            raise RuntimeError("our CRDs were not Established in time")
        time.sleep(0.2)


def _start_operator(
    kubeconfig: Path, state_dir: Path, detach: bool, scoring_image: str | None
) -> subprocess.Popen[bytes]:
    log = (state_dir / "operator.log").open("ab")
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "MLOPS_LOG_FORMAT": "text"}  # read by a human
    if scoring_image:  # the image built from our Dockerfile, served by the local registry
        env["MLOPS_SCORING_IMAGE"] = scoring_image
    argv = [sys.executable, "-m", "mlops_operator.cli.main", "operator", "--liveness", ""]
    process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=detach)
    (state_dir / "operator.pid").write_text(str(process.pid))
    return process


def _serve_until_interrupted(operator: subprocess.Popen[bytes], ok: bool) -> int:
    print("running; Ctrl-C stops the operator and the cluster")
    try:
        while operator.poll() is None:
            time.sleep(0.5)
        print(f"the operator exited with {operator.returncode}; see .mlops-dev/operator.log", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0 if ok else 1
    finally:
        if operator.poll() is None:
            operator.send_signal(signal.SIGTERM)
            try:
                operator.wait(timeout=15)
            except subprocess.TimeoutExpired:
                operator.kill()


def _stop_operator_pid(state_dir: Path) -> None:
    pid_file = state_dir / "operator.pid"
    if pid_file.exists():
        _stop_pid(int(pid_file.read_text()))
        pid_file.unlink()


def stop(state_dir: Path) -> int:
    from mlops_operator.devcluster import stop_from_state

    _stop_operator_pid(state_dir)
    if not stop_from_state(state_dir):
        print(f"no detached dev cluster recorded in {state_dir}", file=sys.stderr)
        return 1
    print("stopped")
    return 0


def _stop_pid(pid: int) -> None:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return
    if b"mlops_operator" not in cmdline:  # a recycled pid is not ours to signal
        return
    os.kill(pid, signal.SIGTERM)
    for _ in range(150):
        if not Path(f"/proc/{pid}").exists():
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)

"""Traefik as the dev cluster's Gateway API implementation: a process on 127.0.0.1 reading a LocalCluster.

    traefik = Traefik(cluster, find_traefik()).start()
    apply_gateway_class(cluster)
    apply_gateway(cluster, traefik, name="mlops", namespace="mlops-system")
    traefik.wait_gateway(cluster, "mlops", "mlops-system", timeout=30)
    # HTTPRoutes with parentRefs [{name: mlops, namespace: mlops-system}] now answer on traefik.url

The listener/entryPoint contract: Traefik has no per-Gateway listeners of its own. It serves a Gateway
listener on the entryPoint whose address ends in `:<listener port>` (entryPointName in Traefik's
kubernetesgateway provider) and marks the listener unprogrammed if none does. So one `Traefik` owns one
HTTP entryPoint (`web`, on 127.0.0.1:<web_port>) and `apply_gateway` writes that same port into the
listener: the two cannot disagree. Ping (readiness) lives on a second entryPoint that no listener uses.

Traefik runs out of cluster with the admin kubeconfig (its client uses in-cluster config whenever
KUBERNETES_SERVICE_HOST is set, so that is removed) and reaches backends at EndpointSlice addresses.
Backends here are local processes named by this machine's own address (`host_address`, `local_backend`;
the API server refuses 127.0.0.1 in EndpointSlices). kwok pods have fake IPs that must never be dialled.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self, cast

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from mlops_operator.devcluster.assets import AssetsError, find_repo_root, run_build_script
from mlops_operator.devcluster.cluster import FIELD_MANAGER, LocalCluster
from mlops_operator.devcluster.components import POD_CIDR, SERVICE_CIDR
from mlops_operator.devcluster.process import (
    LOOPBACK,
    POLL_INTERVAL_S,
    ComponentError,
    ManagedProcess,
    child_env,
    free_ports,
    probe_http,
)
from mlops_operator.render.gateway_features import TRAEFIK_CONTROLLER

logger = logging.getLogger(__name__)

GATEWAY_ASSETS_ENV = "MLOPS_GATEWAY_ASSETS"
GATEWAY_BUILD_SCRIPT = Path("hack") / "gateway" / "build.sh"
GATEWAY_CLASS = "traefik"
LISTENER_NAME = "http"
WEB_ENTRYPOINT = "web"
PING_ENTRYPOINT = "ping"
IN_CLUSTER_VARS = ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")
GROUP_VERSION = ("gateway.networking.k8s.io", "v1")
# Traefik finishes in-flight requests on SIGTERM for up to its graceTimeOut (10 s by default).
TRAEFIK_STOP_TIMEOUT_S = 15.0


def find_traefik(repo_root: Path | None = None, log_path: Path | None = None) -> Path:
    """The traefik binary: under $MLOPS_GATEWAY_ASSETS, else from hack/gateway/build.sh (a no-op when cached)."""
    named = os.environ.get(GATEWAY_ASSETS_ENV)
    directory = (
        Path(named) if named else run_build_script(repo_root or find_repo_root(), GATEWAY_BUILD_SCRIPT, log_path)
    )
    for candidate in (directory / "bin" / "traefik", directory / "traefik"):
        if os.access(candidate, os.X_OK):
            return candidate
    raise AssetsError(f"no executable traefik in {directory} or {directory / 'bin'}")


def traefik_crds(binary: Path) -> Path:
    """Traefik's own CRDs (Middleware, ...), which hack/gateway/build.sh puts beside the bin directory."""
    home = binary.parent.parent if binary.parent.name == "bin" else binary.parent
    found = home / "crds" / "traefik.io.yaml"
    if not found.is_file():
        raise AssetsError(f"no {found}: rerun hack/gateway/build.sh, which copies it from Traefik's module")
    return found


def traefik_argv(
    binary: Path, web_port: int, ping_port: int, log_level: str = "INFO", *, crd_provider: bool = False
) -> list[str]:
    """Traefik's command line: the Gateway provider (plus, with `crd_provider`, the kubernetesCRD one that
    resolves Middleware ExtensionRefs; its CRDs must be installed first), two loopback entryPoints, no
    phoning home."""
    crd = ["--providers.kubernetescrd=true"] if crd_provider else []
    return [
        str(binary),
        "--global.checkNewVersion=false",
        "--global.sendAnonymousUsage=false",
        f"--log.level={log_level}",
        "--log.noColor=true",
        "--providers.kubernetesgateway=true",
        *crd,
        # The Gateway's status.addresses: where clients reach it (the scoring URI is built from this).
        f"--providers.kubernetesgateway.statusAddress.ip={LOOPBACK}",
        f"--entryPoints.{WEB_ENTRYPOINT}.address={LOOPBACK}:{web_port}",
        f"--entryPoints.{PING_ENTRYPOINT}.address={LOOPBACK}:{ping_port}",
        "--ping=true",
        f"--ping.entryPoint={PING_ENTRYPOINT}",
    ]


def traefik_env(kubeconfig: Path) -> dict[str, str]:
    """No proxies, no in-cluster variables (they would win over KUBECONFIG), the cluster's kubeconfig."""
    env = {key: value for key, value in child_env().items() if key not in IN_CLUSTER_VARS}
    env["KUBECONFIG"] = str(kubeconfig)
    return env


class Traefik:
    """One Traefik process serving, on 127.0.0.1:<web_port>, every Gateway whose class names its controller."""

    def __init__(
        self,
        cluster: LocalCluster,
        binary: Path,
        *,
        web_port: int | None = None,
        log_level: str = "INFO",
        middlewares: bool = False,
    ) -> None:
        """`middlewares`: install Traefik's CRDs and run its kubernetesCRD provider too, so HTTPRoutes can
        use Middlewares (the retry of spec.native.gateway.retry) through ExtensionRef filters."""
        ports = free_ports(2)
        self.web_port = web_port or ports[0]
        self.ping_port = ports[1]
        if middlewares:
            cluster.install_crds(traefik_crds(binary))
        argv = traefik_argv(binary, self.web_port, self.ping_port, log_level, crd_provider=middlewares)
        log = cluster.logs_dir / "traefik.log"
        self.process = ManagedProcess("traefik", argv, log, env=traefik_env(cluster.kubeconfig_path))
        self._die_with_parent = cluster.config.die_with_parent

    @property
    def url(self) -> str:
        """Where the Gateway listener answers."""
        return f"http://{LOOPBACK}:{self.web_port}"

    @property
    def log_path(self) -> Path:
        return self.process.log_path

    def start(self, timeout: float = 30.0) -> Self:
        """Launch and wait for /ping on the ping entryPoint; on failure the process is stopped."""
        self.process.start(die_with_parent=self._die_with_parent)
        try:
            self.process.wait_ready(lambda: probe_http(self.ping_port, "/ping"), time.monotonic() + timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.process.stop(TRAEFIK_STOP_TIMEOUT_S)

    def wait_gateway(self, cluster: LocalCluster, name: str, namespace: str, timeout: float = 30.0) -> dict[str, Any]:
        """`wait_gateway_programmed`, failing with Traefik's log: /ping answers even when its Kubernetes
        provider could not start, so a Gateway that never gets Programmed is where such errors surface."""
        try:
            return wait_gateway_programmed(cluster, name, namespace, timeout)
        except TimeoutError as err:
            raise ComponentError(self.process.name, str(err), self.process.log_tail()) from err

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def gateway_class_manifest(name: str = GATEWAY_CLASS) -> dict[str, Any]:
    return {
        "apiVersion": "/".join(GROUP_VERSION),
        "kind": "GatewayClass",
        "metadata": {"name": name},
        "spec": {"controllerName": TRAEFIK_CONTROLLER},
    }


def gateway_manifest(name: str, namespace: str, port: int, class_name: str = GATEWAY_CLASS) -> dict[str, Any]:
    """One HTTP listener on `port` (which must be a Traefik entryPoint's port), open to routes from any
    namespace: endpoints live in users' namespaces, the platform's Gateway in its own."""
    listener = {
        "name": LISTENER_NAME,
        "protocol": "HTTP",
        "port": port,
        "allowedRoutes": {"namespaces": {"from": "All"}},
    }
    return {
        "apiVersion": "/".join(GROUP_VERSION),
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"gatewayClassName": class_name, "listeners": [listener]},
    }


def apply_manifest(cluster: LocalCluster, manifest: dict[str, Any]) -> None:
    """Server-side apply as the dev cluster's field manager."""
    cluster.kubectl(
        "apply", "--server-side", "--force-conflicts", f"--field-manager={FIELD_MANAGER}", "--filename=-",
        stdin=yaml.safe_dump(manifest),
    )  # fmt: skip


def apply_gateway_class(cluster: LocalCluster, name: str = GATEWAY_CLASS) -> None:
    apply_manifest(cluster, gateway_class_manifest(name))


def apply_gateway(
    cluster: LocalCluster, traefik: Traefik, name: str, namespace: str, class_name: str = GATEWAY_CLASS
) -> None:
    """The Gateway, its listener on `traefik.web_port` (see the module docstring for why they must match)."""
    apply_manifest(cluster, gateway_manifest(name, namespace, traefik.web_port, class_name))


def is_local_address(address: str) -> bool:
    """True if `address` belongs to this machine: only then can a socket bind to it. The kernel delivers
    traffic to its own addresses locally (the `local` routing table comes first), so it never leaves."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((address, 0))
    except OSError:
        return False
    return True


def host_address() -> str:
    """This machine's own non-loopback IPv4 address, for backends that are local processes.

    Why not 127.0.0.1: the API server rejects loopback (and link-local) addresses in EndpointSlices and
    Endpoints, so a local process can only be named by an address of one of this machine's interfaces.
    Addresses in the dev cluster's pod or service ranges are refused: those are kwok's fake IPs.
    """
    found = subprocess.run(
        ["ip", "-j", "-4", "addr", "show", "scope", "global"], capture_output=True, text=True, check=True, timeout=10
    )
    fake = [ipaddress.ip_network(cidr) for cidr in (POD_CIDR, SERVICE_CIDR)]
    for interface in json.loads(found.stdout or "[]"):
        for info in interface.get("addr_info", []):
            address = str(info.get("local", ""))
            if address and not any(ipaddress.ip_address(address) in net for net in fake) and is_local_address(address):
                return address
    raise RuntimeError("no global IPv4 address on this machine to stand in for a pod address")


def local_backend(name: str, namespace: str, address: str, port: int, service_port: int = 80) -> list[dict[str, Any]]:
    """A selector-less Service and an EndpointSlice naming <address>:<port>: a backend that is a local process.

    For serving through the Gateway without real pods. `address` must be this machine's (see host_address):
    anything else is refused, so no route built from these objects can send traffic off the machine. The
    slice's port is named like the Service's because Traefik pairs them by name; its managed-by label keeps
    Kubernetes' slice controllers off it.
    """
    if not is_local_address(address):
        raise ValueError(f"{address} is not an address of this machine; backends here must be local")
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"ports": [{"name": "http", "port": service_port, "targetPort": port, "protocol": "TCP"}]},
    }
    labels = {"kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": FIELD_MANAGER}
    endpoint_slice = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": f"{name}-local", "namespace": namespace, "labels": labels},
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
        "endpoints": [{"addresses": [address], "conditions": {"ready": True, "serving": True}}],
    }
    return [service, endpoint_slice]


def read_gateway_class(cluster: LocalCluster, name: str = GATEWAY_CLASS) -> dict[str, Any]:
    """The GatewayClass as a dict; feed it to render.gateway_features.feature_support."""
    with cluster.api_client() as api:
        found = client.CustomObjectsApi(api).get_cluster_custom_object(*GROUP_VERSION, "gatewayclasses", name)
    return cast(dict[str, Any], found)


def wait_gateway_programmed(cluster: LocalCluster, name: str, namespace: str, timeout: float = 30.0) -> dict[str, Any]:
    """Wait until the Gateway reports Programmed=True (Traefik serves it); returns the Gateway."""
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    with cluster.api_client() as api:
        objects = client.CustomObjectsApi(api)
        while time.monotonic() < deadline:
            try:
                last = cast(
                    dict[str, Any], objects.get_namespaced_custom_object(*GROUP_VERSION, namespace, "gateways", name)
                )
            except ApiException as err:
                if err.status != 404:
                    raise
            if condition_true(last, "Programmed"):
                return last
            time.sleep(POLL_INTERVAL_S)
    raise TimeoutError(f"Gateway {namespace}/{name} not Programmed after {timeout}s: {last.get('status')}")


def condition_true(obj: dict[str, Any], kind: str) -> bool:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions)

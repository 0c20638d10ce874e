"""LocalCluster: etcd, kube-apiserver and optionally kube-controller-manager, kube-scheduler, kwok with
fake nodes and one real node (containerd + kubelet + kube-proxy, see realnode.py) with a local image
registry, as plain processes on this machine in a throwaway work dir. Clusters with different
`node_index`es run side by side, each with its own real node.

    with LocalCluster().start(controllers=False, scheduler=False, with_nodes=False) as cluster:
        cluster.kubectl("get", "namespaces")
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import logging
import shutil
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

from kubernetes import client

from mlops_operator.devcluster import components as comp
from mlops_operator.devcluster import nodenet
from mlops_operator.devcluster.assets import ControlPlaneAssets, find_assets, find_dataplane_bin, find_repo_root
from mlops_operator.devcluster.crds import crd_names, wait_established, yaml_files
from mlops_operator.devcluster.images import ProjectImages, ensure_images
from mlops_operator.devcluster.kubeconfig import write_cert_kubeconfig
from mlops_operator.devcluster.nodes import NodePool, create_fake_nodes, default_pools, wait_nodes_ready
from mlops_operator.devcluster.nodeslot import NodeSlot
from mlops_operator.devcluster.pki import ClusterPki, generate_pki
from mlops_operator.devcluster.process import (
    LOOPBACK,
    POLL_INTERVAL_S,
    STOP_TIMEOUT_S,
    ComponentError,
    ManagedProcess,
    child_env,
    free_ports,
    log_tail,
    probe_http,
)
from mlops_operator.devcluster.realnode import NodeBinaries, RealNode, RealNodeError, RealNodeSpec, wait_node_ready
from mlops_operator.devcluster.registry import LocalRegistry, default_storage
from mlops_operator.devcluster.state import ClusterState, ProcessRecord, write_state

logger = logging.getLogger(__name__)

FIELD_MANAGER = "mlops-devcluster"


@dataclass(frozen=True)
class ClusterConfig:
    """How to run a LocalCluster. Everything has a default; tests rarely need to change any of it."""

    work_dir: Path | None = None
    """Where certificates, etcd data, kubeconfig and logs live; a fresh temp dir (removed on stop) if None."""
    assets: ControlPlaneAssets | None = None
    """Binaries to run; found through $MLOPS_CONTROLPLANE_ASSETS or hack/controlplane/build.sh if None."""
    repo_root: Path | None = None
    """Repository holding hack/controlplane/build.sh; found above this package if None."""
    node_pools: tuple[NodePool, ...] = field(default_factory=default_pools)
    startup_timeout: float = 60.0
    """Seconds from launching etcd until every requested component is ready."""
    controller_service_accounts: bool = True
    """Run each controller as its own ServiceAccount (like real clusters); False saves ~5 s of startup."""
    real_node: bool = False
    """Run one real node (kubelet, containerd, runc, CNI, kube-proxy) with a local registry and our images."""
    real_node_spec: RealNodeSpec = field(default_factory=RealNodeSpec)
    node_index: int = 0
    """Which of this machine's real nodes the cluster runs (0..15; `LocalCluster.node_slot` has its names): own
    bridge `mlops<i>`, pods in 10.245.<i>.0/24, services in 10.(96+i).0.0/16, guard table, cgroups, lock file.
    Clusters with different indexes run side by side; only node 0 runs kube-proxy, so ClusterIPs are served in
    cluster 0 alone (reach other nodes' pods by pod IP, e.g. through the Gateway)."""
    images: ProjectImages | None = None
    """Images another cluster already put in the shared registry storage (its `LocalCluster.images`): used as
    they are, so a second cluster neither checks nor builds (the tag hashes the source, which may have moved)."""
    audit_log: bool = False
    """Write the API server's audit log (one JSON line per request, by user) to logs/audit.jsonl."""
    keep_work_dir: bool = False
    die_with_parent: bool = True
    """Children get SIGKILL if this process dies; must be False for clusters that outlive it (detach)."""


class KubectlError(subprocess.CalledProcessError):
    def __str__(self) -> str:
        return f"{super().__str__()}\nstdout: {self.stdout}\nstderr: {self.stderr}"


class LocalCluster:
    """A disposable Kubernetes control plane: start(), use kubeconfig_path or api_client(), stop()."""

    def __init__(self, config: ClusterConfig | None = None) -> None:
        self.config = config or ClusterConfig()
        self._owns_work_dir = self.config.work_dir is None
        self.work_dir = self.config.work_dir or Path(tempfile.mkdtemp(prefix="mlops-devcluster-"))
        self.layout = comp.Layout(self.work_dir)
        self.pki = ClusterPki(self.layout.pki_dir)
        self.ports = comp.Ports(*free_ports(6))
        self.node_slot = NodeSlot(self.config.node_index)
        """This cluster's machine-wide names and ranges: bridge, subnet, gateway (bridge IP), services, ..."""
        self._assets = self.config.assets
        self._processes: list[ManagedProcess] = []
        self.node_names: list[str] = []
        self.controllers = False
        self._used = False
        self.real_node: RealNode | None = None
        self.registry: LocalRegistry | None = None
        self.images: ProjectImages | None = None
        self.dropped_packets: int | None = None
        """The network guard's final count, read when the real node is cleaned up (expected: 0)."""

    # ---- what users read -------------------------------------------------------------------------
    @property
    def server_url(self) -> str:
        return f"https://{LOOPBACK}:{self.ports.apiserver}"

    @property
    def kubeconfig_path(self) -> Path:
        return self.layout.kubeconfig

    @property
    def ca_cert_path(self) -> Path:
        return self.pki.ca_cert

    @property
    def logs_dir(self) -> Path:
        return self.layout.logs_dir

    @property
    def audit_log_path(self) -> Path | None:
        """The API server's audit log (JSON lines), when ClusterConfig.audit_log asked for one."""
        return self.layout.audit_log if self.config.audit_log else None

    @property
    def assets(self) -> ControlPlaneAssets:
        if self._assets is None:
            self._assets = find_assets(self.config.repo_root, self.layout.log("build"))
        return self._assets

    @property
    def gateway_api_crd_dir(self) -> Path | None:
        return self.assets.gateway_api_dir

    @property
    def pids(self) -> dict[str, int]:
        """Component name -> pid (also its process group id) of every process this object runs."""
        return {p.name: p.pid for p in self._processes}

    @property
    def running(self) -> bool:
        return bool(self._processes) and all(p.alive() for p in self._processes)

    def restart_component(self, name: str, down_s: float = 0.0, grace: float = STOP_TIMEOUT_S) -> ManagedProcess:
        """Stop one component (SIGTERM, as a service manager restarts it; SIGKILL after `grace` s), wait `down_s`,
        start it again with the same command line, log and environment. The caller waits for whatever readiness
        it needs."""
        index, process = next((i, p) for i, p in enumerate(self._processes) if p.name == name)
        process.stop(grace)
        time.sleep(down_s)
        again = ManagedProcess(process.name, process.argv, process.log_path, env=process.env)
        again.start(die_with_parent=self.config.die_with_parent)
        self._processes[index] = again
        return again

    def restart_apiserver(self, down_s: float = 0.0, grace: float = STOP_TIMEOUT_S, timeout: float = 60.0) -> None:
        """restart_component("kube-apiserver"), then wait until it is ready again: same port, certificates and
        etcd, so clients see refused connections and then the same API (watches resume from their
        resourceVersion). On SIGTERM it drains watches for ~10 s; a small `grace` cuts that short."""
        again = self.restart_component("kube-apiserver", down_s, grace)
        context = self._tls_context(client_cert=True)
        again.wait_ready(lambda: probe_http(self.ports.apiserver, "/readyz", context), time.monotonic() + timeout)

    # ---- lifecycle -------------------------------------------------------------------------------
    def start(self, *, controllers: bool = True, scheduler: bool = True, with_nodes: bool = True) -> Self:
        """Start etcd and kube-apiserver, then the optional parts; on any failure stop what started."""
        if self._used:
            raise RuntimeError("a LocalCluster starts once; create a new one")
        self._used = True
        assets = self.assets  # may build; not part of the startup deadline
        atexit.register(self.stop)
        try:
            if self.config.real_node:
                self._prepare_real_node(scheduler=scheduler)  # may build images: not part of the deadline either
            started = time.monotonic()
            deadline = started + self.config.startup_timeout
            self._prepare_files()
            self._launch("etcd", comp.etcd_argv(assets.binary("etcd"), self.layout, self.ports))
            self._processes[-1].wait_ready(lambda: probe_http(self.ports.etcd_client, "/readyz"), deadline)
            self._start_apiserver(deadline, service_account_admission=controllers)
            self._start_workers(deadline, controllers=controllers, scheduler=scheduler, kwok=with_nodes)
            with self.api_client() as api:
                if with_nodes:
                    self.node_names = create_fake_nodes(api, self.config.node_pools)
                if controllers:
                    self._await("kube-controller-manager", functools.partial(_wait_controllers, api, deadline))
                if with_nodes:
                    self._await("kwok", functools.partial(wait_nodes_ready, api, self.node_names, deadline))
                if self.real_node is not None:
                    self._start_real_node(api, deadline)
        except BaseException:
            self._stop_after_failure()
            raise
        self.controllers = controllers
        logger.info("local cluster at %s ready in %.1fs", self.server_url, time.monotonic() - started)
        return self

    def stop(self) -> None:
        """Stop every process this object started (newest first) and remove the work dir it created."""
        atexit.unregister(self.stop)
        for process in reversed(self._processes):
            process.stop()
        self._processes.clear()
        self._cleanup_real_node()
        if self._owns_work_dir and not self.config.keep_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def detach(self, state_dir: Path) -> Path:
        """Leave the processes running after this Python process exits; returns the state file path.

        Stop the cluster later with `stop_from_state(state_dir)`.
        """
        if self.config.die_with_parent:
            raise RuntimeError("detach needs ClusterConfig(die_with_parent=False)")
        if not self.running:
            raise RuntimeError("only a running cluster can be detached")
        records = [ProcessRecord(p.name, p.pid, str(Path(p.argv[0]).resolve())) for p in self._processes]
        state = ClusterState(
            work_dir=str(self.work_dir),
            owns_work_dir=self._owns_work_dir,
            kubeconfig=str(self.kubeconfig_path),
            server_url=self.server_url,
            ca_cert=str(self.ca_cert_path),
            processes=records,
        )
        if self.real_node is not None:
            state = dataclasses.replace(state, node_dir=str(self.real_node.layout.root))
            self.real_node.claim(self.pids["kubelet"])
            self.real_node = None  # the state file owns its cleanup now
        path = write_state(state_dir, state)
        atexit.unregister(self.stop)
        self._processes.clear()
        self._owns_work_dir = False  # the state file owns it now
        return path

    def __enter__(self) -> Self:
        if not self._used:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ---- helpers for tests and tools -------------------------------------------------------------
    def api_client(self, token: str | None = None) -> client.ApiClient:
        """A kubernetes ApiClient as the admin (client cert) or as the bearer of `token`.

        The python client reads HTTPS_PROXY from the environment; the proxy is cleared here so that
        requests can only go to 127.0.0.1.
        """
        configuration = client.Configuration(host=self.server_url, ssl_ca_cert=str(self.ca_cert_path))
        if token is None:
            configuration.cert_file = str(self.pki.admin_cert)
            configuration.key_file = str(self.pki.admin_key)
        else:
            configuration.api_key = {"authorization": token}
            configuration.api_key_prefix = {"authorization": "Bearer"}
        configuration.proxy = None
        configuration.no_proxy = None
        return client.ApiClient(configuration)

    def adopt(self, process: ManagedProcess) -> None:
        """Run `process` with the cluster: stopped by stop(), recorded by detach() (e.g. the Gateway)."""
        self._processes.append(process)

    def kubectl(
        self, *args: str, check: bool = True, stdin: str | None = None, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """Run the matching kubectl against this cluster as the admin; raises KubectlError if `check`."""
        argv = [
            str(self.assets.binary("kubectl")),
            f"--kubeconfig={self.kubeconfig_path}",
            f"--cache-dir={self.layout.kubectl_cache}",
            *args,
        ]
        result = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, env=child_env(), timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise KubectlError(result.returncode, argv, result.stdout, result.stderr)
        return result

    def create_token(
        self,
        service_account: str,
        namespace: str = "default",
        *,
        duration_seconds: int = 3600,
        audiences: list[str] | None = None,
    ) -> str:
        """Mint a bound token for an existing ServiceAccount through the TokenRequest API."""
        spec = client.V1TokenRequestSpec(audiences=audiences or [], expiration_seconds=duration_seconds)
        with self.api_client() as api:
            response = client.CoreV1Api(api).create_namespaced_service_account_token(
                service_account, namespace, client.AuthenticationV1TokenRequest(spec=spec)
            )
        if response.status is None:
            raise RuntimeError(f"TokenRequest for {namespace}/{service_account} returned no token")
        return str(response.status.token)

    def install_crds(self, *paths: Path, timeout: float = 60.0) -> list[str]:
        """Server-side apply YAML files or directories of them; wait until their CRDs are Established."""
        files = yaml_files(paths)
        if not files:
            return []
        self.kubectl(
            "apply", "--server-side", "--force-conflicts", f"--field-manager={FIELD_MANAGER}",
            *(f"--filename={f}" for f in files),
        )  # fmt: skip
        names = crd_names(files)
        with self.api_client() as api:
            wait_established(api, names, timeout)
        return names

    def install_gateway_api_crds(self, timeout: float = 60.0) -> list[str]:
        """The Gateway API standard-channel CRDs that came with the binaries."""
        if self.gateway_api_crd_dir is None:
            raise FileNotFoundError(f"no gateway-api directory next to {self.assets.bin_dir}")
        return self.install_crds(self.gateway_api_crd_dir, timeout=timeout)

    # ---- internals -------------------------------------------------------------------------------
    def _prepare_files(self) -> None:
        """Fresh certificates and an empty etcd every time, even in a reused work dir."""
        shutil.rmtree(self.layout.etcd_data, ignore_errors=True)
        self.layout.logs_dir.mkdir(parents=True, exist_ok=True)
        generate_pki(self.layout.pki_dir, (self.node_slot.gateway,) if self.real_node is not None else ())
        write_cert_kubeconfig(
            self.kubeconfig_path, self.server_url, self.pki.ca_cert, self.pki.admin_cert, self.pki.admin_key
        )
        comp.write_component_configs(self.layout)

    def _launch(self, name: str, argv: list[str], extra_env: dict[str, str] | None = None) -> ManagedProcess:
        process = ManagedProcess(name, argv, self.layout.log(name), env=child_env(extra_env))
        self._processes.append(process)
        process.start(die_with_parent=self.config.die_with_parent)
        return process

    def _tls_context(self, *, client_cert: bool) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        if client_cert:
            context.load_cert_chain(str(self.pki.admin_cert), str(self.pki.admin_key))
        return context

    def _start_apiserver(self, deadline: float, *, service_account_admission: bool) -> None:
        binary = self.assets.binary("kube-apiserver")
        argv = comp.apiserver_argv(
            binary,
            self.layout,
            self.ports,
            self.pki,
            service_account_admission=service_account_admission,
            node_address=self.node_slot.gateway if self.real_node is not None else None,
            service_cidr=self.node_slot.services,
            audit=self.config.audit_log,
        )
        apiserver = self._launch("kube-apiserver", argv)
        context = self._tls_context(client_cert=True)
        apiserver.wait_ready(lambda: probe_http(self.ports.apiserver, "/readyz", context), deadline)

    def _start_workers(self, deadline: float, *, controllers: bool, scheduler: bool, kwok: bool) -> None:
        """Launch the components that only need the apiserver together, then wait for each."""
        bins, layout, ports, pki = self.assets.binary, self.layout, self.ports, self.pki
        anonymous_tls = self._tls_context(client_cert=False)
        waits: list[tuple[ManagedProcess, int, ssl.SSLContext | None]] = []
        if controllers:
            argv = comp.controller_manager_argv(
                bins("kube-controller-manager"),
                layout,
                ports,
                pki,
                service_account_credentials=self.config.controller_service_accounts,
            )
            waits.append((self._launch("kube-controller-manager", argv), ports.controller_manager, anonymous_tls))
        if scheduler:
            argv = comp.scheduler_argv(bins("kube-scheduler"), layout, ports, pki)
            waits.append((self._launch("kube-scheduler", argv), ports.scheduler, anonymous_tls))
        if kwok:
            waits.append((self._launch("kwok", comp.kwok_argv(bins("kwok"), layout, ports)), ports.kwok, None))
        for process, port, context in waits:
            process.wait_ready(functools.partial(probe_http, port, "/healthz", context), deadline)

    def _await(self, component: str, wait: Callable[[], None]) -> None:
        """Run a cluster-level wait; a timeout becomes a ComponentError with that component's log."""
        try:
            wait()
        except TimeoutError as err:
            raise ComponentError(component, str(err), log_tail(self.layout.log(component))) from err

    def _stop_after_failure(self) -> None:
        """Stop everything but keep the logs (etcd data goes: its WAL alone preallocates 64 MB)."""
        atexit.unregister(self.stop)
        for process in reversed(self._processes):
            process.stop()
        self._processes.clear()
        self._cleanup_real_node()
        shutil.rmtree(self.layout.etcd_data, ignore_errors=True)
        logger.error("local cluster failed to start; logs kept in %s", self.logs_dir)

    # ---- the real node ---------------------------------------------------------------------------
    def _prepare_real_node(self, *, scheduler: bool) -> None:
        """Binaries, network, registry and images: everything the node needs before the apiserver starts."""
        if not scheduler:
            raise RealNodeError("a real node needs the scheduler: start(scheduler=True)")
        repo_root = self.config.repo_root
        dataplane_bin = find_dataplane_bin(repo_root, self.layout.log("dataplane-build"))
        if not (self.assets.bin_dir / "kubelet").is_file():
            raise RealNodeError(f"{self.assets.bin_dir} has no kubelet; rebuild with hack/controlplane/build.sh")
        self.real_node = RealNode(self.work_dir / "node", NodeBinaries(dataplane_bin, self.assets.bin_dir),
                                  self.config.real_node_spec, self.node_slot)  # fmt: skip
        slot = self.node_slot
        ranges = nodenet.GuardedRanges(fake_pods=comp.POD_CIDR, services=slot.services, node_pods=slot.subnet)
        self.real_node.prepare(ranges, self.ports.apiserver)
        registry = LocalRegistry(dataplane_bin / "registry", self.layout.logs_dir, default_storage())
        self.registry = registry
        registry.start(die_with_parent=self.config.die_with_parent)
        if registry.process is not None:
            self._processes.append(registry.process)
        self.images = self.config.images or ensure_images(repo_root or find_repo_root(), dataplane_bin, registry)

    def _start_real_node(self, api: client.ApiClient, deadline: float) -> None:
        node, registry = self.real_node, self.registry
        if node is None or registry is None:
            raise RuntimeError("_prepare_real_node must run first")
        node.start(self._launch, self.server_url, self.pki, registry.port, deadline)
        wait_node_ready(client.CoreV1Api(api), node.name, deadline, self.layout.log("kubelet"))
        self.node_names.append(node.name)

    def _cleanup_real_node(self) -> None:
        if self.real_node is not None:
            self.dropped_packets = self.real_node.cleanup()
            self.real_node = None

    def guard_packets(self) -> int | None:
        """Packets the real node's network guard dropped (bound off this machine); None without a node."""
        return nodenet.guard_packets(self.node_slot) if self.real_node is not None else None


def _wait_controllers(api: client.ApiClient, deadline: float) -> None:
    """kube-controller-manager answers /healthz before its controllers run; the `default` ServiceAccount
    appearing in `default` shows they do (and Pods are rejected until their namespace has one)."""
    core = client.CoreV1Api(api)
    while not core.list_namespaced_service_account("default", field_selector="metadata.name=default").items:
        if time.monotonic() > deadline:
            raise TimeoutError("the default ServiceAccount did not appear in namespace default")
        time.sleep(POLL_INTERVAL_S)

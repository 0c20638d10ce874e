"""One real node: containerd + runc + CNI bridge + kubelet + kube-proxy, running pods on this machine.

The node joins the LocalCluster with its own client certificate (`system:node:mlops-node-0`), labelled and
tainted like the recipe's ML node pool, so ModelDeployment pods land on it. The bridge, the nftables tables,
the pod cgroups and the lock file are machine-wide, so each node has an index (its NodeSlot) naming its own;
one node per index runs on a machine at a time, and a lock file per index says whose it is. `cleanup_node`
removes everything the node leaves behind (processes, mounts, cgroups, network, sysctls) from what is on
disk (`node.json` records the index), so it also mends a run that was killed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from kubernetes import client

from mlops_operator.devcluster import nodenet
from mlops_operator.devcluster.nodeconfig import (
    NodeLayout,
    client_kubeconfig,
    containerd_argv,
    containerd_config,
    kube_proxy_argv,
    kube_proxy_config,
    kubelet_argv,
    kubelet_config,
    registry_hosts_toml,
)
from mlops_operator.devcluster.nodes import MLPOOL_TAINT
from mlops_operator.devcluster.nodeslot import NodeSlot
from mlops_operator.devcluster.pki import ClusterPki, write_client_cert
from mlops_operator.devcluster.process import ComponentError, ManagedProcess, free_ports, log_tail, probe_http

logger = logging.getLogger(__name__)

LOCK_FILE = nodenet.NODE_0.lock_file
CGROUP_ROOT = Path("/sys/fs/cgroup")
POD_CGROUP = nodenet.NODE_0.pod_cgroup
NODE_RECORD = "node.json"
"""In the node's directory: its index, so a cleanup from disk removes that node's resources and no other's."""
NODE_BINARIES = ("runc", "containerd", "containerd-shim-runc-v2", "bridge", "host-local", "loopback")
DEFAULT_LABELS: Mapping[str, str] = {"agentpool": "mlpool", "dataplane": "real"}

Launch = Callable[[str, list[str], dict[str, str]], ManagedProcess]
"""Starts a component as (name, argv, extra environment) and keeps it with the cluster's processes."""


class RealNodeError(RuntimeError):
    """The real node cannot run here; the message says why and what to do."""


@dataclass(frozen=True)
class RealNodeSpec:
    """How the real node registers: labels and taints like an AKS ML node pool by default."""

    labels: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_LABELS))
    taints: tuple[Mapping[str, str], ...] = (MLPOOL_TAINT,)


@dataclass(frozen=True)
class NodeBinaries:
    dataplane_bin: Path
    """hack/dataplane/build.sh output: runc, containerd, shim, CNI plugins, registry, crane, buildkit."""
    controlplane_bin: Path
    """hack/controlplane/build.sh output: kubelet, kube-proxy."""


def check_host(slot: NodeSlot) -> None:
    """Fail early, with the fix, where the node cannot work."""
    if os.geteuid() != 0:
        raise RealNodeError("a real node needs root (kubelet, containerd and the bridge); run as root")
    if not (CGROUP_ROOT / "memory").is_dir() and not (CGROUP_ROOT / "cgroup.controllers").is_file():
        raise RealNodeError(f"no cgroup hierarchy under {CGROUP_ROOT}")
    claim = read_lock(slot)
    if claim is not None and _pid_alive(int(claim.get("pid", 0))):
        raise RealNodeError(
            f"another real node with index {slot.index} runs on this machine (pid {claim['pid']}, "
            f"{claim['node_dir']}); stop it first (`mlopsctl dev --stop`) or use another node_index"
        )
    if claim is not None:
        logger.warning("cleaning up after a real node that did not stop: %s", claim["node_dir"])
        cleanup_node(Path(claim["node_dir"]))


def read_lock(slot: NodeSlot) -> dict[str, str] | None:
    try:
        data: dict[str, str] = json.loads(slot.lock_file.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return data


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _other_live_node_dirs(root: Path) -> list[Path]:
    """Directories of the other real nodes running on this machine (any index), from their lock files."""
    found = []
    for lock in sorted(LOCK_FILE.parent.glob("realnode*.json")):
        with contextlib.suppress(OSError, ValueError):
            claim = json.loads(lock.read_text())
            if claim.get("node_dir") != str(root) and _pid_alive(int(claim.get("pid", 0))):
                found.append(Path(claim["node_dir"]))
    return found


def node_slot_of(root: Path) -> NodeSlot:
    """The slot recorded in a node directory; node 0 for directories written before there were several."""
    try:
        return NodeSlot(int(json.loads((root / NODE_RECORD).read_text())["index"]))
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return nodenet.NODE_0


class RealNode:
    """Prepare the network before the apiserver starts, start the node after it, clean up after stop."""

    def __init__(
        self, root: Path, binaries: NodeBinaries, spec: RealNodeSpec | None = None, slot: NodeSlot = nodenet.NODE_0
    ) -> None:
        self.layout = NodeLayout(root)
        self.binaries = binaries
        self.spec = spec or RealNodeSpec()
        self.slot = slot
        self.name = slot.node_name
        self._services = slot.services
        self._claimed = False

    def prepare(self, ranges: nodenet.GuardedRanges, apiserver_port: int) -> None:
        """Bridge (the apiserver and kubelet bind to its address) and the leak guard; saves sysctls."""
        check_host(self.slot)
        root = self.layout.root
        root.mkdir(parents=True, exist_ok=True)
        (root / NODE_RECORD).write_text(json.dumps({"index": self.slot.index}))
        self.claim(os.getpid())
        self._claimed = True
        # kubelet rewrites these at start; only the first node's copy holds the machine's own values.
        if not _other_live_node_dirs(root):
            (root / "sysctls.json").write_text(json.dumps(nodenet.read_sysctls()))
        self._services = ranges.services
        _create_cgroup_root(self.slot)
        nodenet.create_bridge(ranges.services, self.slot)
        nodenet.install_guard(ranges, apiserver_port, self.slot)

    def claim(self, pid: int) -> None:
        """Record who runs the node: this process, or its kubelet once a detached cluster outlives us."""
        lock = self.slot.lock_file
        lock.parent.mkdir(parents=True, exist_ok=True)
        lock.write_text(json.dumps({"pid": str(pid), "node_dir": str(self.layout.root)}))

    def start(self, launch: Launch, server_url: str, pki: ClusterPki, registry_port: int, deadline: float) -> None:
        """containerd, then kubelet and (on node 0) kube-proxy (both need only the apiserver and containerd)."""
        self._write_files(server_url, pki, registry_port)
        ctrd = self.binaries.dataplane_bin / "containerd"
        # containerd finds containerd-shim-runc-v2 on its PATH.
        path = {"PATH": f"{self.layout.bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
        containerd = launch("containerd", containerd_argv(ctrd, self.layout), path)
        containerd.wait_ready(self.layout.containerd_socket.exists, deadline)
        healthz, proxy_metrics, proxy_healthz = free_ports(3)
        _write_yaml(self.layout.kubelet_config, kubelet_config(self.layout, pki.ca_cert, healthz, self.slot))
        argv = kubelet_argv(
            self.binaries.controlplane_bin / "kubelet",
            self.layout,
            dict(self.spec.labels),
            tuple(dict(t) for t in self.spec.taints),
            self.slot,
        )
        kubelet = launch("kubelet", argv, {})
        proxy = self._launch_kube_proxy(launch, proxy_metrics, proxy_healthz) if self.slot.runs_kube_proxy else None
        kubelet.wait_ready(lambda: probe_http(healthz, "/healthz"), deadline)
        if proxy is not None:
            proxy.wait_ready(lambda: probe_http(proxy_healthz, "/healthz"), deadline)

    def _launch_kube_proxy(self, launch: Launch, metrics_port: int, healthz_port: int) -> ManagedProcess:
        _write_yaml(
            self.layout.kube_proxy_config,
            kube_proxy_config(self.layout.kube_proxy_kubeconfig, metrics_port, healthz_port),
        )
        return launch("kube-proxy", kube_proxy_argv(self.binaries.controlplane_bin / "kube-proxy", self.layout), {})

    def _write_files(self, server_url: str, pki: ClusterPki, registry_port: int) -> None:
        layout = self.layout
        for directory in (layout.bin_dir, layout.cni_conf_dir, layout.cni_bin_dir, layout.pod_logs):
            directory.mkdir(parents=True, exist_ok=True)
        for name in NODE_BINARIES:
            target = layout.cni_bin_dir if name in ("bridge", "host-local", "loopback") else layout.bin_dir
            link = target / name
            link.unlink(missing_ok=True)
            link.symlink_to(self.binaries.dataplane_bin / name)
        layout.containerd_config.write_text(containerd_config(layout, self.slot))
        hosts = layout.registry_hosts / "_default"
        hosts.mkdir(parents=True, exist_ok=True)
        (hosts / "hosts.toml").write_text(registry_hosts_toml(registry_port))
        conflist = nodenet.cni_conflist(layout.cni_data_dir, self._services, self.slot)
        (layout.cni_conf_dir / "10-mlops.conflist").write_text(json.dumps(conflist, indent=2))
        layout.pod_resolv_conf.write_text("nameserver 127.0.0.1\noptions ndots:1 attempts:1 timeout:1\n")
        identities = (
            (f"system:node:{self.name}", "system:nodes", layout.kubelet_cert, layout.kubelet_key,
             layout.kubelet_kubeconfig),
            ("system:kube-proxy", "", layout.kube_proxy_cert, layout.kube_proxy_key, layout.kube_proxy_kubeconfig),
        )  # fmt: skip
        for user, group, cert, key, kubeconfig in identities:
            write_client_cert(pki, user, group, cert, key)
            _write_yaml(kubeconfig, client_kubeconfig(server_url, pki.ca_cert, cert, key))

    def cleanup(self) -> int | None:
        """Remove everything the node left; returns the guard's final count of dropped packets. A node that
        never claimed its slot (another node holds it) has nothing of its own to remove."""
        if not self._claimed:
            return None
        return cleanup_node(self.layout.root)


def _write_yaml(path: Path, data: object) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def cleanup_node(root: Path) -> int | None:
    """Idempotent teardown from what is on disk: processes, mounts, cgroups, network, sysctls, lock."""
    layout, slot = NodeLayout(root), node_slot_of(root)
    _kill_matching(str(layout.containerd_socket))  # shims (and a containerd that outlived its parent)
    for _ in range(3):  # a process may fork while we kill; three sweeps catch it
        _kill_cgroup_tree(slot.pod_cgroup)
    _unmount_below(root)
    _remove_cgroup_tree(slot.pod_cgroup)
    if slot.runs_kube_proxy:
        nodenet.remove_kube_proxy_rules()
    nodenet.remove_bridge(slot)
    packets = nodenet.remove_guard(slot)
    _restore_or_hand_over_sysctls(root)
    _remove_dangling_container_logs()
    claim = read_lock(slot)
    if claim is not None and claim.get("node_dir") == str(root):
        slot.lock_file.unlink(missing_ok=True)
    if packets:
        logger.error("the network guard dropped %d packets bound off this machine", packets)
    return packets


def _restore_or_hand_over_sysctls(root: Path) -> None:
    """The machine's values go back when the last node stops; while another runs, it keeps them instead."""
    saved = root / "sysctls.json"
    if not saved.is_file():
        return
    others = _other_live_node_dirs(root)
    if not others:
        nodenet.restore_sysctls(json.loads(saved.read_text()))
    elif not (others[0] / "sysctls.json").exists():
        saved.replace(others[0] / "sysctls.json")


def _kill_matching(needle: str) -> None:
    """SIGKILL every process whose command line mentions `needle` (our socket path: our shims only)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if needle in (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                os.kill(int(proc.name), signal.SIGKILL)


def _hierarchies() -> list[Path]:
    return [p for p in CGROUP_ROOT.iterdir() if p.is_dir()] if CGROUP_ROOT.is_dir() else []


def _create_cgroup_root(slot: NodeSlot) -> None:
    """kubelet refuses a cgroupRoot missing from any hierarchy; cpuset children start with no CPUs or memory
    nodes and accept no tasks, so they get their parent's."""
    if slot.cgroup_root is None:
        return
    for hierarchy in _hierarchies():
        directory = hierarchy / slot.pod_cgroup
        try:
            directory.mkdir(exist_ok=True)
            for name in ("cpuset.cpus", "cpuset.mems"):
                if (directory / name).is_file() and not (directory / name).read_text().strip():
                    (directory / name).write_text((hierarchy / name).read_text())
        except OSError as err:
            logger.warning("could not create %s: %s", directory, err)


def _kill_cgroup_tree(name: str) -> None:
    for hierarchy in _hierarchies():
        for procs in (hierarchy / name).rglob("cgroup.procs"):
            with contextlib.suppress(OSError, ValueError):
                for pid in procs.read_text().split():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(int(pid), signal.SIGKILL)
    time.sleep(0.2)  # SIGKILL is asynchronous; let the kernel reap before the cgroups are removed


def _remove_cgroup_tree(name: str) -> None:
    """rmdir the pod cgroups deepest first in every hierarchy (runc leaves empty parents behind)."""
    for hierarchy in _hierarchies():
        top = hierarchy / name
        if not top.is_dir():
            continue
        for directory in sorted((d for d in top.rglob("*") if d.is_dir()), key=lambda d: -len(d.parts)):
            with contextlib.suppress(OSError):
                directory.rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()


def _unmount_below(root: Path) -> None:
    """Lazily unmount every mount point under `root` (kubelet's volumes and bind mount, pod netns, overlays)."""
    prefix = str(root.resolve())
    mounts = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            point = line.split()[4].replace("\\040", " ")
            if point == prefix or point.startswith(prefix + "/"):
                mounts.append(point)
    for point in sorted(set(mounts), key=len, reverse=True):
        if subprocess.run(["umount", "-l", point], capture_output=True, check=False).returncode != 0:
            logger.warning("could not unmount %s", point)


def _remove_dangling_container_logs() -> None:
    """kubelet links /var/log/containers/* to pod logs (path fixed in kubelet); drop links into gone dirs."""
    logs = Path("/var/log/containers")
    if logs.is_dir():
        for link in logs.iterdir():
            if link.is_symlink() and not link.exists():
                link.unlink(missing_ok=True)


def _node_ready(core: client.CoreV1Api, name: str) -> bool:
    try:
        node = core.read_node(name)
    except client.ApiException:
        return False
    conditions = (node.status.conditions if node.status else None) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def wait_node_ready(core: client.CoreV1Api, name: str, deadline: float, kubelet_log: Path) -> None:
    """Until the kubelet has registered the node and reported it Ready; fails with the kubelet's log."""
    while not _node_ready(core, name):
        if time.monotonic() > deadline:
            raise ComponentError("kubelet", "did not make its node Ready before the deadline", log_tail(kubelet_log))
        time.sleep(0.2)

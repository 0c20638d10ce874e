"""Command lines and config files of the five components, as pure functions of paths and ports.

Why the less obvious flags are there:
- `--advertise-address=127.0.0.1` + `--endpoint-reconciler-type=none`: without an advertise address the
  apiserver picks the default-route IP (and fails without a default route); 1.37 rejects a loopback one
  unless the endpoint reconciler is off (k/k#138102). Nothing in-cluster needs the `kubernetes` Endpoints.
- `--kubelet-preferred-address-types=InternalIP` and kwok's `--node-ip=127.0.0.1`: `kubectl logs/exec`
  makes the apiserver dial the node; this keeps that dial on loopback instead of resolving a node name.
- `--service-cluster-ip-range` / kwok `--cidr`: without a real node, addresses are only allocated and
  written into objects; nothing routes to them and nothing here may try. With a real node (realnode.py),
  kube-proxy serves ClusterIPs on this machine and an nftables guard drops anything else in these ranges.
- `--requestheader-*` + `--proxy-client-*` (`_front_proxy_flags`): the aggregator's front-proxy identity, as
  kubeadm and AKS configure it, so aggregated API servers (KEDA's metrics adapter) see the real caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlops_operator.devcluster.kwok_stages import DEFAULT_STAGES
from mlops_operator.devcluster.pki import FRONT_PROXY_CLIENT, ClusterPki
from mlops_operator.devcluster.process import LOOPBACK

SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
SA_ISSUER = "https://kubernetes.default.svc.cluster.local"
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node=fake"
NODE_LEASE_SECONDS = 40


@dataclass(frozen=True)
class Ports:
    """Every port a cluster listens on, all on 127.0.0.1."""

    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int
    kwok: int


@dataclass(frozen=True)
class Layout:
    """Where a cluster keeps its files inside its work dir."""

    work_dir: Path

    @property
    def pki_dir(self) -> Path:
        return self.work_dir / "pki"

    @property
    def etcd_data(self) -> Path:
        return self.work_dir / "etcd-data"

    @property
    def logs_dir(self) -> Path:
        return self.work_dir / "logs"

    @property
    def kubeconfig(self) -> Path:
        return self.work_dir / "admin.kubeconfig"

    @property
    def scheduler_config(self) -> Path:
        return self.work_dir / "kube-scheduler.yaml"

    @property
    def kwok_config(self) -> Path:
        return self.work_dir / "kwok.yaml"

    @property
    def kubectl_cache(self) -> Path:
        return self.work_dir / "kubectl-cache"

    @property
    def audit_policy(self) -> Path:
        return self.work_dir / "audit-policy.yaml"

    @property
    def audit_log(self) -> Path:
        return self.logs_dir / "audit.jsonl"

    def log(self, component: str) -> Path:
        return self.logs_dir / f"{component}.log"


def _url(port: int, scheme: str = "http") -> str:
    return f"{scheme}://{LOOPBACK}:{port}"


def etcd_argv(binary: Path, layout: Layout, ports: Ports) -> list[str]:
    peer = _url(ports.etcd_peer)
    return [
        str(binary),
        "--name=default",
        f"--data-dir={layout.etcd_data}",
        f"--listen-client-urls={_url(ports.etcd_client)}",
        f"--advertise-client-urls={_url(ports.etcd_client)}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=default={peer}",
        "--unsafe-no-fsync=true",  # throwaway data: durability costs seconds per test run
        "--log-level=warn",
    ]


def _advertise_flags(node_address: str | None) -> list[str]:
    """Loopback only, unless a real node runs: its pods reach the apiserver through the `kubernetes`
    Service, whose endpoint the apiserver then keeps at the node bridge's address (the nftables guard
    drops connections to the port from any other interface)."""
    if node_address is None:
        return [f"--bind-address={LOOPBACK}", f"--advertise-address={LOOPBACK}", "--endpoint-reconciler-type=none"]
    return ["--bind-address=0.0.0.0", f"--advertise-address={node_address}"]


def apiserver_argv(
    binary: Path,
    layout: Layout,
    ports: Ports,
    pki: ClusterPki,
    *,
    service_account_admission: bool,
    node_address: str | None = None,
    service_cidr: str = SERVICE_CIDR,
    audit: bool = False,
) -> list[str]:
    """`service_cidr`: clusters running side by side take different ranges (nodeslot.py), since each one's
    host route sends its range to its own node's bridge."""
    argv = [
        str(binary),
        f"--etcd-servers={_url(ports.etcd_client)}",
        f"--secure-port={ports.apiserver}",
        *_advertise_flags(node_address),
        f"--cert-dir={layout.pki_dir}",
        f"--tls-cert-file={pki.serving_cert}",
        f"--tls-private-key-file={pki.serving_key}",
        f"--client-ca-file={pki.ca_cert}",
        "--authorization-mode=Node,RBAC",
        f"--service-account-issuer={SA_ISSUER}",
        f"--service-account-key-file={pki.sa_public_key}",
        f"--service-account-signing-key-file={pki.sa_private_key}",
        f"--service-cluster-ip-range={service_cidr}",
        "--kubelet-preferred-address-types=InternalIP",
        f"--kubelet-client-certificate={pki.kubelet_client_cert}",  # kubectl logs/exec on the real node
        f"--kubelet-client-key={pki.kubelet_client_key}",
        *_front_proxy_flags(pki),
        "--allow-privileged=true",
        "--profiling=false",
        *(audit_flags(layout) if audit else []),
    ]
    if not service_account_admission:
        # Without kube-controller-manager nobody creates the `default` ServiceAccount that the plugin
        # requires for every Pod; envtest disables it for the same reason.
        argv.append("--disable-admission-plugins=ServiceAccount")
    return argv


def _front_proxy_flags(pki: ClusterPki) -> list[str]:
    """The aggregator proxies with the front-proxy client certificate and the caller in X-Remote-* headers.
    kube-apiserver publishes the requestheader settings in kube-system/extension-apiserver-authentication,
    where aggregated API servers (and kube-controller-manager, kube-scheduler) read which CA and name to
    trust those headers from; without them every proxied request arrives as `system:anonymous`."""
    return [
        f"--requestheader-client-ca-file={pki.front_proxy_ca_cert}",
        f"--requestheader-allowed-names={FRONT_PROXY_CLIENT}",
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        f"--proxy-client-cert-file={pki.front_proxy_client_cert}",
        f"--proxy-client-key-file={pki.front_proxy_client_key}",
    ]


# Who asked for what, once per request (when it completed): what benchmarks count per client identity.
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived", "ResponseStarted"],
    "rules": [{"level": "Metadata"}],
}


def audit_flags(layout: Layout) -> list[str]:
    """A JSON-lines audit log of every request; synchronous (`blocking`) so a count read after the fact is
    complete, unrotated because a benchmark reads the whole file."""
    return [
        f"--audit-policy-file={layout.audit_policy}",
        f"--audit-log-path={layout.audit_log}",
        "--audit-log-format=json",
        "--audit-log-mode=blocking",
        "--audit-log-maxsize=0",
    ]


def _delegated_serving_flags(layout: Layout, pki: ClusterPki, port: int) -> list[str]:
    """HTTPS serving + delegated authn/authz shared by kube-controller-manager and kube-scheduler."""
    return [
        f"--bind-address={LOOPBACK}",
        f"--secure-port={port}",
        f"--tls-cert-file={pki.serving_cert}",
        f"--tls-private-key-file={pki.serving_key}",
        f"--client-ca-file={pki.ca_cert}",
        # Also reads the requestheader CA from kube-system/extension-apiserver-authentication, as kubeadm's
        # control plane does (the apiserver publishes it before /readyz passes).
        f"--authentication-kubeconfig={layout.kubeconfig}",
        f"--authorization-kubeconfig={layout.kubeconfig}",
    ]


def controller_manager_argv(
    binary: Path, layout: Layout, ports: Ports, pki: ClusterPki, *, service_account_credentials: bool = True
) -> list[str]:
    """`service_account_credentials` runs each controller as its own ServiceAccount, as real clusters do;
    creating those ~50 accounts and tokens costs about 5 s of startup on 2 cores."""
    return [
        str(binary),
        f"--kubeconfig={layout.kubeconfig}",
        *_delegated_serving_flags(layout, pki, ports.controller_manager),
        "--leader-elect=false",
        "--controllers=*",
        f"--use-service-account-credentials={str(service_account_credentials).lower()}",
        f"--root-ca-file={pki.ca_cert}",
        # Signs legacy Secret-based tokens (kubernetes.io/service-account-token) that some tools still create.
        f"--service-account-private-key-file={pki.sa_private_key}",
        f"--cluster-signing-cert-file={pki.ca_cert}",
        f"--cluster-signing-key-file={pki.ca_key}",
        "--profiling=false",
    ]


def scheduler_config(layout: Layout) -> dict[str, Any]:
    return {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "clientConnection": {"kubeconfig": str(layout.kubeconfig)},
        "leaderElection": {"leaderElect": False},
        "enableProfiling": False,
    }


def scheduler_argv(binary: Path, layout: Layout, ports: Ports, pki: ClusterPki) -> list[str]:
    return [
        str(binary),
        f"--config={layout.scheduler_config}",
        *_delegated_serving_flags(layout, pki, ports.scheduler),
    ]


def kwok_config() -> str:
    """kwok's config file: only the default Stages (kwok v0.8.0 has none built in).

    No KwokConfiguration document: one read from a file is not defaulted (node lease parallelism stays 0
    and kwok exits), while without one kwok applies its defaults and our flags on top.
    """
    return DEFAULT_STAGES.lstrip()


def kwok_argv(binary: Path, layout: Layout, ports: Ports) -> list[str]:
    return [
        str(binary),
        f"--config={layout.kwok_config}",
        f"--kubeconfig={layout.kubeconfig}",
        "--manage-all-nodes=false",
        f"--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}",
        f"--cidr={POD_CIDR}",
        f"--node-ip={LOOPBACK}",
        f"--node-lease-duration-seconds={NODE_LEASE_SECONDS}",  # selects the heartbeat-with-lease stage
        f"--server-address={LOOPBACK}:{ports.kwok}",
    ]


def write_component_configs(layout: Layout) -> None:
    layout.audit_policy.write_text(yaml.safe_dump(AUDIT_POLICY, sort_keys=False))
    layout.scheduler_config.write_text(yaml.safe_dump(scheduler_config(layout), sort_keys=False))
    layout.kwok_config.write_text(kwok_config())

"""Config files and command lines of the real node (containerd, kubelet, kube-proxy): pure functions.

Why the less obvious settings are there (each was found on this kind of machine; docs/testing.md):
- cgroups v1 (hybrid): kubelet refuses v1 unless `failCgroupV1: false`; the cgroup driver is cgroupfs
  (PID 1 is not systemd) and containerd's runc runs with `SystemdCgroup = false` to match.
- `restrict_oom_score_adj`: the machine lacks CAP_SYS_RESOURCE, so runc cannot lower a container's OOM
  score (CRI asks -998 for sandboxes); without it every pod fails at `runc init`.
- `netns_mounts_under_state_dir`: pod network namespaces live in the node's own directory, so a stop
  can find and remove every one of them.
- `resolvConf`: pods get a resolver on their own loopback, never the machine's (private-range) one.
- `cgroupRoot` (nodes other than 0): kubelet removes pod cgroups under its root that it does not know,
  so a second node on the machine gets its own root (nodeslot.py); it must exist before kubelet starts.
- The registry mirror (`_default` hosts.toml): every image name resolves to the local registry, so
  pods pull our images and the pause image without reaching any other host.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_operator.devcluster.nodenet import NODE_0, NODE_GATEWAY, NODE_SUBNET
from mlops_operator.devcluster.nodeslot import NodeSlot

NODE_NAME = NODE_0.node_name
PAUSE_IMAGE = "registry.k8s.io/pause:3.10.2"
KUBELET_PORT = 10250


@dataclass(frozen=True)
class NodeLayout:
    """Where the real node keeps its files, all inside the cluster's work dir."""

    root: Path

    @property
    def bin_dir(self) -> Path:
        """runc and the shim are looked up on containerd's PATH; this dir holds links to them."""
        return self.root / "bin"

    @property
    def containerd_config(self) -> Path:
        return self.root / "containerd.toml"

    @property
    def containerd_root(self) -> Path:
        return self.root / "containerd"

    @property
    def containerd_state(self) -> Path:
        return self.root / "containerd-state"

    @property
    def containerd_socket(self) -> Path:
        return self.root / "containerd.sock"

    @property
    def registry_hosts(self) -> Path:
        return self.root / "certs.d"

    @property
    def cni_conf_dir(self) -> Path:
        return self.root / "cni" / "net.d"

    @property
    def cni_bin_dir(self) -> Path:
        return self.root / "cni" / "bin"

    @property
    def cni_data_dir(self) -> Path:
        return self.root / "cni" / "ipam"

    @property
    def kubelet_root(self) -> Path:
        return self.root / "kubelet"

    @property
    def kubelet_config(self) -> Path:
        return self.root / "kubelet.yaml"

    @property
    def kubelet_kubeconfig(self) -> Path:
        return self.root / "kubelet.kubeconfig"

    @property
    def kubelet_cert(self) -> Path:
        return self.root / "pki" / "kubelet.crt"

    @property
    def kubelet_key(self) -> Path:
        return self.root / "pki" / "kubelet.key"

    @property
    def pod_resolv_conf(self) -> Path:
        return self.root / "pod-resolv.conf"

    @property
    def pod_logs(self) -> Path:
        return self.root / "pod-logs"

    @property
    def kube_proxy_config(self) -> Path:
        return self.root / "kube-proxy.yaml"

    @property
    def kube_proxy_kubeconfig(self) -> Path:
        """kube-proxy's own identity, `system:kube-proxy`, which bootstrap RBAC binds to system:node-proxier."""
        return self.root / "kube-proxy.kubeconfig"

    @property
    def kube_proxy_cert(self) -> Path:
        return self.root / "pki" / "kube-proxy.crt"

    @property
    def kube_proxy_key(self) -> Path:
        return self.root / "pki" / "kube-proxy.key"


def containerd_config(layout: NodeLayout, slot: NodeSlot) -> str:
    """containerd 2.3 config (schema version 3)."""
    return _containerd_base_config(layout) + ("" if slot.index == 0 else _own_nri_socket(layout))


def _own_nri_socket(layout: NodeLayout) -> str:
    """NRI's socket defaults to /var/run/nri/nri.sock, which a starting containerd deletes and binds again:
    nodes after the first keep theirs in their own directory instead of taking node 0's."""
    return f"""
[plugins.'io.containerd.nri.v1.nri']
  socket_path = '{layout.root / "nri.sock"}'
"""


def _containerd_base_config(layout: NodeLayout) -> str:
    return f"""version = 3
root = '{layout.containerd_root}'
state = '{layout.containerd_state}'
oom_score = 0

[grpc]
  address = '{layout.containerd_socket}'

[ttrpc]
  address = '{layout.containerd_socket}.ttrpc'

[plugins.'io.containerd.cri.v1.images']
  snapshotter = 'overlayfs'

  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = '{PAUSE_IMAGE}'

  [plugins.'io.containerd.cri.v1.images'.registry]
    config_path = '{layout.registry_hosts}'

[plugins.'io.containerd.cri.v1.runtime']
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_cdi = false

  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ['{layout.cni_bin_dir}']
    conf_dir = '{layout.cni_conf_dir}'
    use_internal_loopback = true

  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
    BinaryName = '{layout.bin_dir / "runc"}'
    SystemdCgroup = false
"""


def registry_hosts_toml(registry_port: int) -> str:
    """`_default/hosts.toml`: every registry host is served by the local registry, and only by it."""
    url = f"http://127.0.0.1:{registry_port}"
    return f'server = "{url}"\n\n[host."{url}"]\n  capabilities = ["pull", "resolve"]\n'


def kubelet_config(layout: NodeLayout, ca_cert: Path, healthz_port: int, slot: NodeSlot) -> dict[str, Any]:
    config: dict[str, Any] = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "failCgroupV1": False,
        "failSwapOn": False,
        "cgroupDriver": "cgroupfs",
        "containerRuntimeEndpoint": f"unix://{layout.containerd_socket}",
        "address": slot.gateway,
        "port": KUBELET_PORT,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(ca_cert)},
        },
        "authorization": {"mode": "Webhook"},
        "resolvConf": str(layout.pod_resolv_conf),
        "podLogsDir": str(layout.pod_logs),
        "volumePluginDir": str(layout.root / "volume-plugins"),
        "registerNode": True,
        "serializeImagePulls": False,
        # Short status and sync periods let tests see a pod's state within a second or two.
        "syncFrequency": "10s",
        "nodeStatusUpdateFrequency": "5s",
        "imageGCHighThresholdPercent": 95,
        "imageGCLowThresholdPercent": 90,
        "evictionHard": {"memory.available": "200Mi", "nodefs.available": "2%", "imagefs.available": "2%"},
        "shutdownGracePeriod": "0s",
        "logging": {"verbosity": 1},
    }
    if slot.cgroup_root is not None:
        config["cgroupRoot"] = slot.cgroup_root
    return config


def client_kubeconfig(server_url: str, ca_cert: Path, cert: Path, key: Path) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": {"server": server_url, "certificate-authority": str(ca_cert)}}],
        "users": [{"name": "node", "user": {"client-certificate": str(cert), "client-key": str(key)}}],
        "contexts": [{"name": "node", "context": {"cluster": "local", "user": "node"}}],
        "current-context": "node",
    }


def node_labels(labels: dict[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


def node_taints(taints: tuple[dict[str, str], ...]) -> str:
    return ",".join(f"{t['key']}={t.get('value', '')}:{t['effect']}" for t in taints)


def kubelet_argv(
    binary: Path,
    layout: NodeLayout,
    labels: dict[str, str],
    taints: tuple[dict[str, str], ...],
    slot: NodeSlot,
) -> list[str]:
    argv = [
        str(binary),
        f"--config={layout.kubelet_config}",
        f"--kubeconfig={layout.kubelet_kubeconfig}",
        f"--hostname-override={slot.node_name}",
        f"--node-ip={slot.gateway}",
        f"--node-labels={node_labels(labels)}",
        f"--root-dir={layout.kubelet_root}",
        f"--cert-dir={layout.kubelet_root / 'pki'}",
    ]
    if taints:
        argv.append(f"--register-with-taints={node_taints(taints)}")
    return argv


def kube_proxy_config(kubeconfig: Path, metrics_port: int, healthz_port: int) -> dict[str, Any]:
    """Only node 0 runs kube-proxy (nodeslot.py), so its names and ranges are node 0's."""
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "nftables",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "hostnameOverride": NODE_NAME,
        "clusterCIDR": NODE_SUBNET,
        "bindAddress": "127.0.0.1",
        "metricsBindAddress": f"127.0.0.1:{metrics_port}",
        "healthzBindAddress": f"127.0.0.1:{healthz_port}",
        # 0 leaves the machine's conntrack table size alone instead of resizing it for a big node.
        "conntrack": {"maxPerCore": 0, "min": 0},
        "nodePortAddresses": [f"{NODE_GATEWAY}/32"],
    }


def kube_proxy_argv(binary: Path, layout: NodeLayout) -> list[str]:
    return [str(binary), f"--config={layout.kube_proxy_config}"]


def containerd_argv(binary: Path, layout: NodeLayout) -> list[str]:
    return [str(binary), f"--config={layout.containerd_config}"]

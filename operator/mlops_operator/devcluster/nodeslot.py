"""Which machine-wide names and address ranges real node number `index` uses, so that several LocalClusters,
each with its own real node, can run on one machine side by side (multi-region tests run two).

A bridge, an nftables table, a host route, a top-level cgroup and a lock file exist once per machine, so each
node gets its own. Index 0 keeps exactly the names it had when only one real node could run; the others are
derived from the index. What cannot be split stays with node 0: kube-proxy's nftables tables have fixed names
(`ip kube-proxy`, `ip6 kube-proxy`) and two kube-proxies would flush each other's chains, so only node 0 runs
one and ClusterIPs work only in cluster 0 (docs/testing.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MAX_NODE_INDEX = 15
"""Service ranges 10.96/16 .. 10.111/16 stay clear of kwok's 10.244/16 and the bridges' 10.245/16."""
LOCK_DIR = Path("/run/mlops-operator")
GUARD_TABLE = "mlops_guard"
KUBE_PODS = "kubepods"


@dataclass(frozen=True)
class NodeSlot:
    """The machine-wide resources of real node `index` (0 .. MAX_NODE_INDEX)."""

    index: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.index <= MAX_NODE_INDEX:
            raise ValueError(f"a real node index is 0..{MAX_NODE_INDEX}, not {self.index}")

    @property
    def node_name(self) -> str:
        """Each cluster has its own apiserver, so names could repeat; distinct ones keep logs readable."""
        return f"mlops-node-{self.index}"

    @property
    def bridge(self) -> str:
        return f"mlops{self.index}"

    @property
    def subnet(self) -> str:
        """The node's pod addresses (and its bridge's), a /24 inside 10.245.0.0/16."""
        return f"10.245.{self.index}.0/24"

    @property
    def gateway(self) -> str:
        """The bridge's own address: kubelet, and the apiserver for pods, listen here."""
        return f"10.245.{self.index}.1"

    @property
    def services(self) -> str:
        """The cluster's ClusterIP range; its host route goes to this node's bridge, one route per prefix."""
        return f"10.{96 + self.index}.0.0/16"

    @property
    def guard_table(self) -> str:
        """The nftables table guarding this node's ranges; installing one replaces any table of that name."""
        return GUARD_TABLE if self.index == 0 else f"{GUARD_TABLE}{self.index}"

    @property
    def cgroup_root(self) -> str | None:
        """kubelet's cgroupRoot. kubelet destroys pod cgroups under its root that it does not know, so node 0
        keeps `/` (pods under /kubepods) and the others get a directory of their own."""
        return None if self.index == 0 else f"/mlops-node{self.index}"

    @property
    def pod_cgroup(self) -> str:
        """The top-level cgroup directory (in every hierarchy) holding this node's pods, killed at cleanup."""
        return KUBE_PODS if self.cgroup_root is None else self.cgroup_root.lstrip("/")

    @property
    def lock_file(self) -> Path:
        """Says which process runs this node, so a second one with the same index is refused."""
        return LOCK_DIR / ("realnode.json" if self.index == 0 else f"realnode-{self.index}.json")

    @property
    def runs_kube_proxy(self) -> bool:
        """kube-proxy's nftables tables have fixed names: one kube-proxy per machine, on node 0."""
        return self.index == 0

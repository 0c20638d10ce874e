"""The real node's network: a bridge for its pods, and a guard so that nothing leaves the machine.

Pods live in network namespaces that containerd creates on this machine, attached to the bridge
`mlops0` (10.245.0.0/24; node i of several uses `mlops<i>` and 10.245.<i>.0/24, see nodeslot.py). They get
no default route and IP forwarding stays off, so a pod can reach only its bridge neighbours and this host.
Three kinds of address would otherwise follow the default route out of eth0: kwok's fake pod IPs, ClusterIPs
that kube-proxy rewrites to them, and anything in the pod range sent from the wrong interface. The nftables
table `mlops_guard` (`mlops_guard<i>`) drops and counts them; tests assert that its counter stays 0. Each
node's guard covers its own ranges and bridge only.
"""

from __future__ import annotations

import json
import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mlops_operator.devcluster.nodeslot import NodeSlot

logger = logging.getLogger(__name__)

NODE_0 = NodeSlot(0)
BRIDGE = NODE_0.bridge
NODE_SUBNET = NODE_0.subnet
NODE_GATEWAY = NODE_0.gateway
GUARD_TABLE = NODE_0.guard_table
GUARD_COUNTER = "leaked"
KUBE_PROXY_TABLE = "kube-proxy"
SYSCTLS = ("kernel/panic", "kernel/panic_on_oops", "vm/overcommit_memory")


class NodeNetworkError(RuntimeError):
    """A network command failed; the message carries the command and its stderr."""


@dataclass(frozen=True)
class GuardedRanges:
    """Address ranges that exist only inside this machine (or nowhere)."""

    fake_pods: str
    services: str
    node_pods: str = NODE_SUBNET


def guard_ruleset(ranges: GuardedRanges, apiserver_port: int, slot: NodeSlot) -> str:
    """nftables rules (`nft -f` syntax): drop and count cluster addresses that would leave by any interface
    but the bridge (or loopback: the bridge's own address is local), pod traffic forwarded off the bridge,
    and apiserver connections from outside."""
    cluster = f"{{ {ranges.fake_pods}, {ranges.services}, {ranges.node_pods} }}"
    bridge, table = slot.bridge, slot.guard_table
    return f"""
table inet {table} {{
    counter {GUARD_COUNTER} {{ }}
    chain output {{
        type filter hook output priority filter; policy accept;
        ip daddr {cluster} oifname != {{ "{bridge}", "lo" }} counter name {GUARD_COUNTER} drop
    }}
    chain forward {{
        type filter hook forward priority filter; policy accept;
        iifname "{bridge}" oifname != "{bridge}" counter name {GUARD_COUNTER} drop
        ip daddr {cluster} oifname != "{bridge}" counter name {GUARD_COUNTER} drop
    }}
    chain input {{
        type filter hook input priority filter; policy accept;
        tcp dport {apiserver_port} iifname != {{ "lo", "{bridge}" }} drop
    }}
}}
"""


def cni_conflist(data_dir: Path, services: str, slot: NodeSlot) -> dict[str, object]:
    """The pods' network: our pre-created bridge, addresses from the node's subnet, and one route (to the
    service range, through this host where kube-proxy rewrites it). No default route, no masquerade."""
    return {
        "cniVersion": "1.0.0",
        "name": "mlops",
        "plugins": [
            {
                "type": "bridge",
                "bridge": slot.bridge,
                "isGateway": False,  # True would switch on net.ipv4.ip_forward for the whole machine
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": slot.subnet, "gateway": slot.gateway}]],
                    "routes": [{"dst": services, "gw": slot.gateway}],
                    "dataDir": str(data_dir),
                },
            },
        ],
    }


def _run(*argv: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(argv), input=stdin, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise NodeNetworkError(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()}")
    return result


def service_route(services: str, slot: NodeSlot) -> list[str]:
    """`ip route` arguments sending the service range to the bridge: host-side clients of a ClusterIP are
    rewritten by kube-proxy to a pod on the bridge, anything left unrewritten is dropped by the guard."""
    return ["route", "replace", services, "dev", slot.bridge, "src", slot.gateway]


def create_bridge(services: str, slot: NodeSlot) -> None:
    """(Re)create the bridge with the gateway address, so kubelet and the apiserver can bind to it first."""
    remove_bridge(slot)
    _run("ip", "link", "add", slot.bridge, "type", "bridge")
    _run("ip", "addr", "add", f"{slot.gateway}/24", "dev", slot.bridge)
    _run("ip", "link", "set", slot.bridge, "up")
    _run("ip", *service_route(services, slot))


def bridge_exists(slot: NodeSlot) -> bool:
    return _run("ip", "link", "show", slot.bridge, check=False).returncode == 0


def remove_bridge(slot: NodeSlot) -> None:
    if bridge_exists(slot):
        _run("ip", "link", "delete", slot.bridge)


def install_guard(ranges: GuardedRanges, apiserver_port: int, slot: NodeSlot) -> None:
    remove_guard(slot)
    _run("nft", "-f", "-", stdin=guard_ruleset(ranges, apiserver_port, slot))


def guard_packets(slot: NodeSlot) -> int | None:
    """Packets the guard has dropped so far (None if it is not installed)."""
    result = _run("nft", "-j", "list", "counter", "inet", slot.guard_table, GUARD_COUNTER, check=False)
    if result.returncode != 0:
        return None
    for item in json.loads(result.stdout).get("nftables", []):
        if "counter" in item:
            return int(item["counter"]["packets"])
    return None


def remove_guard(slot: NodeSlot) -> int | None:
    """Remove the guard table, returning its final count."""
    packets = guard_packets(slot)
    if packets is not None:
        _run("nft", "delete", "table", "inet", slot.guard_table)
    return packets


def remove_kube_proxy_rules() -> None:
    """kube-proxy leaves its nftables table behind when it stops; a stale one would rewrite ClusterIPs."""
    for family in ("ip", "ip6"):
        if _run("nft", "list", "table", family, KUBE_PROXY_TABLE, check=False).returncode == 0:
            _run("nft", "delete", "table", family, KUBE_PROXY_TABLE)


def read_sysctls() -> dict[str, str]:
    """The kernel settings kubelet rewrites at start (kernel.panic, panic_on_oops, overcommit)."""
    return {name: Path("/proc/sys", name).read_text().strip() for name in SYSCTLS}


def restore_sysctls(saved: dict[str, str]) -> None:
    for name, value in saved.items():
        try:
            Path("/proc/sys", name).write_text(value)
        except OSError as err:
            logger.warning("could not restore %s=%s: %s", name, value, err)

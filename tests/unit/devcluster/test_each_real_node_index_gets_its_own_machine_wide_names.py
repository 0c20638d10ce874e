"""Real nodes side by side: each index names its own bridge, ranges, guard, cgroups and lock; index 0 keeps the
names the single real node always had, so everything written for it is unaffected."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from mlops_operator.devcluster import components as comp
from mlops_operator.devcluster import nodenet
from mlops_operator.devcluster.nodeconfig import NodeLayout, containerd_config, kubelet_argv, kubelet_config
from mlops_operator.devcluster.nodeslot import MAX_NODE_INDEX, NodeSlot
from mlops_operator.devcluster.pki import ClusterPki
from mlops_operator.devcluster.realnode import NODE_RECORD, node_slot_of

NODE_1 = NodeSlot(1)
LAYOUT = NodeLayout(Path("/work/node"))
ALL_SLOTS = [NodeSlot(i) for i in range(MAX_NODE_INDEX + 1)]


def test_node_0_keeps_the_names_of_the_single_real_node() -> None:
    slot = NodeSlot(0)

    assert (slot.bridge, slot.subnet, slot.gateway) == ("mlops0", "10.245.0.0/24", "10.245.0.1")
    assert (slot.services, slot.guard_table, slot.node_name) == (comp.SERVICE_CIDR, "mlops_guard", "mlops-node-0")
    assert (slot.cgroup_root, slot.pod_cgroup) == (None, "kubepods")
    assert slot.lock_file == Path("/run/mlops-operator/realnode.json")
    assert slot.runs_kube_proxy


def test_node_1_gets_its_own_names_and_no_kube_proxy() -> None:
    assert (NODE_1.bridge, NODE_1.subnet, NODE_1.gateway) == ("mlops1", "10.245.1.0/24", "10.245.1.1")
    assert (NODE_1.services, NODE_1.guard_table, NODE_1.node_name) == ("10.97.0.0/16", "mlops_guard1", "mlops-node-1")
    assert (NODE_1.cgroup_root, NODE_1.pod_cgroup) == ("/mlops-node1", "mlops-node1")
    assert NODE_1.lock_file == Path("/run/mlops-operator/realnode-1.json")
    assert not NODE_1.runs_kube_proxy


@pytest.mark.parametrize("attribute", ["bridge", "subnet", "gateway", "services", "guard_table", "pod_cgroup",
                                       "lock_file", "node_name"])  # fmt: skip
def test_no_two_indexes_share_a_machine_wide_name(attribute: str) -> None:
    values = [getattr(slot, attribute) for slot in ALL_SLOTS]

    assert len(set(values)) == len(values)


def test_no_range_of_any_index_overlaps_another_or_kwoks_fake_pods() -> None:
    ranges = [ipaddress.ip_network(comp.POD_CIDR)]
    ranges += [ipaddress.ip_network(cidr) for slot in ALL_SLOTS for cidr in (slot.subnet, slot.services)]

    overlapping = [(a, b) for i, a in enumerate(ranges) for b in ranges[i + 1 :] if a.overlaps(b)]

    assert overlapping == []


@pytest.mark.parametrize("index", [-1, MAX_NODE_INDEX + 1])
def test_an_index_outside_the_range_is_refused(index: int) -> None:
    with pytest.raises(ValueError, match="real node index"):
        NodeSlot(index)


def test_node_1s_guard_covers_its_own_table_bridge_and_ranges() -> None:
    ranges = nodenet.GuardedRanges(fake_pods=comp.POD_CIDR, services=NODE_1.services, node_pods=NODE_1.subnet)

    rules = nodenet.guard_ruleset(ranges, 6443, NODE_1)

    assert "table inet mlops_guard1 {" in rules
    assert "{ 10.244.0.0/16, 10.97.0.0/16, 10.245.1.0/24 }" in rules
    assert '"mlops1"' in rules
    assert "mlops0" not in rules


def test_node_1s_pods_get_addresses_and_a_service_route_on_its_own_bridge() -> None:
    conflist = nodenet.cni_conflist(Path("/ipam"), NODE_1.services, NODE_1)

    [plugin] = conflist["plugins"]
    assert plugin["bridge"] == "mlops1"
    assert plugin["ipam"]["ranges"] == [[{"subnet": "10.245.1.0/24", "gateway": "10.245.1.1"}]]
    assert plugin["ipam"]["routes"] == [{"dst": "10.97.0.0/16", "gw": "10.245.1.1"}]
    assert nodenet.service_route(NODE_1.services, NODE_1) == [
        "route", "replace", "10.97.0.0/16", "dev", "mlops1", "src", "10.245.1.1"
    ]  # fmt: skip


def test_node_1s_kubelet_has_its_own_cgroup_root_address_and_name() -> None:
    config = kubelet_config(LAYOUT, Path("/ca.crt"), 1234, NODE_1)
    argv = kubelet_argv(Path("/kubelet"), LAYOUT, {}, (), NODE_1)

    assert (config["cgroupRoot"], config["address"]) == ("/mlops-node1", "10.245.1.1")
    assert "--hostname-override=mlops-node-1" in argv
    assert "--node-ip=10.245.1.1" in argv


def test_node_1s_containerd_keeps_its_nri_socket_in_its_own_directory() -> None:
    assert "socket_path = '/work/node/nri.sock'" in containerd_config(LAYOUT, NODE_1)
    assert "nri" not in containerd_config(LAYOUT, nodenet.NODE_0)


def test_node_0s_kubelet_leaves_the_cgroup_root_unset() -> None:
    assert "cgroupRoot" not in kubelet_config(LAYOUT, Path("/ca.crt"), 1234, nodenet.NODE_0)


def test_the_apiserver_of_cluster_1_allocates_from_its_own_service_range() -> None:
    argv = comp.apiserver_argv(
        Path("/kube-apiserver"), comp.Layout(Path("/w")), comp.Ports(1, 2, 3, 4, 5, 6), ClusterPki(Path("/pki")),
        service_account_admission=True, node_address=NODE_1.gateway, service_cidr=NODE_1.services,
    )  # fmt: skip

    assert "--service-cluster-ip-range=10.97.0.0/16" in argv
    assert "--advertise-address=10.245.1.1" in argv


def test_a_cleanup_from_disk_finds_the_index_the_node_recorded(tmp_path: Path) -> None:
    (tmp_path / NODE_RECORD).write_text(json.dumps({"index": 3}))

    assert node_slot_of(tmp_path) == NodeSlot(3)


def test_a_node_directory_without_a_record_is_node_0s(tmp_path: Path) -> None:
    """Directories written before there were several nodes (a detached cluster) belong to node 0."""
    assert node_slot_of(tmp_path) == NodeSlot(0)

"""Fake nodes kwok keeps Ready: an AKS-like `mlpool` pool tainted for ML work, plus general nodes.

The kwok docs also put a `kwok.x-k8s.io/node=fake:NoSchedule` taint on fake nodes. We leave it off: our
pods tolerate only `workload=ml:NoSchedule` (through instance types), exactly as on a real AKS pool.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from kubernetes import client

MLPOOL_LABEL = ("agentpool", "mlpool")
GENERAL_LABEL = ("agentpool", "general")
MLPOOL_TAINT = {"key": "workload", "value": "ml", "effect": "NoSchedule"}
POLL_INTERVAL_S = 0.1
DEFAULT_CAPACITY: Mapping[str, str] = {
    "cpu": "8",
    "memory": "32Gi",
    "pods": "110",
    "ephemeral-storage": "128Gi",
}


@dataclass(frozen=True)
class NodePool:
    """`count` identical fake nodes named `kwok-<name>-<i>`."""

    name: str
    count: int
    labels: Mapping[str, str]
    taints: tuple[Mapping[str, str], ...] = ()
    capacity: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_CAPACITY))

    def node_names(self) -> list[str]:
        return [f"kwok-{self.name}-{i}" for i in range(self.count)]


def default_pools(mlpool_nodes: int = 2, general_nodes: int = 1) -> tuple[NodePool, ...]:
    return (
        NodePool("mlpool", mlpool_nodes, dict([MLPOOL_LABEL]), (MLPOOL_TAINT,)),
        NodePool("general", general_nodes, dict([GENERAL_LABEL])),
    )


def fake_node_manifest(name: str, pool: NodePool) -> dict[str, Any]:
    """A v1 Node kwok manages (selected by the annotation) with realistic capacity.

    Our kwok node bring-up stage fills in conditions, nodeInfo (kubeletVersion "kwok-0.8.0") and the
    InternalIP address (127.0.0.1, from --node-ip).
    """
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                **pool.labels,
                "type": "kwok",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
            },
        },
        "spec": {"taints": [dict(taint) for taint in pool.taints]},
        "status": {
            "capacity": dict(pool.capacity),
            "allocatable": dict(pool.capacity),
            "phase": "Running",
        },
    }


def fleet_manifests(pools: tuple[NodePool, ...]) -> list[dict[str, Any]]:
    return [fake_node_manifest(name, pool) for pool in pools for name in pool.node_names()]


def create_fake_nodes(api: client.ApiClient, pools: tuple[NodePool, ...]) -> list[str]:
    """Create the nodes (status included, as a kubelet registering itself would) and return their names."""
    core = client.CoreV1Api(api)
    names = []
    for manifest in fleet_manifests(pools):
        core.create_node(body=cast(client.V1Node, manifest))  # the client validates dicts as V1Node
        names.append(str(manifest["metadata"]["name"]))
    return names


def _ready(node: Any) -> bool:
    conditions = (node.status.conditions if node.status else None) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def wait_nodes_ready(api: client.ApiClient, names: list[str], deadline: float) -> None:
    """Poll until kwok has marked every node Ready; `deadline` is a time.monotonic() value."""
    core = client.CoreV1Api(api)
    pending = set(names)
    while pending:
        pending -= {node.metadata.name for node in core.list_node().items if node.metadata and _ready(node)}
        if not pending:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"kwok did not mark these nodes Ready: {', '.join(sorted(pending))}")
        time.sleep(POLL_INTERVAL_S)

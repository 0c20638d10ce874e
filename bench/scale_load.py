"""The load bench/operator_scale.py applies: the cluster's setup, N ModelDeployments, the waves."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_operator.devcluster import LocalCluster
from mlops_operator.devcluster.kubeconfig import write_token_kubeconfig
from mlops_operator.devcluster.nodes import MLPOOL_LABEL, MLPOOL_TAINT, NodePool
from mlops_operator.kube import Kube
from scale_support import Key, ReadinessTracker

MANAGER = "scale-bench"
PLATFORM = "scale"
MEMBERS_PER_ENDPOINT = 2
API = "mlops.dev/v1alpha1"


@dataclass(frozen=True)
class Layout:
    """Which ModelDeployment lives where: `n` over `namespaces`, two per endpoint (traffic 100/0)."""

    n: int
    namespaces: int
    prefix: str

    def namespace(self, i: int) -> str:
        return f"{self.prefix}-{i % self.namespaces}"

    def all_namespaces(self) -> list[str]:
        return [f"{self.prefix}-{i}" for i in range(min(self.n, self.namespaces))]

    def key(self, i: int) -> Key:
        return self.namespace(i), f"model-{i}"

    def keys(self) -> list[Key]:
        return [self.key(i) for i in range(self.n)]

    def node_pools(self) -> tuple[NodePool, ...]:
        # Fake nodes big enough for every pod (pods only need to be scheduled and reported Ready by kwok).
        capacity = {"cpu": "1000", "memory": "4000Gi", "pods": str(self.n + 100)}
        return (NodePool("mlpool", 2, dict([MLPOOL_LABEL]), (MLPOOL_TAINT,), capacity),)

    def model_deployment(self, i: int, version: str = "1") -> dict[str, Any]:
        endpoint, member = divmod(i // self.namespaces, MEMBERS_PER_ENDPOINT)
        namespace, name = self.key(i)
        return {
            "apiVersion": API,
            "kind": "ModelDeployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "platformRef": {"name": PLATFORM},
                "endpoint": {"name": f"endpoint-{endpoint}"},
                "model": {"name": "model", "version": version, "uri": "configmap://model"},
                "code": {"scoringScript": "score.py", "configMap": {"name": "code"}},
                "traffic": 100 if member == 0 else 0,
            },
        }


def prepare_cluster(cluster: LocalCluster, kube: Kube, repo: Path) -> None:
    cluster.install_crds(*sorted((repo / "crds").glob("*.yaml")))
    cluster.install_gateway_api_crds()
    it = {
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "nodeSelector": dict([MLPOOL_LABEL]),
        "tolerations": [{**MLPOOL_TAINT, "operator": "Equal"}],
    }
    platform = {"backend": "native", "defaultInstanceType": "small", "instanceTypes": [{"name": "small", **it}]}
    kube.apply({"apiVersion": API, "kind": "MLOpsPlatform", "metadata": {"name": PLATFORM}, "spec": platform}, MANAGER)


def prepare_namespaces(kube: Kube, namespaces: Iterable[str]) -> None:
    """Each namespace with the code and model ConfigMaps every ModelDeployment there references."""
    for namespace in namespaces:
        kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}, MANAGER)
        for name, key in (("model", "model.pkl"), ("code", "score.py")):
            data = {key: "contents never read: pods are fake (kwok)"}
            meta = {"name": name, "namespace": namespace}
            kube.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}, MANAGER)


def operator_identity(cluster: LocalCluster, name: str) -> Path:
    """A ServiceAccount bound to cluster-admin and a kubeconfig with its token: the audit log's user."""
    namespace = "mlops-system"
    cluster.kubectl("create", "namespace", namespace, check=False)
    cluster.kubectl("create", "serviceaccount", name, "-n", namespace)
    cluster.kubectl(
        "create", "clusterrolebinding", f"{name}-admin", "--clusterrole=cluster-admin",
        f"--serviceaccount={namespace}:{name}",
    )  # fmt: skip
    token = cluster.create_token(name, namespace, duration_seconds=6 * 3600)
    path = cluster.work_dir / f"{name}.kubeconfig"
    return write_token_kubeconfig(path, cluster.server_url, cluster.ca_cert_path, token)


def in_parallel(work: Callable[[int], Any], items: Iterable[int], workers: int) -> list[Any]:
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(work, items))


def apply_all(kube: Kube, layout: Layout, workers: int) -> dict[Key, float]:
    """Apply every ModelDeployment; when each apply returned (monotonic), by key."""
    prepare_namespaces(kube, layout.all_namespaces())

    def apply(i: int) -> tuple[Key, float]:
        body = layout.model_deployment(i)
        kube.apply(body, MANAGER)
        return (body["metadata"]["namespace"], body["metadata"]["name"]), time.monotonic()

    return dict(in_parallel(apply, range(layout.n), workers))


def update_wave(kube: Kube, layout: Layout, tracker: ReadinessTracker, workers: int, timeout: float) -> float:
    """A new model version on every tenth ModelDeployment; seconds until all of them are Ready at it."""
    chosen = list(range(0, layout.n, 10))
    start = time.monotonic()
    in_parallel(lambda i: kube.apply(layout.model_deployment(i, version="2"), MANAGER), chosen, workers)
    keys = [layout.key(i) for i in chosen]
    done = tracker.wait(lambda: all(tracker.ready_time(k, 2) for k in keys), timeout, "update wave Ready")
    return done - start


def delete_all(kube: Kube, layout: Layout, tracker: ReadinessTracker, workers: int, timeout: float) -> float:
    """Delete every ModelDeployment; seconds until the API server has removed all (finalizers done)."""
    keys = layout.keys()
    start = time.monotonic()
    in_parallel(lambda i: kube.delete(API, "ModelDeployment", keys[i][1], keys[i][0]), range(layout.n), workers)
    done = tracker.wait(lambda: all(k in tracker.gone for k in keys), timeout, "delete wave gone")
    return done - start

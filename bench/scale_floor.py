"""The floor: the same objects the operator made, applied by a plain client with no operator running.

The child objects are read back from the API server after the operator phase (everything labelled as
managed by the operator), stripped of what the server fills in, moved to fresh namespaces and re-pointed
at the fresh ModelDeployments' uids. Grouped by endpoint as the operator's passes are: an endpoint's
ModelDeployments first, then their children, then the objects the endpoint shares.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from mlops_operator import naming
from mlops_operator.devcluster import LocalCluster
from mlops_operator.kube import Kube, load_api_client
from scale_load import API, MANAGER, Layout, in_parallel, operator_identity, prepare_namespaces

CHILD_KINDS = (
    ("apps/v1", "Deployment"),
    ("v1", "Service"),
    ("v1", "Secret"),
    ("policy/v1", "PodDisruptionBudget"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"),
)
SERVER_FIELDS = ("uid", "resourceVersion", "managedFields", "creationTimestamp", "generation")


@dataclass(frozen=True)
class FloorRun:
    """Seconds until everything was available, each Deployment's apply-to-available seconds, and when (since
    the first apply) each became available."""

    seconds: float
    latencies: list[float]
    available_at: list[float]


@dataclass
class EndpointObjects:
    """One endpoint's ModelDeployments (spec only) and every child object, in apply order."""

    deployments: list[dict[str, Any]] = field(default_factory=list)
    children: list[dict[str, Any]] = field(default_factory=list)


def capture_children(kube: Kube, layout: Layout) -> dict[tuple[str, str], EndpointObjects]:
    """(namespace, endpoint) -> the ModelDeployments and the child objects the operator applied for them."""
    groups: dict[tuple[str, str], EndpointObjects] = defaultdict(EndpointObjects)
    endpoint_of: dict[tuple[str, str], str] = {}
    for namespace in layout.all_namespaces():
        for md in kube.list(API, "ModelDeployment", namespace):
            endpoint = md["spec"]["endpoint"]["name"]
            endpoint_of[(namespace, md["metadata"]["name"])] = endpoint
            spec_only = {"apiVersion": API, "kind": "ModelDeployment", "metadata": _plain(md), "spec": md["spec"]}
            groups[(namespace, endpoint)].deployments.append(spec_only)
        selector = f"{naming.LABEL_MANAGED_BY}={naming.FIELD_MANAGER}"
        for api_version, kind in CHILD_KINDS:
            for child in kube.list(api_version, kind, namespace, selector):
                owner = (child["metadata"].get("ownerReferences") or [{}])[0].get("name", "")
                endpoint = endpoint_of.get((namespace, owner), "")
                body = {k: v for k, v in child.items() if k != "status"}
                body.update(apiVersion=api_version, kind=kind, metadata=_plain(child))
                if kind == "Service":  # addresses are allocated per object: a copy gets its own
                    body["spec"] = {k: v for k, v in body["spec"].items() if k not in ("clusterIP", "clusterIPs")}
                groups[(namespace, endpoint)].children.append(body)
    return dict(groups)


def _plain(body: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in body["metadata"].items() if k not in SERVER_FIELDS}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if not k.startswith("kopf.")}
    meta["annotations"] = annotations
    meta.pop("finalizers", None)
    return meta


def run_floor(
    cluster: LocalCluster, kube: Kube, groups: dict[tuple[str, str], EndpointObjects], layout: Layout, workers: int
) -> FloorRun:
    """How long a plain client takes to apply everything until every Deployment is available."""
    floor_layout = Layout(n=layout.n, namespaces=layout.namespaces, prefix="floor")
    renamed = {ns: floor_layout.all_namespaces()[i] for i, ns in enumerate(layout.all_namespaces())}
    client_kube = Kube(load_api_client(str(operator_identity(cluster, "floor"))))
    work = list(groups.values())
    start = time.monotonic()
    prepare_namespaces(client_kube, renamed.values())
    applied: dict[tuple[str, str], float] = {}
    for done in in_parallel(lambda i: _apply_endpoint(client_kube, work[i], renamed), range(len(work)), workers):
        applied.update(done)
    expected = sum(1 for g in work for c in g.children if c["kind"] == "Deployment")
    available: dict[tuple[str, str], float] = {}
    deadline = time.monotonic() + 1800
    while len(available) < expected:
        if time.monotonic() > deadline:
            raise TimeoutError("floor: Deployments not available after 1800s")
        now = time.monotonic()
        for key in _available(kube, renamed.values()):
            available.setdefault(key, now)
        time.sleep(0.2)
    latencies = [available[k] - applied[k] for k in available if k in applied]
    return FloorRun(time.monotonic() - start, latencies, sorted(t - start for t in available.values()))


def _apply_endpoint(kube: Kube, group: EndpointObjects, renamed: dict[str, str]) -> dict[tuple[str, str], float]:
    """Apply one endpoint's objects; when each of its Deployments was applied, by (namespace, name)."""
    uids: dict[str, str] = {}
    applied: dict[tuple[str, str], float] = {}
    for md in group.deployments:
        live = kube.apply(_moved(md, renamed), MANAGER)
        uids[live["metadata"]["name"]] = live["metadata"]["uid"]
    for child in group.children:
        moved = _moved(child, renamed)
        owners = moved["metadata"].get("ownerReferences") or []
        moved["metadata"]["ownerReferences"] = [{**o, "uid": uids.get(o["name"], o["uid"])} for o in owners]
        kube.apply(moved, MANAGER)
        if moved["kind"] == "Deployment":
            applied[(moved["metadata"]["namespace"], moved["metadata"]["name"])] = time.monotonic()
    return applied


def _moved(body: dict[str, Any], renamed: dict[str, str]) -> dict[str, Any]:
    meta = {**body["metadata"], "namespace": renamed[body["metadata"]["namespace"]]}
    return {**body, "metadata": meta}


def _available(kube: Kube, namespaces: Any) -> list[tuple[str, str]]:
    found = []
    for namespace in namespaces:
        for deployment in kube.list("apps/v1", "Deployment", namespace):
            status, wanted = deployment.get("status") or {}, deployment["spec"].get("replicas", 1)
            if status.get("availableReplicas", 0) >= wanted and status.get("updatedReplicas", 0) >= wanted:
                found.append((namespace, deployment["metadata"]["name"]))
    return found

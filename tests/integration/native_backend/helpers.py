"""Building test resources and waiting on what the operator does with them."""

from __future__ import annotations

import re
import time
from typing import Any

from kopf.testing import KopfRunner
from polling import wait_for

from mlops_operator.devcluster import LocalCluster
from mlops_operator.kube import Kube

PLATFORM = "itest"


def start_operator() -> KopfRunner:
    return KopfRunner(["run", "--all-namespaces", "--standalone", "-m", "mlops_operator.handlers"], timeout=60)


def apply_platform(kube: Kube, name: str = PLATFORM, **spec: Any) -> None:
    it = {
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "nodeSelector": {"agentpool": "mlpool"},
        "tolerations": [{"key": "workload", "operator": "Equal", "value": "ml", "effect": "NoSchedule"}],
    }
    body = {
        "apiVersion": "mlops.dev/v1alpha1",
        "kind": "MLOpsPlatform",
        "metadata": {"name": name},
        "spec": {
            "backend": "native",
            "defaultInstanceType": "small",
            "instanceTypes": [{"name": "small", **it}, {"name": "large", **it}],
            **spec,
        },
    }
    kube.apply(body, "itest")


def model_deployment(namespace: str, name: str, endpoint: str = "scoring", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "mlops.dev/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "platformRef": {"name": PLATFORM},
            "endpoint": {"name": endpoint},
            "model": {"name": "diabetes", "version": "1", "uri": "configmap://model"},
            "code": {"scoringScript": "score.py", "configMap": {"name": "code"}},
            **spec,
        },
    }


def create_model_files(kube: Kube, namespace: str) -> None:
    for name, key in (("model", "model.pkl"), ("code", "score.py")):
        kube.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": namespace},
                "data": {key: "placeholder contents: pods are fake (kwok) and never read them"},
            }
        )


def condition(kube: Kube, namespace: str, name: str, type_: str) -> dict[str, Any] | None:
    body = kube.get("mlops.dev/v1alpha1", "ModelDeployment", name, namespace) or {}
    return next((c for c in body.get("status", {}).get("conditions", []) if c["type"] == type_), None)


def wait_condition(
    kube: Kube, namespace: str, name: str, type_: str, status: str, reason: str | None = None, timeout: float = 60
) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        found = condition(kube, namespace, name, type_)
        if found and found["status"] == status and (reason is None or found["reason"] == reason):
            return found
        return None

    return wait_for(check, timeout, f"{name} {type_}={status} {reason or ''}")


def route_weights(kube: Kube, namespace: str, endpoint: str) -> dict[str, int] | None:
    """Weights of the endpoint HTTPRoute's traffic-split rule (the one without header matches)."""
    route = kube.get("gateway.networking.k8s.io/v1", "HTTPRoute", f"{endpoint}-endpoint", namespace)
    if route is None:
        return None
    for rule in route["spec"]["rules"]:
        if not any(m.get("headers") for m in rule["matches"]):
            return {ref["name"]: ref.get("weight", 1) for ref in rule["backendRefs"]}
    return None


WRITE_VERBS = frozenset({"APPLY", "PATCH", "CREATE", "UPDATE", "DELETE"})
# What the operator writes. Controllers also write deployments/status and pods; those are left out.
OPERATOR_RESOURCES = frozenset(
    {"deployments", "services", "secrets", "poddisruptionbudgets", "horizontalpodautoscalers", "httproutes"}
)


def apiserver_writes(
    cluster: LocalCluster,
    resources: frozenset[str] = OPERATOR_RESOURCES | {"modeldeployments"},
    verbs: frozenset[str] = WRITE_VERBS,
) -> int:
    """Writes the API server has served to the operator's kinds, from its own request counter (/metrics).

    Children count without subresources (controllers write their status and scale); ModelDeployments count
    with them (the operator writes their status)."""
    metrics = cluster.kubectl("get", "--raw", "/metrics").stdout
    total = 0
    for line in metrics.splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}", 1)[0]))
        resource = labels.get("resource", "")
        ours = resource in resources and (resource == "modeldeployments" or not labels.get("subresource"))
        if labels.get("verb") in verbs and ours:
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def wait_no_terminating_namespaces(kube: Kube, timeout: float = 120) -> None:
    """Earlier tests' namespaces are deleted without waiting; while they empty, the operator finalizes their
    ModelDeployments, which any cluster-wide count (writes, reconciles) would see. Only for tests with a
    running operator: without one, a namespace holding a finalized ModelDeployment never finishes."""

    def quiet() -> bool:
        return not any((ns.get("status") or {}).get("phase") == "Terminating" for ns in kube.list("v1", "Namespace"))

    wait_for(quiet, timeout, "no namespace still terminating")


def settled_apiserver_writes(
    cluster: LocalCluster, resources: frozenset[str] = OPERATOR_RESOURCES | {"modeldeployments"}
) -> int:
    """The write count once the cluster is quiet (earlier tests' namespaces may still be being emptied)."""
    counts: list[int] = [apiserver_writes(cluster, resources)]

    def quiet() -> bool:
        time.sleep(1)
        counts.append(apiserver_writes(cluster, resources))
        return counts[-1] == counts[-2]

    wait_for(quiet, 30, "no writes to the operator's kinds for a second")
    return counts[-1]

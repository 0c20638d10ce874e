"""KEDA built from its Go module drives the real HPA controller from a Prometheus query (issue 18 groundwork).

The chain under test, every link real except the metric source: a ScaledObject with a `prometheus` trigger ->
KEDA's operator creates the HPA (external metric, AverageValue = threshold per replica) -> kube-controller-
manager's HPA controller reads `external.metrics.k8s.io` through kube-apiserver's aggregator -> KEDA's adapter
-> KEDA's operator (gRPC) -> the Prometheus scaler queries the PrometheusDouble on loopback -> the HPA
controller writes the Deployment's scale. Pods run on kwok nodes; nothing connects to a pod IP.
"""

from __future__ import annotations

import json
import time
from typing import Any

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from polling import wait_for
from prometheus_double import PrometheusDouble

from .keda_support import KedaProcesses

NAME = "model"
THRESHOLD = 10  # requests per second per replica
MAX_REPLICAS = 5
QUERY = f'sum(rate(azureml_requests_total{{deployment="{NAME}"}}[1m]))'
HPA_NAME = f"keda-hpa-{NAME}"
# The HPA controller syncs every 15 s (kube-controller-manager's default; our LocalCluster sets no
# --horizontal-pod-autoscaler-sync-period), and the behaviour below has no stabilisation window: a change must
# show within two syncs plus the query. 90 s leaves room on a loaded 2-core machine.
SCALE_TIMEOUT_S = 90.0


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": NAME},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": NAME}},
            "template": {
                "metadata": {"labels": {"app": NAME}},
                "spec": {"containers": [{"name": "score", "image": "mlops-scoring:test"}]},
            },
        },
    }


def scaled_object(server_address: str) -> dict[str, Any]:
    no_window = {"stabilizationWindowSeconds": 0}
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": NAME},
        "spec": {
            "scaleTargetRef": {"name": NAME},
            "pollingInterval": 2,
            "minReplicaCount": 1,
            "maxReplicaCount": MAX_REPLICAS,
            "advanced": {
                "horizontalPodAutoscalerConfig": {
                    "behavior": {
                        "scaleUp": {**no_window, "policies": [{"type": "Pods", "value": 10, "periodSeconds": 1}]},
                        "scaleDown": {**no_window, "policies": [{"type": "Percent", "value": 100, "periodSeconds": 1}]},
                    }
                }
            },
            "triggers": [
                {
                    "type": "prometheus",
                    "metadata": {"serverAddress": server_address, "query": QUERY, "threshold": str(THRESHOLD)},
                }
            ],
        },
    }


def hpa_state(autoscaling: client.AutoscalingV2Api, namespace: str) -> dict[str, Any]:
    try:
        hpa = autoscaling.read_namespaced_horizontal_pod_autoscaler(HPA_NAME, namespace)
    except ApiException as err:
        if err.status == 404:
            return {"hpa": "absent"}
        raise
    status = hpa.status
    if status is None:
        return {"hpa": "no status yet"}
    metrics = [m.external.current.average_value for m in (status.current_metrics or []) if m.external]
    conditions = {c.type: f"{c.status} {c.reason}: {c.message}" for c in (status.conditions or [])}
    return {"desired": status.desired_replicas, "current": status.current_replicas, "metric": metrics, **conditions}


def external_metric(api: client.ApiClient, namespace: str) -> str | None:
    """The value kube-apiserver's aggregator returns from KEDA's adapter for the ScaledObject's metric, as the
    HPA controller asks for it (metric `s0-prometheus`, selected by the ScaledObject's label)."""
    path = f"/apis/external.metrics.k8s.io/v1beta1/namespaces/{namespace}/s0-prometheus"
    _, url, headers, _, _ = api.param_serialize(
        "GET",
        path,
        query_params=[("labelSelector", f"scaledobject.keda.sh/name={NAME}")],
        header_params={"Accept": "application/json"},
        auth_settings=["BearerToken"],
    )
    try:
        response = api.call_api("GET", url, header_params=headers, _request_timeout=5)
    except (OSError, urllib3.exceptions.HTTPError):
        return None
    if response.status != 200:
        return None
    body = json.loads(response.read())
    items = body.get("items") or []
    return str(items[0]["value"]) if items else None


def test_keda_scales_a_deployment_up_and_down_on_a_prometheus_query(
    keda: KedaProcesses, kube_api: client.ApiClient, namespace: str
) -> None:
    apps, autoscaling = client.AppsV1Api(kube_api), client.AutoscalingV2Api(kube_api)
    custom = client.CustomObjectsApi(kube_api)

    def replicas() -> tuple[int, int]:
        scale = apps.read_namespaced_deployment(NAME, namespace)
        return scale.spec.replicas, (scale.status.ready_replicas if scale.status else 0) or 0

    def wait_replicas(wanted: int, what: str) -> float:
        started = time.monotonic()
        try:
            wait_for(lambda: replicas() == (wanted, wanted), SCALE_TIMEOUT_S, what)
        except AssertionError as err:
            raise AssertionError(f"{err}\nHPA: {hpa_state(autoscaling, namespace)}\n{keda.logs()}") from None
        return time.monotonic() - started

    with PrometheusDouble() as prometheus:
        prometheus.values[NAME] = 0.0
        apps.create_namespaced_deployment(namespace, deployment())
        wait_replicas(1, "the Deployment's one pod on a kwok node")
        custom.create_namespaced_custom_object(
            "keda.sh", "v1alpha1", namespace, "scaledobjects", scaled_object(prometheus.url)
        )

        # KEDA creates the HPA; the HPA controller reads the metric through the aggregator and the adapter.
        try:
            wait_for(lambda: hpa_state(autoscaling, namespace).get("metric"), SCALE_TIMEOUT_S, "the HPA's first metric")
        except AssertionError as err:
            raise AssertionError(f"{err}\nHPA: {hpa_state(autoscaling, namespace)}\n{keda.logs()}") from None
        assert replicas() == (1, 1)

        # 45 rps at 10 per replica: ceil(4.5) = 5 replicas.
        prometheus.values[NAME] = 45.0
        changed = time.monotonic()
        wait_for(lambda: external_metric(kube_api, namespace) == "45", SCALE_TIMEOUT_S, "the aggregated API to say 45")
        served_s = time.monotonic() - changed
        up_s = wait_replicas(MAX_REPLICAS, f"{MAX_REPLICAS} replicas after the metric rose to 45")
        state = hpa_state(autoscaling, namespace)
        assert state["desired"] == MAX_REPLICAS
        assert any(q for q in prometheus.queries if f'deployment="{NAME}"' in q)

        # 5 rps: ceil(0.5) = 1 replica (the minimum).
        prometheus.values[NAME] = 5.0
        down_s = wait_replicas(1, "1 replica after the metric fell to 5")
        assert hpa_state(autoscaling, namespace)["desired"] == 1

    print(
        f"\nkeda: metric change to external.metrics.k8s.io {served_s:.2f}s,"
        f" to scale-up {up_s + served_s:.1f}s, to scale-down {down_s:.1f}s; HPA {state}"
    )

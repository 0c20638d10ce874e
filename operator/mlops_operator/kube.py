"""A small synchronous Kubernetes client: get, list, server-side apply, create, delete, status patches.

It speaks to the API by path (no discovery round trips) through the official `kubernetes` package's
ApiClient, which handles kubeconfig, in-cluster tokens and TLS. Every write is counted, so tests can
prove that a resync of an unchanged object writes nothing.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config

from mlops_operator.metrics import OperatorMetrics

# kind -> plural for everything the operator touches; avoids a discovery request per call.
PLURALS = {
    "Deployment": "deployments",
    "Service": "services",
    "Secret": "secrets",
    "ConfigMap": "configmaps",
    "Pod": "pods",
    "Namespace": "namespaces",
    "PersistentVolumeClaim": "persistentvolumeclaims",
    "PodDisruptionBudget": "poddisruptionbudgets",
    "ReplicaSet": "replicasets",
    "HorizontalPodAutoscaler": "horizontalpodautoscalers",
    "HTTPRoute": "httproutes",
    "Gateway": "gateways",
    "GatewayClass": "gatewayclasses",
    "CustomResourceDefinition": "customresourcedefinitions",
    "Event": "events",
    "MLOpsPlatform": "mlopsplatforms",
    "ModelDeployment": "modeldeployments",
    "InstanceType": "instancetypes",
}
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Threads that call the API at once: kopf's sync handlers (8: finalizers, platforms) and the waker's
# passes (8), with room to spare. The client's default (5 per CPU: 10 here) made urllib3 discard
# connections under load, and each discarded one costs a fresh TLS handshake on the next request.
CONNECTION_POOL_SIZE = 20


class KubeError(Exception):
    """A Kubernetes API error with its HTTP status and the server's message."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message


def resource_path(api_version: str, kind: str, namespace: str | None = None, name: str | None = None) -> str:
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    if namespace:
        base += f"/namespaces/{namespace}"
    base += f"/{PLURALS.get(kind, kind.lower() + 's')}"
    return f"{base}/{name}" if name else base


def load_api_client(kubeconfig: str | None = None) -> k8s.ApiClient:
    """An ApiClient from a kubeconfig path, else $KUBECONFIG/~/.kube/config, else in-cluster."""
    configuration = k8s.Configuration()
    configuration.connection_pool_maxsize = CONNECTION_POOL_SIZE
    loader: Any = k8s_config
    try:
        loader.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    except k8s_config.ConfigException:
        loader.load_incluster_config(client_configuration=configuration)
    return k8s.ApiClient(configuration)


class Kube:
    """Thin typed-by-dict access to the API server."""

    def __init__(self, api_client: k8s.ApiClient, metrics: OperatorMetrics | None = None) -> None:
        self._api: Any = api_client  # call_api's keyword arguments are not in the package's type hints
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self._metrics = metrics

    @property
    def writes(self) -> int:
        return sum(n for key, n in self.requests.items() if key.split()[0] in WRITE_METHODS)

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        with self._lock:
            self.requests[f"{method} {path}"] += 1
        payload = body  # the REST layer serialises dicts as JSON for JSON and YAML content types alike
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        _, url, headers, payload, _ = self._api.param_serialize(
            method,
            path,
            query_params=list((query or {}).items()),
            header_params=headers,
            body=payload,
            auth_settings=["BearerToken"],
        )
        try:
            response = self._api.call_api(method, url, header_params=headers, body=payload, _request_timeout=60)
        except Exception:
            if self._metrics is not None:
                self._metrics.kube_request(method, 0)  # no response: connection refused, timeout, TLS
            raise
        if self._metrics is not None:
            self._metrics.kube_request(method, response.status)
        data = response.read()
        if response.status >= 400:
            raise _error_from(response.status, response.reason, data)
        return json.loads(data) if data else {}

    def api_ready(self) -> bool:
        """True when the API server's /readyz answers 200: started, CRDs and API groups all served."""
        _, url, headers, _, _ = self._api.param_serialize(
            "GET", "/readyz", header_params={"Accept": "text/plain"}, auth_settings=["BearerToken"]
        )
        try:
            response = self._api.call_api("GET", url, header_params=headers, _request_timeout=10)
            response.read()
        except Exception:  # refused, reset, timed out: not ready
            return False
        return bool(response.status == 200)

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        try:
            return self._call("GET", resource_path(api_version, kind, namespace, name))
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        query = {k: v for k, v in (("labelSelector", label_selector), ("fieldSelector", field_selector)) if v}
        return list(self._call("GET", resource_path(api_version, kind, namespace), query=query).get("items", []))

    def apply(self, obj: dict[str, Any], field_manager: str, force: bool = True) -> dict[str, Any]:
        """Server-side apply: the API server merges our fields and records us as their manager."""
        meta = obj["metadata"]
        path = resource_path(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"])
        query = {"fieldManager": field_manager, "force": "true" if force else "false"}
        return self._call("PATCH", path, body=obj, query=query, content_type="application/apply-patch+yaml")

    def create(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        """Create; None when it already exists (someone else won the race, which is fine)."""
        meta = obj["metadata"]
        try:
            return self._call("POST", resource_path(obj["apiVersion"], obj["kind"], meta.get("namespace")), body=obj)
        except KubeError as exc:
            if exc.status == 409:
                return None
            raise

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete in the background; False when it was already gone."""
        try:
            self._call(
                "DELETE", resource_path(api_version, kind, namespace, name), body={"propagationPolicy": "Background"}
            )
        except KubeError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def patch_merge(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None,
        patch: dict[str, Any],
        *,
        subresource: str = "",
    ) -> dict[str, Any]:
        path = resource_path(api_version, kind, namespace, name) + (f"/{subresource}" if subresource else "")
        return self._call("PATCH", path, body=patch, content_type="application/merge-patch+json")

    def crd_established(self, name: str) -> bool:
        crd = self.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
        conditions = ((crd or {}).get("status") or {}).get("conditions") or []
        return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def _error_from(status: int, reason: str | None, data: bytes | None) -> KubeError:
    try:
        payload = json.loads(data or b"{}")
    except ValueError:
        payload = {}
    message = str(payload.get("message") or (data or b"").decode(errors="replace") or reason or "")
    return KubeError(int(status), str(payload.get("reason") or reason or ""), message)

"""The operator's Prometheus metrics: every definition lives here, on a registry passed in explicitly.

`OperatorMetrics` is built once by `build_context` and reaches handlers, the Kubernetes client and the
backends through the context object; nothing reads a module-level registry, so tests build their own and
two operators in one process (tests under KopfRunner) never share counters. Names follow Prometheus
conventions: `_total` counters, `_seconds` histograms, base units, no object names as label values except
through the bounded `kind`/`condition`/`status` sets.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

ObjectRef = tuple[str, str, str]  # kind, namespace ("" when cluster-scoped), name
# Reconciles take from milliseconds (nothing changed) to tens of seconds (an Azure call timing out).
RECONCILE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# Azure long-running operations run from seconds (an endpoint update) to tens of minutes (a workspace).
OPERATION_BUCKETS = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0)


class ConditionStates(Collector):
    """Objects by condition state, and each object's readiness: the last conditions written per object,
    counted at scrape time.

    Kept as a map from object to conditions (not as gauges incremented and decremented) so a missed
    transition can never leave a count wrong; an object that is gone is forgotten. The per-object
    `mlops_operator_object_ready` (one series per custom resource, as kube-state-metrics does for pods)
    is what "not Ready for 15 minutes" alerts on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[ObjectRef, dict[str, str]] = {}

    def record(self, kind: str, namespace: str | None, name: str, conditions: Mapping[str, str]) -> None:
        with self._lock:
            self._states[(kind, namespace or "", name)] = dict(conditions)

    def forget(self, kind: str, namespace: str | None, name: str) -> None:
        with self._lock:
            self._states.pop((kind, namespace or "", name), None)

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "mlops_operator_objects",
            "Custom resources by condition type and status, as last written by this operator.",
            labels=["kind", "condition", "status"],
        )
        ready = GaugeMetricFamily(
            "mlops_operator_object_ready",
            "1 when the custom resource's Ready condition is True, else 0.",
            labels=["kind", "namespace", "name"],
        )
        counts: dict[tuple[str, str, str], int] = {}
        with self._lock:
            states = sorted(self._states.items())
        for (kind, namespace, name), conditions in states:
            ready.add_metric([kind, namespace, name], 1.0 if conditions.get("Ready") == "True" else 0.0)
            for condition, status in conditions.items():
                counts[(kind, condition, status)] = counts.get((kind, condition, status), 0) + 1
        for labels, count in sorted(counts.items()):
            family.add_metric(list(labels), count)
        yield family
        yield ready


DriftValue = tuple[str, str, float, float]  # feature, statistic, value, threshold


class DriftValues(Collector):
    """Each monitored deployment's drift per feature at its last check (spec.monitoring.drift), exported
    with the threshold beside it so dashboards and alerts need not know the spec."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[tuple[str, str], list[DriftValue]] = {}

    def record(self, namespace: str, name: str, values: Sequence[DriftValue]) -> None:
        with self._lock:
            self._values[(namespace, name)] = list(values)

    def forget(self, namespace: str | None, name: str) -> None:
        with self._lock:
            self._values.pop((namespace or "", name), None)

    def collect(self) -> Iterable[Metric]:
        labels = ["namespace", "name", "feature", "statistic"]
        value = GaugeMetricFamily(
            "mlops_operator_drift_value", "Drift statistic per feature, last check.", labels=labels
        )
        threshold = GaugeMetricFamily(
            "mlops_operator_drift_threshold", "Threshold of the drift statistic per feature.", labels=labels
        )
        with self._lock:
            items = sorted(self._values.items())
        for (namespace, name), features in items:
            for feature, statistic, measured, limit in features:
                value.add_metric([namespace, name, feature, statistic], measured)
                threshold.add_metric([namespace, name, feature, statistic], limit)
        yield value
        yield threshold


class OperatorMetrics:
    """The operator's metrics on one registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._define_reconcile_metrics(self.registry)
        self._define_api_metrics(self.registry)
        self.objects = ConditionStates()
        self.registry.register(self.objects)
        self.drift = DriftValues()
        self.registry.register(self.drift)

    def _define_reconcile_metrics(self, r: CollectorRegistry) -> None:
        self.reconciles = Counter(
            "mlops_operator_reconciles", "Reconcile passes by kind and result.", ["kind", "result"], registry=r
        )
        self.reconcile_duration = Histogram(
            "mlops_operator_reconcile_duration_seconds",
            "Duration of one reconcile pass by kind and result.",
            ["kind", "result"],
            buckets=RECONCILE_BUCKETS,
            registry=r,
        )
        self.errors = Counter(
            "mlops_operator_reconcile_errors",
            "Failed reconcile passes by kind and reason.",
            ["kind", "reason"],
            registry=r,
        )
        self.wakeups = Counter(
            "mlops_operator_wakeups",
            "Requests to look at an object again, by kind and cause.",
            ["kind", "cause"],
            registry=r,
        )
        self.retries = Counter(
            "mlops_operator_retries", "Passes rescheduled after a failure, by kind.", ["kind"], registry=r
        )

    def _define_api_metrics(self, r: CollectorRegistry) -> None:
        self.kube_requests = Counter(
            "mlops_operator_kube_requests",
            "Kubernetes API requests by verb and HTTP status.",
            ["verb", "code"],
            registry=r,
        )
        self.azure_requests = Counter(
            "mlops_operator_azure_requests",
            "Azure Resource Manager requests by operation and HTTP status.",
            ["operation", "code"],
            registry=r,
        )
        self.azure_throttled = Counter(
            "mlops_operator_azure_throttled", "Azure 429 responses, by operation.", ["operation"], registry=r
        )
        self.azure_retry_after = Histogram(
            "mlops_operator_azure_retry_after_seconds",
            "Pauses honoured after Azure throttling (from Retry-After, else the error table's delay).",
            buckets=(1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0),
            registry=r,
        )
        self.azure_operation_duration = Histogram(
            "mlops_operator_azure_operation_duration_seconds",
            "Azure long-running operations from begin to success, by step (compute, deployment, ...).",
            ["step"],
            buckets=OPERATION_BUCKETS,
            registry=r,
        )

    @contextmanager
    def reconcile(self, kind: str) -> Iterator[dict[str, str]]:
        """Time one pass; the body sets `result` ("ok", "requeue", "error", "gone") in the yielded dict."""
        outcome = {"result": "ok"}
        start = time.perf_counter()
        try:
            yield outcome
        except BaseException:
            outcome["result"] = "error"
            raise
        finally:
            result = outcome["result"]
            self.reconciles.labels(kind, result).inc()
            self.reconcile_duration.labels(kind, result).observe(time.perf_counter() - start)

    def kube_request(self, verb: str, status: int) -> None:
        self.kube_requests.labels(verb, str(status)).inc()

    def azure_request(self, operation: str, status: int) -> None:
        self.azure_requests.labels(operation, str(status)).inc()
        if status == 429:
            self.azure_throttled.labels(operation).inc()


def serve(metrics: OperatorMetrics, port: int, address: str = "0.0.0.0") -> Any:
    """Expose /metrics on `port` (0 disables it); returns the server so tests can shut it down."""
    if port <= 0:
        return None
    server, _ = start_http_server(port, address, registry=metrics.registry)
    return server

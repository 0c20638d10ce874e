"""scaleSettings.type metric end to end: real scoring pods on the real node, real requests through the real
Gateway, a real Prometheus scraping them every second, KEDA built from its Go module, and the real HPA
controller deciding. Requests per second above the target scale the ModelDeployment up and, once the load
stops, back down; GPU utilisation does the same from a DCGM-exporter test double (dcgm_stand_in.py), the one
stand-in, since this machine has no GPU. Set MLOPS_AUTOSCALING_TRACE=DIR to keep the runs' traces for
bench/autoscaling_plot.py (docs/autoscaling.md).

Opt-in with KEDA's other tests (MLOPS_KEDA=1, or `make keda`): KEDA's cold build adds about 7 minutes.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from keda.keda_support import (
    KedaProcesses,
    apiservice_available,
    find_keda,
    register_external_metrics_api,
    unregister_external_metrics_api,
)
from native_backend.helpers import wait_condition
from polling import wait_for
from prometheus_server import Prometheus, prometheus_bin

from mlops_operator.devcluster import LocalCluster
from mlops_operator.devcluster.gateway import Traefik
from mlops_operator.devcluster.nodeconfig import NODE_NAME
from mlops_operator.devcluster.process import LOOPBACK
from mlops_operator.kube import Kube
from mlops_operator.render.autoscaling import BUILTIN_SCALING
from mlops_operator.render.prometheus import prometheus_config, scoring_pods_scrape_config

from .dcgm_stand_in import DcgmStandIn
from .load import BoundedLoad, endpoint_callers
from .test_model_deployments_run_real_pods import _deployment, _model_files

pytestmark = [
    pytest.mark.autoscaling,
    pytest.mark.traffic,
    pytest.mark.metrics,
    pytest.mark.skipif(os.environ.get("MLOPS_KEDA") != "1", reason="opt-in with KEDA: MLOPS_KEDA=1 or make keda"),
]
REPO = Path(__file__).resolve().parents[3]
MAX, WINDOW_S = 3, 10
RPS_TARGET, RPS_SENT = 4, 11.0  # per pod; ceil(11 / 4) = 3 pods
GPU_TARGET, GPU_BUSY = 60, 150.0  # percent; 150 % of a GPU's work over 3 pods is 50 % each, under 60
SCALE_TIMEOUT_S = 120.0  # metric window, one or two HPA syncs (15 s), pods starting on the node
LOAD_MAX_S, LOAD_MAX_REQUESTS = 240.0, 4_000
HOLD_S = 5.0  # at the top, so the trace shows the metric settled per pod


@pytest.fixture(scope="module")
def keda_on_real_node(
    real_cluster: LocalCluster, real_kube: Kube, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KedaProcesses]:
    assets = find_keda(REPO)  # builds KEDA on a cold cache (minutes)
    real_cluster.install_crds(assets / "crds")
    processes = KedaProcesses(real_cluster, assets, tmp_path_factory.mktemp("keda")).start()
    with real_cluster.api_client() as api:
        try:
            register_external_metrics_api(api, processes.adapter_port)
            wait_for(lambda: apiservice_available(api)[0] or None, 60, "the external metrics APIService")
            yield processes
        finally:
            unregister_external_metrics_api(api)
            processes.stop()


class Trace:
    """Every second: the load sent, the metric as KEDA's query reads it, and status.replicas."""

    def __init__(self, kube: Kube, namespace: str, prometheus: Prometheus, query: str, load: Callable[[], float]):
        self.kube, self.namespace, self.prometheus, self.query, self.load = kube, namespace, prometheus, query, load
        self.samples: list[dict[str, Any]] = []
        self.marks: dict[str, float] = {}
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def mark(self, what: str) -> None:
        self.marks[what] = time.monotonic() - self.started

    def replicas(self) -> dict[str, Any]:
        body = self.kube.get("mlops.dev/v1alpha1", "ModelDeployment", "blue", self.namespace) or {}
        return dict((body.get("status") or {}).get("replicas") or {})

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            replicas = self.replicas()
            sample = {"t": time.monotonic() - self.started, "load": self.load(), "metric": self._metric()}
            self.samples.append({**sample, "desired": replicas.get("desired"), "ready": replicas.get("ready")})

    def _metric(self) -> float | None:
        try:
            value = self.prometheus.value(self.query)
        except (AssertionError, OSError):
            return None
        return None if value is None or math.isnan(value) else value

    def save(self, name: str, target: float, unit: str) -> None:
        self._stop.set()
        self._thread.join(5)
        if where := os.environ.get("MLOPS_AUTOSCALING_TRACE"):
            Path(where).mkdir(parents=True, exist_ok=True)
            document = {"samples": self.samples, "marks": self.marks, "target": target, "unit": unit, "max": MAX}
            Path(where, f"{name}.json").write_text(json.dumps(document))


def _scaling(metric: str, target: float, prometheus: Prometheus) -> dict[str, Any]:
    return {
        "type": "metric",
        "minInstances": 1,
        "maxInstances": MAX,
        "pollingInterval": 2,
        "metric": {
            "name": metric,
            "target": target,
            "windowSeconds": WINDOW_S,
            "scaleUpStabilizationSeconds": 0,
            "scaleDownStabilizationSeconds": 0,
            "prometheus": {"address": prometheus.url},
        },
    }


def _serve(kube: Kube, namespace: str, scaling: dict[str, Any]) -> None:
    _model_files(kube, namespace)
    kube.create(_deployment(namespace, "blue", scaleSettings=scaling))
    wait_condition(kube, namespace, "blue", "Ready", "True", timeout=240)


def _query(metric: str, namespace: str) -> str:
    template = BUILTIN_SCALING[metric][0]
    values = {"namespace": namespace, "deployment": "blue", "window": f"{WINDOW_S}s"}
    for key, value in values.items():
        template = template.replace("{{" + key + "}}", value)
    return template


def _wait_replicas(trace: Trace, desired: int, what: str) -> None:
    def settled() -> bool:
        replicas = trace.replicas()
        return replicas.get("desired") == desired and replicas.get("ready") == desired

    wait_for(settled, SCALE_TIMEOUT_S, what)


@pytest.fixture(scope="module")
def gpus(real_kube: Kube) -> Iterator[DcgmStandIn]:
    with DcgmStandIn(real_kube, "blue") as stand_in:
        yield stand_in


@pytest.fixture(scope="module")
def scaling_prometheus(
    real_cluster: LocalCluster, gpus: DcgmStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prometheus]:
    """The real Prometheus scraping the scoring pods and the DCGM exporter (its stand-in) every second."""
    pods = scoring_pods_scrape_config(str(real_cluster.kubeconfig_path), NODE_NAME, interval="1s")
    dcgm = {
        "job_name": "dcgm-exporter",
        "scrape_interval": "1s",
        # The exporter's namespace/pod labels name the pod using the GPU: kept, as the GPU operator's
        # ServiceMonitor keeps them (honorLabels).
        "honor_labels": True,
        "static_configs": [{"targets": [f"{LOOPBACK}:{gpus.port}"]}],
    }
    server = Prometheus(prometheus_bin(), tmp_path_factory.mktemp("prometheus"), prometheus_config([pods, dcgm]))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_requests_per_second_scale_real_pods_up_and_back_down(
    keda_on_real_node: KedaProcesses,
    real_kube: Kube,
    real_namespace: str,
    traefik: Traefik,
    scaling_prometheus: Prometheus,
    operator: Callable[[], Any],
) -> None:
    with operator():
        _serve(real_kube, real_namespace, _scaling("requestsPerSecond", RPS_TARGET, scaling_prometheus))
        caller = endpoint_callers(real_kube, real_namespace, traefik)
        wait_for(lambda: caller().call().status == 200, 60, "blue to answer")
        with BoundedLoad(caller, 1, LOAD_MAX_S, LOAD_MAX_REQUESTS, rate=RPS_SENT) as load:
            trace = Trace(
                real_kube, real_namespace, scaling_prometheus, _query("requestsPerSecond", real_namespace), load.rate
            )
            try:
                trace.mark("load")
                _wait_replicas(trace, MAX, f"{MAX} ready pods under {RPS_SENT} req/s")
                trace.mark("scaled up")
                time.sleep(HOLD_S)
                load.stop()
                trace.mark("stopped")
                _wait_replicas(trace, 1, "back to 1 pod after the load")
                trace.mark("scaled down")
                time.sleep(3)
            finally:
                trace.save("requests-per-second", RPS_TARGET, "req/s")
    assert set(load.statuses) == {200}, sorted(set(load.statuses))
    peak = max(s["metric"] or 0.0 for s in trace.samples)
    assert RPS_SENT * 0.8 <= peak <= RPS_SENT * 1.2, peak  # Prometheus saw the load that was sent
    hpa = real_kube.get("autoscaling/v2", "HorizontalPodAutoscaler", "keda-hpa-blue", real_namespace) or {}
    assert hpa["spec"]["maxReplicas"] == MAX
    print(f"rps: up after {trace.marks['scaled up'] - trace.marks['load']:.0f}s, "
          f"down after {trace.marks['scaled down'] - trace.marks['stopped']:.0f}s")  # fmt: skip


def test_gpu_utilization_from_the_dcgm_exporter_scales_real_pods(
    keda_on_real_node: KedaProcesses,
    gpus: DcgmStandIn,
    real_kube: Kube,
    real_namespace: str,
    scaling_prometheus: Prometheus,
    operator: Callable[[], Any],
) -> None:
    gpus.namespace = real_namespace
    with operator():
        _serve(real_kube, real_namespace, _scaling("gpuUtilization", GPU_TARGET, scaling_prometheus))
        trace = Trace(real_kube, real_namespace, scaling_prometheus, _query("gpuUtilization", real_namespace),
                      lambda: gpus.busy)  # fmt: skip
        try:
            wait_for(lambda: scaling_prometheus.value(_query("gpuUtilization", real_namespace)) == 0, 30, "GPU at 0")
            gpus.busy = GPU_BUSY
            trace.mark("load")
            _wait_replicas(trace, MAX, f"{MAX} ready pods for {GPU_BUSY:.0f} % of a GPU's work")
            trace.mark("scaled up")
            time.sleep(HOLD_S)
            gpus.busy = 0.0
            trace.mark("stopped")
            _wait_replicas(trace, 1, "back to 1 pod with the GPUs idle")
            trace.mark("scaled down")
            time.sleep(3)
        finally:
            trace.save("gpu-utilization", GPU_TARGET, "% GPU")
    assert gpus.scrapes > 0
    held = [s["metric"] for s in trace.samples if trace.marks["scaled up"] + 2 <= s["t"] <= trace.marks["stopped"]]
    assert held, trace.samples
    assert held[-1] == pytest.approx(GPU_BUSY / MAX, abs=1), held  # 150 % over 3 GPUs is 50 % each: settled
    print(f"gpu: up after {trace.marks['scaled up'] - trace.marks['load']:.0f}s, "
          f"down after {trace.marks['scaled down'] - trace.marks['stopped']:.0f}s")  # fmt: skip

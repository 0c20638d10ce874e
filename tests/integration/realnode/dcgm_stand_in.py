"""A TEST DOUBLE of the NVIDIA DCGM exporter: there is no GPU on this machine.

It serves `DCGM_FI_DEV_GPU_UTIL` in the exporter's exact exposition (its HELP and TYPE lines, one series per
GPU with the exporter's labels, and the `namespace`/`pod`/`container` labels it adds when it maps GPUs to the
pods holding them), on 127.0.0.1, for a real Prometheus to scrape. One GPU per running pod of the watched
deployment. The GPU work to do (`busy`, in percent of one GPU) is set by the test and shared evenly by the
pods, as a fixed inference load is when more replicas serve it; each GPU reads at most 100 %.
Everything after the scrape (Prometheus, KEDA, the HPA controller) is real.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mlops_operator.devcluster.process import LOOPBACK
from mlops_operator.kube import Kube

HELP = "# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).\n# TYPE DCGM_FI_DEV_GPU_UTIL gauge\n"
MODEL_NAME = "NVIDIA A100 80GB PCIe"  # any model: the exporter names the card in every series


class DcgmStandIn:
    def __init__(self, kube: Kube, deployment: str, container: str = "scoring") -> None:
        self.kube, self.deployment, self.container = kube, deployment, container
        self.namespace: str | None = None  # where the deployment runs; None: no GPU in use, no series
        self.busy = 0.0  # percent of one GPU's worth of work, split over the running pods
        self.scrapes = 0
        self._server = ThreadingHTTPServer((LOOPBACK, 0), self._handler())
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> DcgmStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def running_pods(self) -> list[str]:
        """Pods whose containers run: those the exporter would see holding a GPU."""
        if self.namespace is None:
            return []
        pods = self.kube.list("v1", "Pod", self.namespace, label_selector=f"mlops.dev/deployment={self.deployment}")
        return sorted(p["metadata"]["name"] for p in pods if _running(p))

    def exposition(self) -> str:
        pods = self.running_pods()
        each = min(100.0, self.busy / len(pods)) if pods else 0.0
        lines = [HELP]
        for gpu, pod in enumerate(pods):
            labels = {
                "gpu": str(gpu),
                "UUID": f"GPU-{gpu:08x}-0000-4000-8000-{abs(hash(pod)) % 16**12:012x}",
                "pci_bus_id": f"00000000:{gpu + 1:02X}:00.0",
                "device": f"nvidia{gpu}",
                "modelName": MODEL_NAME,
                "Hostname": "mlops-node",
                "container": self.container,
                "namespace": str(self.namespace),
                "pod": pod,
            }
            rendered = ",".join(f'{key}="{value}"' for key, value in labels.items())
            lines.append(f"DCGM_FI_DEV_GPU_UTIL{{{rendered}}} {each:.0f}\n")
        return "".join(lines)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/metrics":
                    self.send_error(404)
                    return
                body = stand_in.exposition().encode()
                stand_in.scrapes += 1
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def _running(pod: dict[str, Any]) -> bool:
    if pod["metadata"].get("deletionTimestamp"):
        return False
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return bool(statuses) and all("running" in (s.get("state") or {}) for s in statuses)

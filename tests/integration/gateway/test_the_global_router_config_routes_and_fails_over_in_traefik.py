"""The global router's configuration in a real Traefik (file provider), with two loopback HTTP servers as the
regions: what the operator writes is accepted, routes by policy, and fails over on a refused connection.

The regions here are plain servers, so this checks Traefik's side alone, in seconds; the real regions (two
clusters with real nodes and Gateways, and the operator's hysteresis) are tests/integration/realnode's.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from polling import wait_for

from mlops_operator.api.v1alpha1 import GlobalEndpoint
from mlops_operator.backends.native.global_router import TraefikFileRouter
from mlops_operator.backends.routing import Rotation
from mlops_operator.devcluster.process import free_ports
from mlops_operator.render.global_router import RoutedRegion

from .global_router import GlobalRouter

PREFIX = "/api/v1/namespaces/ml/endpoints/churn"
REQUESTS = 200


class Region:
    """A region stand-in on 127.0.0.1: the endpoint's liveness route and /score answering its name."""

    def __init__(self, name: str, port: int) -> None:
        self.name, self.port = name, port
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> Region:
        name = self.name

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(b"ok")

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._answer(name.encode())

            def _answer(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def regions() -> Iterator[dict[str, Region]]:
    east, west = (Region(name, port) for name, port in zip(("eastus", "westus"), free_ports(2), strict=True))
    started = {"eastus": east.start(), "westus": west.start()}
    yield started
    for region in started.values():
        region.stop()


@pytest.fixture
def router(tmp_path: Path) -> Iterator[GlobalRouter]:
    directory = tmp_path / "dynamic"
    directory.mkdir()
    running = GlobalRouter(directory, tmp_path).start()
    yield running
    running.stop()


def apply(router: GlobalRouter, regions: dict[str, Region], policy: str, in_service: set[str]) -> GlobalEndpoint:
    ge = GlobalEndpoint.model_validate(
        {
            "apiVersion": "mlops.dev/v1alpha1",
            "kind": "GlobalEndpoint",
            "metadata": {"name": "churn", "namespace": "ml"},
            "spec": {
                "endpoint": {"name": "churn"},
                "regions": [
                    {"name": "eastus", "cluster": {"kubeconfigSecretRef": {"name": "e"}}, "priority": 1, "weight": 3},
                    {"name": "westus", "cluster": {"kubeconfigSecretRef": {"name": "w"}}, "priority": 2, "weight": 1},
                ],
                "routing": {"type": policy},
                "healthProbe": {"intervalSeconds": 1, "timeoutSeconds": 1},
                "router": {"traefik": {"configPath": str(router.directory / "churn.yaml"), "url": router.url}},
            },
        }
    )
    routed = tuple(
        RoutedRegion(r.name, f"http://127.0.0.1:{regions[r.name].port}", r.priority, r.weight) for r in ge.spec.regions
    )
    result = TraefikFileRouter().apply(ge, Rotation(PREFIX, routed, frozenset(in_service)))
    assert result.settled, result.message
    return ge


def answers(router: GlobalRouter, count: int) -> Counter[str]:
    connection = http.client.HTTPConnection("127.0.0.1", router.port, timeout=5)
    seen: Counter[str] = Counter()
    for _ in range(count):
        try:
            connection.request("POST", PREFIX + "/score", b"{}")
            response = connection.getresponse()
            body = response.read().decode()
            seen[body if response.status == 200 else str(response.status)] += 1
        except (OSError, http.client.HTTPException):
            connection.close()
            seen["refused"] += 1
    connection.close()
    return seen


def settled(router: GlobalRouter, expected: set[str]) -> Counter[str] | None:
    seen = answers(router, 20)
    return seen if set(seen) == expected else None


def test_priority_sends_everything_to_the_first_tier_and_fails_over_on_a_refused_connection(
    router: GlobalRouter, regions: dict[str, Region]
) -> None:
    apply(router, regions, "priority", {"eastus", "westus"})
    wait_for(lambda: settled(router, {"eastus"}), 30, "the route in Traefik")
    assert answers(router, REQUESTS) == Counter({"eastus": REQUESTS})
    regions["eastus"].stop()
    started = time.monotonic()
    during = answers(router, REQUESTS)
    # The passive check marks eastus down on its first refused connection, and the retry middleware sends
    # that same request again: not one request fails.
    assert during == Counter({"westus": REQUESTS}), during
    regions["eastus"].start()  # the active probe (every 1 s) brings it back
    wait_for(lambda: settled(router, {"eastus"}), 30, "eastus back after its probe passes")
    print(f"failover: {dict(during)}; eastus back {time.monotonic() - started:.1f}s after the stop")


def test_weighted_splits_by_weight_and_a_region_out_of_service_gets_nothing(
    router: GlobalRouter, regions: dict[str, Region]
) -> None:
    apply(router, regions, "weighted", {"eastus", "westus"})
    wait_for(lambda: settled(router, {"eastus", "westus"}), 30, "the route in Traefik")
    split = answers(router, 400)
    assert split["eastus"] + split["westus"] == 400
    assert 250 <= split["eastus"] <= 350, split  # weights 3:1
    apply(router, regions, "weighted", {"westus"})  # the operator took eastus out
    wait_for(lambda: settled(router, {"westus"}), 30, "eastus removed from the file")
    assert answers(router, REQUESTS) == Counter({"westus": REQUESTS})


def test_latency_balances_over_every_region_by_least_time(router: GlobalRouter, regions: dict[str, Region]) -> None:
    apply(router, regions, "latency", {"eastus", "westus"})
    seen = wait_for(lambda: settled(router, {"eastus", "westus"}), 30, "both regions answering")
    assert seen

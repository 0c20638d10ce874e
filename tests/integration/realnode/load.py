"""Bounded load through the real Gateway for the real-node tests: keep-alive callers of an endpoint's /score,
each one request at a time, stopped by the test or by their time and count limits, whichever comes first."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable

from gateway.traffic import Caller

from mlops_operator.devcluster.gateway import Traefik
from mlops_operator.kube import Kube

# One row of the diabetes example's ten scaled features.
DIABETES_ROW = json.dumps({"data": [[0.03, 0.05, 0.06, 0.02, -0.04, -0.03, -0.04, 0.0, 0.02, -0.02]]}).encode()


def endpoint_callers(
    kube: Kube, namespace: str, traefik: Traefik, endpoint: str = "diabetes", body: bytes = DIABETES_ROW
) -> Callable[[], Caller]:
    """A factory of callers of `endpoint` through the Gateway, with its primary key from the keys Secret."""
    secret = kube.get("v1", "Secret", f"{endpoint}-endpoint-keys", namespace) or {}
    key = base64.b64decode(secret["data"]["primaryKey"]).decode()
    return lambda: Caller(traefik.web_port, namespace, endpoint, key=key, body=body)


class BoundedLoad:
    """`callers` threads, each answer kept as (monotonic time, status).

    `body` picks each request's body from the caller's count of requests sent (None: the caller's own);
    `rate` paces each caller to that many requests per second (None: as fast as answers come back).
    """

    def __init__(
        self,
        factory: Callable[[], Caller],
        callers: int,
        max_seconds: float,
        max_requests: int,
        body: Callable[[int], bytes | None] = lambda sent: None,
        rate: float | None = None,
    ) -> None:
        self.answers: list[tuple[float, int]] = []
        self._body, self._interval = body, (1.0 / rate if rate else 0.0)
        self._limits = (time.monotonic() + max_seconds, max_requests)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(factory(),), daemon=True) for _ in range(callers)]

    @property
    def statuses(self) -> list[int]:
        return [status for _, status in self.answers]

    def rate(self, over: float = 1.0) -> float:
        """Answers per second over the last `over` seconds."""
        now = time.monotonic()
        return sum(1 for t, _ in self.answers[-1000:] if now - t <= over) / over

    def _run(self, caller: Caller) -> None:
        deadline, limit = self._limits
        sent, next_at = 0, time.monotonic()
        try:
            while not self._stop.is_set() and time.monotonic() < deadline and len(self.answers) < limit:
                status = caller.call(body=self._body(sent)).status
                self.answers.append((time.monotonic(), status))
                sent, next_at = sent + 1, next_at + self._interval
                if self._interval:
                    self._stop.wait(max(0.0, next_at - time.monotonic()))
        finally:
            caller.close()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)

    def __enter__(self) -> BoundedLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

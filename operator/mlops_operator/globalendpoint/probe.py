"""The operator's own probe of a region: the regional endpoint's liveness route through its Gateway.

It feeds the hysteresis (when a region leaves and rejoins the router's configuration); the router's own
checks decide request by request. Front Door probes from its edges by itself, so it gets no probe here.
"""

from __future__ import annotations

import http.client
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    latency_ms: int | None
    message: str


def probe(url: str, method: str, timeout: float) -> ProbeResult:
    """One request; healthy on a 2xx (Front Door's and Traefik's rule: redirects are not followed)."""
    parts = urlsplit(url)
    factory = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = factory(parts.netloc, timeout=timeout)
    started = time.monotonic()
    try:
        connection.request(method, parts.path or "/")
        response = connection.getresponse()
        response.read()
    except (OSError, http.client.HTTPException) as exc:
        return ProbeResult(False, None, f"probe {method} {url}: {type(exc).__name__}: {exc}")
    finally:
        connection.close()
    latency = round((time.monotonic() - started) * 1000)
    if 200 <= response.status < 300:
        return ProbeResult(True, latency, "")
    return ProbeResult(False, latency, f"probe {method} {url}: HTTP {response.status}")


def probe_all(urls: dict[str, str], method: str, timeout: float) -> dict[str, ProbeResult]:
    """Every region at once, so a slow one delays the pass by one timeout, not by one per region."""
    if not urls:
        return {}
    with ThreadPoolExecutor(max_workers=min(len(urls), 8), thread_name_prefix="probe") as pool:
        futures = {name: pool.submit(probe, url, method, timeout) for name, url in urls.items()}
        return {name: future.result() for name, future in futures.items()}

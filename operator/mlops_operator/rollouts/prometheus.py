"""Metric providers behind one small interface, and the Prometheus HTTP API one.

A provider answers one PromQL expression with one number, or None when the expression selects nothing.
An Azure Monitor provider would implement the same `query` with the Log Analytics / Metrics query API
(azure-monitor-query's `MetricsQueryClient` over the endpoint's resource id, or a Prometheus-compatible
Azure Monitor workspace through this class with an AAD bearer token): see docs/rollouts.md.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from typing import Protocol


class ProviderError(Exception):
    """The provider could not answer (unreachable, refused, or an invalid query)."""


class MetricProvider(Protocol):
    def query(self, expression: str) -> float | None:
        """The expression's value now; None when it selects no series (or NaN, e.g. 0/0)."""
        ...


class PrometheusProvider:
    """The Prometheus HTTP API (`/api/v1/query`): Prometheus itself, Thanos, Mimir, Azure Managed Prometheus."""

    def __init__(self, address: str, timeout: float = 5.0) -> None:
        self.address = address.rstrip("/")
        self._timeout = timeout

    def query(self, expression: str) -> float | None:
        return _single_value(self._get(expression))

    def series(self, expression: str) -> list[tuple[dict[str, str], float]]:
        """Every series of an instant vector, with its labels (NaN values dropped)."""
        data = _data(self._get(expression))
        result = data.get("result")
        if data.get("resultType") != "vector" or not isinstance(result, list):
            raise ProviderError(f"the query returned a {data.get('resultType')}; expected an instant vector")
        found = [(dict(item["metric"]), float(item["value"][1])) for item in result]
        return [(labels, value) for labels, value in found if not math.isnan(value)]

    def _get(self, expression: str) -> dict[str, object]:
        url = f"{self.address}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
        try:
            with urllib.request.urlopen(url, timeout=self._timeout) as response:
                body = json.load(response)
        except urllib.error.HTTPError as exc:
            raise ProviderError(f"Prometheus {self.address} answered {exc.code}: {_error_of(exc)}") from exc
        except (OSError, ValueError) as exc:
            raise ProviderError(f"Prometheus {self.address} unreachable: {exc}") from exc
        if not isinstance(body, dict):
            raise ProviderError(f"Prometheus answered {str(body)[:300]}")
        return body


def _error_of(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.load(exc).get("error", ""))[:300]
    except (OSError, ValueError):
        return exc.reason if isinstance(exc.reason, str) else ""


def _data(body: dict[str, object]) -> dict[str, object]:
    data = body.get("data")
    if body.get("status") != "success" or not isinstance(data, dict):
        raise ProviderError(f"Prometheus answered {str(body)[:300]}")
    return data


def _single_value(body: dict[str, object]) -> float | None:
    data = _data(body)
    result, kind = data.get("result"), data.get("resultType")
    if kind == "scalar" and isinstance(result, list):
        value = float(result[1])
    elif kind == "vector" and isinstance(result, list):
        if not result:
            return None
        if len(result) > 1:
            raise ProviderError(f"the query returned {len(result)} series; aggregate it to one (e.g. with sum)")
        value = float(result[0]["value"][1])
    else:
        raise ProviderError(f"the query returned a {kind}; a gate needs one number (an instant vector or scalar)")
    return None if math.isnan(value) else value

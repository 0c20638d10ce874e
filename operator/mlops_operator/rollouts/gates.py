"""Metric gates: the PromQL each one runs and the verdict on its value."""

from __future__ import annotations

from dataclasses import dataclass

from mlops_operator.api.v1alpha1.rollout import GateResult, MetricGate
from mlops_operator.rollouts.prometheus import MetricProvider, ProviderError

# The scoring server's metrics, as Prometheus labels them from the pods (render/prometheus.py).
_PODS = 'namespace="{{namespace}}", deployment="{{deployment}}"'
_SELECTOR = _PODS + ', route="score"'  # the request counter has a route label; the /score histograms do not
BUILTIN_QUERIES = {
    "errorRatio": (
        f'(sum(rate(mlops_scoring_requests_total{{{_SELECTOR}, code="5xx"}}[{{{{window}}}}])) or vector(0))'
        f" / sum(rate(mlops_scoring_requests_total{{{_SELECTOR}}}[{{{{window}}}}]))"
    ),
    "p99LatencyMs": (
        "1000 * histogram_quantile(0.99, sum by (le) "
        f"(rate(mlops_scoring_request_duration_seconds_bucket{{{_PODS}}}[{{{{window}}}}])))"
    ),
    "p95LatencyMs": (
        "1000 * histogram_quantile(0.95, sum by (le) "
        f"(rate(mlops_scoring_request_duration_seconds_bucket{{{_PODS}}}[{{{{window}}}}])))"
    ),
    "requestsPerSecond": f"sum(rate(mlops_scoring_requests_total{{{_SELECTOR}}}[{{{{window}}}}]))",
}


@dataclass(frozen=True)
class Subjects:
    """What the placeholders of a query stand for."""

    namespace: str
    endpoint: str
    candidate: str
    baseline: str
    window_seconds: int


def expression(gate: MetricGate, subjects: Subjects, deployment: str) -> str:
    """The gate's PromQL for one deployment (the candidate, or the baseline of a relative gate)."""
    template = BUILTIN_QUERIES[gate.metric] if gate.metric else str(gate.query)
    values = {
        "deployment": deployment,
        "candidate": subjects.candidate,
        "baseline": subjects.baseline,
        "namespace": subjects.namespace,
        "endpoint": subjects.endpoint,
        "window": f"{subjects.window_seconds}s",
    }
    for key, value in values.items():
        template = template.replace("{{" + key + "}}", value)
    return template


def check(gate: MetricGate, provider: MetricProvider, subjects: Subjects) -> GateResult:
    """Run one gate: Pass, Fail, NoData (no series: no evidence, so not a pass) or Error."""
    threshold = describe_threshold(gate)
    try:
        value = provider.query(expression(gate, subjects, subjects.candidate))
        baseline = None
        if gate.max_relative_to_baseline is not None and value is not None:
            baseline = provider.query(expression(gate, subjects, subjects.baseline))
    except ProviderError as exc:
        return GateResult(name=gate.name, verdict="Error", threshold=threshold, message=str(exc)[:500])
    if value is None or (gate.max_relative_to_baseline is not None and baseline is None):
        who = subjects.candidate if value is None else subjects.baseline
        message = f"no samples for {who} over {subjects.window_seconds}s (no requests, or not scraped yet)"
        return GateResult(name=gate.name, verdict="NoData", value=value, threshold=threshold, message=message)
    ok = _within(gate, value, baseline)
    return GateResult(
        name=gate.name, verdict="Pass" if ok else "Fail", value=value, baseline_value=baseline, threshold=threshold
    )


def _within(gate: MetricGate, value: float, baseline: float | None) -> bool:
    if gate.max is not None and value > gate.max:
        return False
    if gate.min is not None and value < gate.min:
        return False
    if gate.max_relative_to_baseline is not None and baseline is not None:
        return value <= gate.max_relative_to_baseline * baseline
    return True


def describe_threshold(gate: MetricGate) -> str:
    parts = []
    if gate.max is not None:
        parts.append(f"<= {gate.max:g}")
    if gate.min is not None:
        parts.append(f">= {gate.min:g}")
    if gate.max_relative_to_baseline is not None:
        parts.append(f"<= {gate.max_relative_to_baseline:g} x baseline")
    return " and ".join(parts)


def summary(results: list[GateResult]) -> str:
    """`error-ratio=0.21 (<= 0.05) Fail, p99=120 (<= 500) Pass` for messages and Events."""
    return ", ".join(f"{r.name}={_shown(r.value)} ({r.threshold}) {r.verdict}" for r in results)


def _shown(value: float | None) -> str:
    return "none" if value is None else f"{value:.4g}"

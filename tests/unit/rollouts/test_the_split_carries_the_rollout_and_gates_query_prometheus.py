"""The traffic a rollout puts in force, and the gates' queries and verdicts."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from exposition import exported_labels, unexported_selectors

from mlops_operator.api.v1alpha1 import ModelDeploymentSpec
from mlops_operator.api.v1alpha1.rollout import MetricGate, RolloutStatus
from mlops_operator.render.rollout_traffic import MemberTraffic, effective_split, rollout_revision
from mlops_operator.rollouts.gates import BUILTIN_QUERIES, Subjects, check, expression
from mlops_operator.rollouts.prometheus import PrometheusProvider, ProviderError

BASE = {"platformRef": {"name": "p"}, "endpoint": {"name": "diabetes"}, "model": {"name": "m", "version": "1"}}
ROLLOUT = {"baseline": "blue", "steps": [{"traffic": 10}, {"traffic": 50}]}
SUBJECTS = Subjects("models", "diabetes", "green", "blue", 30)


def spec(**fields: Any) -> ModelDeploymentSpec:
    return ModelDeploymentSpec.model_validate({**BASE, **fields})


def status(candidate: ModelDeploymentSpec, phase: str, traffic: int) -> RolloutStatus:
    return RolloutStatus(phase=phase, revision=rollout_revision(candidate), baseline="blue", traffic=traffic)  # type: ignore[arg-type]


def test_the_baseline_carries_what_the_candidate_does_not_have_yet() -> None:
    green = spec(traffic=100, rollout=ROLLOUT)
    blue = MemberTraffic("blue", spec(traffic=0), None, 100)
    at_10 = MemberTraffic("green", green, status(green, "Progressing", 10), 0)
    assert effective_split([blue, at_10]) == {"blue": 90, "green": 10}
    rolled_back = MemberTraffic("green", green, status(green, "RolledBack", 0), 10)
    assert effective_split([blue, rolled_back]) == {"blue": 100, "green": 0}
    done = MemberTraffic("green", green, status(green, "Succeeded", 100), 100)
    assert effective_split([blue, done]) == {"blue": 0, "green": 100}


def test_a_new_candidate_gets_nothing_until_its_rollout_starts_and_a_new_revision_starts_at_zero() -> None:
    green = spec(traffic=100, rollout=ROLLOUT)
    blue = MemberTraffic("blue", spec(traffic=0), None, 100)
    assert effective_split([blue, MemberTraffic("green", green, None, 0)]) == {"blue": 100, "green": 0}
    old = status(green, "Succeeded", 100)
    changed = spec(traffic=100, rollout=ROLLOUT, model={"name": "m", "version": "2"})
    assert effective_split([blue, MemberTraffic("green", changed, old, 100)]) == {"blue": 100, "green": 0}


def test_traffic_and_rollout_settings_are_not_part_of_the_revision() -> None:
    assert rollout_revision(spec(traffic=100, rollout=ROLLOUT)) == rollout_revision(spec(traffic=50))
    assert rollout_revision(spec(traffic=100)) != rollout_revision(spec(traffic=100, instanceCount=2))


def test_builtin_and_custom_queries_name_the_measured_deployment() -> None:
    errors = expression(MetricGate(name="e", metric="errorRatio", max=0.05), SUBJECTS, "green")
    assert 'deployment="green"' in errors
    assert 'namespace="models"' in errors
    assert "[30s]" in errors
    custom = MetricGate(name="c", query='sum(rate(x{d="{{deployment}}", e="{{endpoint}}"}[{{window}}]))', max=1)
    assert expression(custom, SUBJECTS, "blue") == 'sum(rate(x{d="blue", e="diabetes"}[30s]))'


def test_gates_compare_with_absolute_and_relative_thresholds() -> None:
    values = {"green": 300.0, "blue": 100.0}

    class Fake:
        def query(self, expression: str) -> float | None:
            return next((v for k, v in values.items() if f'deployment="{k}"' in expression), None)

    slow = MetricGate(name="p99", metric="p99LatencyMs", max_relative_to_baseline=2)
    result = check(slow, Fake(), SUBJECTS)
    assert (result.verdict, result.value, result.baseline_value, result.threshold) == (
        "Fail",
        300,
        100,
        "<= 2 x baseline",
    )
    assert check(MetricGate(name="p99", metric="p99LatencyMs", max=500), Fake(), SUBJECTS).verdict == "Pass"
    assert check(MetricGate(name="rps", metric="requestsPerSecond", min=1000), Fake(), SUBJECTS).verdict == "Fail"
    values.clear()
    assert check(slow, Fake(), SUBJECTS).verdict == "NoData"


def test_a_gate_needs_one_source_and_a_threshold() -> None:
    with pytest.raises(ValueError, match="either metric"):
        MetricGate(name="x", metric="errorRatio", query="up", max=1)
    with pytest.raises(ValueError, match="set a threshold"):
        MetricGate(name="x", metric="errorRatio")


class _Answers(BaseHTTPRequestHandler):
    answers: dict[str, tuple[int, dict[str, Any]]] = {}

    def do_GET(self) -> None:
        from urllib.parse import parse_qs, urlparse

        query = parse_qs(urlparse(self.path).query)["query"][0]
        code, body = self.answers[query]
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def prometheus_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_prometheus_provider_reads_instant_vectors_scalars_and_errors(prometheus_api: str) -> None:
    def vector(*values: str) -> dict[str, Any]:
        result = [{"metric": {}, "value": [0, v]} for v in values]
        return {"status": "success", "data": {"resultType": "vector", "result": result}}

    _Answers.answers = {
        "one": (200, vector("0.25")),
        "none": (200, vector()),
        "nan": (200, vector("NaN")),
        "two": (200, vector("1", "2")),
        "scalar": (200, {"status": "success", "data": {"resultType": "scalar", "result": [0, "3"]}}),
        "bad": (400, {"status": "error", "error": "parse error at char 3"}),
    }
    provider = PrometheusProvider(prometheus_api)
    assert provider.query("one") == 0.25
    assert provider.query("scalar") == 3.0
    assert provider.query("none") is None
    assert provider.query("nan") is None
    with pytest.raises(ProviderError, match="2 series"):
        provider.query("two")
    with pytest.raises(ProviderError, match="400: parse error at char 3"):
        provider.query("bad")
    with pytest.raises(ProviderError, match="unreachable"):
        PrometheusProvider("http://127.0.0.1:9", timeout=1).query("one")


def test_builtin_gates_select_series_the_scoring_server_exports() -> None:
    """Each built-in's metric names and its server-side labels (route, code) match the exposition; the
    namespace/deployment labels come from the pods (render/prometheus.py), not from the server."""
    exported = exported_labels()
    for metric, query in BUILTIN_QUERIES.items():
        assert unexported_selectors(query, exported) == [], metric

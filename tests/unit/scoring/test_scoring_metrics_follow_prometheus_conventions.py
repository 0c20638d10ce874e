"""The scoring server's /metrics parses as Prometheus text, uses base units and suffixes, and carries no
deployment or endpoint label (the scrape config adds those from pod labels)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from mlops_operator.scoring.metrics import ROUTE_INDEX, MetricsBlock

PAYLOAD_BYTES = 2_000_000


def rendered() -> dict[tuple[str, str], float]:
    """(sample name, its `le` or "") -> value, parsed by prometheus-client's own text parser."""
    block = MetricsBlock(2)
    first, second = block.recorder(0), block.recorder(1)
    first.request(ROUTE_INDEX["score"], 200, 0.002)
    first.queue(0.0004)
    first.payload(PAYLOAD_BYTES)
    second.model_load(3.0)
    second.model_load(0.2)
    families = list(text_string_to_metric_families(block.render().decode()))
    return {(s.name, s.labels.get("le", "")): s.value for family in families for s in family.samples}


def label_names() -> set[str]:
    block = MetricsBlock(1)
    block.recorder(0).request(ROUTE_INDEX["score"], 200, 0.002)
    families = text_string_to_metric_families(block.render().decode())
    return {name for family in families for sample in family.samples for name in sample.labels}


def test_queue_wait_payload_and_model_load_are_histograms_in_seconds_and_bytes() -> None:
    samples = rendered()

    assert samples[("mlops_scoring_queue_wait_seconds_count", "")] == 1
    assert samples[("mlops_scoring_request_payload_bytes_sum", "")] == PAYLOAD_BYTES
    assert samples[("mlops_scoring_request_payload_bytes_bucket", "4194304")] == 1
    assert samples[("mlops_scoring_request_payload_bytes_bucket", "1048576")] == 0
    assert samples[("mlops_scoring_model_load_seconds_count", "")] == 2
    assert samples[("mlops_scoring_model_load_seconds_bucket", "0.5")] == 1


def test_no_series_names_the_deployment_or_the_endpoint() -> None:
    assert label_names() <= {"route", "code", "le"}

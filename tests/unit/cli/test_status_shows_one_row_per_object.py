"""`mlopsctl status` (and `mlopsctl dev`) print one row per object from one implementation."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

import pytest

from mlops_operator.cli import resources as res
from mlops_operator.cli.status import format_items

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def deployment(
    name: str = "blue", generation: int = 2, observed: int | None = 2, ready: str = "True"
) -> dict[str, Any]:
    return {
        "kind": "ModelDeployment",
        "metadata": {
            "name": name,
            "namespace": "models",
            "generation": generation,
            "creationTimestamp": "2026-12-01T11:55:00Z",
        },
        "spec": {"endpoint": {"name": "diabetes"}, "traffic": 90},
        "status": {
            "observedGeneration": observed,
            "conditions": [{"type": "Ready", "status": ready, "reason": "Ready" if ready == "True" else "Rolling"}],
            "traffic": {"blue": 90, "green": 10},
            "replicas": {"desired": 2, "ready": 1, "updated": 2},
            "scoringUri": "http://127.0.0.1:8000/api/v1/namespaces/models/endpoints/diabetes/score",
        },
    }


PLATFORM = {
    "kind": "MLOpsPlatform",
    "metadata": {"name": "local", "generation": 1, "creationTimestamp": "2026-11-28T12:00:00Z"},
    "spec": {"backend": "native"},
    "status": {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True", "reason": "Ready"}]},
}


def test_the_table_has_ready_reason_traffic_replicas_uri_and_age() -> None:
    lines = format_items([PLATFORM, deployment()], "table", NOW).splitlines()
    assert lines[0].split() == [
        "KIND", "NAMESPACE", "NAME", "READY", "REASON", "ENDPOINT/BACKEND", "TRAFFIC", "REPLICAS",
        "SCORING", "URI", "AGE",
    ]  # fmt: skip
    assert lines[1].split() == ["MLOpsPlatform", "-", "local", "True", "Ready", "native", "-", "-", "-", "3d"]
    assert lines[2].split() == [
        "ModelDeployment", "models", "blue", "True", "Ready", "diabetes", "90%", "1/2",
        "http://127.0.0.1:8000/api/v1/namespaces/models/endpoints/diabetes/score", "5m",
    ]  # fmt: skip


def test_a_status_for_an_older_generation_reads_unknown_not_observed_yet() -> None:
    row = res.summary(deployment(generation=3, observed=2), NOW)
    assert (row["ready"], row["reason"]) == ("Unknown", "NotObservedYet")
    assert not res.is_ready(deployment(generation=3, observed=2))
    assert res.is_ready(deployment())


def test_json_output_is_the_same_rows_as_objects() -> None:
    rows = json.loads(format_items([deployment()], "json", NOW))
    assert rows == [
        {
            "kind": "ModelDeployment",
            "namespace": "models",
            "name": "blue",
            "ready": "True",
            "reason": "Ready",
            "message": "",
            "endpoint": "diabetes",
            "backend": None,
            "traffic": 90,
            "replicas": {"ready": 1, "desired": 2},
            "scoringUri": "http://127.0.0.1:8000/api/v1/namespaces/models/endpoints/diabetes/score",
            "generation": 2,
            "observedGeneration": 2,
            "age": "5m",
        }
    ]


def test_yaml_output_parses_back_to_the_json_rows() -> None:
    import yaml

    assert yaml.safe_load(format_items([deployment()], "yaml", NOW)) == json.loads(
        format_items([deployment()], "json", NOW)
    )


@pytest.mark.parametrize(
    ("seconds", "shown"), [(5, "5s"), (90, "1m"), (3599, "59m"), (7200, "2h"), (3 * 86400, "3d"), (-3, "0s")]
)
def test_age_is_kubectls_short_form(seconds: int, shown: str) -> None:
    created = (NOW - dt.timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")
    assert res.age(created, NOW) == shown


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("mdep/blue", res.Ref("ModelDeployment", "blue")),
        ("modeldeployment/blue", res.Ref("ModelDeployment", "blue")),
        ("mlp/local", res.Ref("MLOpsPlatform", "local")),
        ("mdep", res.Ref("ModelDeployment")),
    ],
)
def test_kind_slash_name_accepts_kubectls_short_names(text: str, ref: res.Ref) -> None:
    assert res.parse_ref(text) == ref


@pytest.mark.parametrize("text", ["pod/blue", "mdep/Blue_1"])
def test_unknown_kinds_and_invalid_names_are_usage_errors(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        res.parse_ref(text)


def test_wait_and_smoke_take_a_bare_name_as_a_model_deployment() -> None:
    assert res.deployment_ref("blue") == res.Ref("ModelDeployment", "blue")
    with pytest.raises(argparse.ArgumentTypeError):
        res.deployment_ref("mlp/local")


class FakeKube:
    """Answers `get` and `list` from a fixed set of objects, as the API server would."""

    def __init__(self, *items: dict[str, Any]) -> None:
        self.items = items
        self.lists = 0

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        del api_version
        return next((i for i in self.items if i["kind"] == kind and i["metadata"]["name"] == name), None)

    def list(self, api_version: str, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        del api_version
        self.lists += 1
        return [{k: v for k, v in i.items() if k != "kind"} for i in self.items if i["kind"] == kind]


def run_status(monkeypatch: pytest.MonkeyPatch, kube: FakeKube, *argv: str) -> int:
    from mlops_operator.cli.main import main

    monkeypatch.setattr(res, "connect", lambda kubeconfig: kube)
    return main(["status", *argv])


def test_a_named_object_that_does_not_exist_exits_4(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_status(monkeypatch, FakeKube(PLATFORM), "mdep/ghost") == 4
    assert capsys.readouterr().err == "error: ModelDeployment ghost not found\n"


def test_listed_objects_get_their_kind_back_although_list_responses_omit_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_status(monkeypatch, FakeKube(PLATFORM, deployment()), "-o", "json") == 0
    assert [row["kind"] for row in json.loads(capsys.readouterr().out)] == ["MLOpsPlatform", "ModelDeployment"]


def test_watch_prints_once_while_nothing_changes_and_stops_at_its_timeout(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("mlops_operator.cli.status.WATCH_PERIOD_S", 0.01)
    kube = FakeKube(deployment())
    assert run_status(monkeypatch, kube, "mdep", "--watch", "--timeout", "0.2", "-o", "json") == 0
    assert kube.lists > 2
    assert capsys.readouterr().out.count('"name": "blue"') == 1

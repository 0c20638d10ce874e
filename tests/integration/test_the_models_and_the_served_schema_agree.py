"""Property: for generated ModelDeployments, valid and invalid alike, the pydantic models and the CRD schema
served by the real API server (server-side dry-run create) give the same verdict.

The strategies range over the fields with known limits, just inside and just outside them. A disagreement
is a bug in the model or in CRD generation; fix it and add the example to tests/corpus/bad_input/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from bad_input import BASE, merge
from mlops_operator.api.problems import InvalidResourceError, parse_resource
from mlops_operator.devcluster import LocalCluster

CRD_DIR = Path(__file__).resolve().parents[2] / "crds"
NAME_ALPHABET = "abcz019-A_."
ENV_ALPHABET = "AZ_az09.-=; $1"


@pytest.fixture(scope="module")
def our_crds(cluster: LocalCluster) -> list[str]:
    return cluster.install_crds(CRD_DIR)


def around(low: int, high: int) -> st.SearchStrategy[int]:
    """Mostly at and just past the limits, sometimes anywhere between."""
    return st.one_of(st.sampled_from([low - 1, low, high, high + 1]), st.integers(low, high))


names = st.text(NAME_ALPHABET, min_size=1, max_size=40)
env_names = st.text(ENV_ALPHABET, min_size=1, max_size=8)
scale = st.fixed_dictionaries(
    {"type": st.sampled_from(["default", "targetUtilization"])},
    optional={
        "minInstances": around(0, 1000),
        "maxInstances": around(1, 1000),
        "targetUtilizationPercentage": around(1, 100),
        "pollingInterval": around(1, 3600),
    },
)
probe = st.fixed_dictionaries(
    {},
    optional={
        "initialDelay": around(0, 3600),
        "period": around(1, 3600),
        "timeout": around(1, 3600),
        "successThreshold": around(1, 100),
        "failureThreshold": around(1, 1000),
    },
)
requests = st.fixed_dictionaries(
    {},
    optional={
        "requestTimeoutMs": around(1, 300000),
        "maxConcurrentRequestsPerInstance": around(1, 1000),
        "maxQueueWaitMs": around(0, 300000),
    },
)
scripts = st.sampled_from(["score.py", "src/score.py", "/score.py", "../score.py", "a/../../b.py", "a..b.py", "s.txt"])
specs = st.fixed_dictionaries(
    {"endpoint": st.fixed_dictionaries({"name": names})},
    optional={
        "traffic": around(0, 100),
        "mirrorTraffic": around(0, 50),
        "instanceCount": around(0, 1000),
        "scaleSettings": scale,
        "livenessProbe": probe,
        "readinessProbe": probe,
        "requestSettings": requests,
        "code": st.fixed_dictionaries({"scoringScript": scripts}),
        "environmentVariables": st.dictionaries(
            st.text(ENV_ALPHABET, min_size=1, max_size=8), st.just("v"), max_size=3
        ),
        "instanceType": st.text(NAME_ALPHABET, min_size=1, max_size=64),
    },
)
deployments = st.fixed_dictionaries({"metadata": st.fixed_dictionaries({"name": names}), "spec": specs})


def pydantic_accepts(body: dict[str, Any]) -> bool:
    try:
        parse_resource(body)
    except InvalidResourceError:
        return False
    return True


def server_accepts(api: client.ApiClient, namespace: str, body: dict[str, Any]) -> tuple[bool, str]:
    try:
        client.CustomObjectsApi(api).create_namespaced_custom_object(
            "mlops.dev", "v1alpha1", namespace, "modeldeployments", body, dry_run="All", field_validation="Strict"
        )
    except ApiException as refused:
        if refused.status not in (400, 422):
            raise
        return False, str(json.loads(refused.body)["message"])
    return True, ""


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(patch=deployments)
def test_pydantic_and_the_api_server_agree_on_what_is_valid(
    our_crds: list[str], kube_api: client.ApiClient, namespace: str, patch: dict[str, Any]
) -> None:
    body = merge(BASE["ModelDeployment"], patch)

    server, message = server_accepts(kube_api, namespace, body)

    assert pydantic_accepts(body) == server, message or "the API server accepts it"

"""Every `admission` case of the bad input corpus is refused by the real API server, naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from bad_input import Case, load_cases, manifest
from mlops_operator.devcluster import LocalCluster

CRD_DIR = Path(__file__).resolve().parents[2] / "crds"
GROUP, VERSION = "mlops.dev", "v1alpha1"
CASES = load_cases("admission")


@pytest.fixture(scope="module")
def our_crds(cluster: LocalCluster) -> list[str]:
    return cluster.install_crds(CRD_DIR)


def dry_run_create(api: client.ApiClient, namespace: str, case: Case) -> None:
    """Server-side dry-run create with strict field validation, as `kubectl apply --validate=strict` sends."""
    objects = client.CustomObjectsApi(api)
    body = manifest(case)
    options = {"dry_run": "All", "field_validation": "Strict"}
    if case.kind == "MLOpsPlatform":
        objects.create_cluster_custom_object(GROUP, VERSION, "mlopsplatforms", body, **options)
    else:
        objects.create_namespaced_custom_object(GROUP, VERSION, namespace, "modeldeployments", body, **options)


def test_the_corpus_has_at_least_50_cases() -> None:
    assert len(load_cases()) >= 50


def test_the_base_manifests_are_accepted(our_crds: list[str], kube_api: client.ApiClient, namespace: str) -> None:
    for kind in ("ModelDeployment", "MLOpsPlatform"):
        dry_run_create(kube_api, namespace, Case("base", "good", "", {"at": "none"}, kind=kind))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_bad_object_is_refused_naming_the_field(
    our_crds: list[str], kube_api: client.ApiClient, namespace: str, case: Case
) -> None:
    with pytest.raises(ApiException) as refused:
        dry_run_create(kube_api, namespace, case)

    message = json.loads(refused.value.body)["message"]
    assert refused.value.status in (400, 422), message
    assert case.refused["field"] in message
    assert case.refused["message"] in message

"""The `status` cases of the bad input corpus, all at once beside a good deployment in the same namespace:
each bad one is reported with its stable reason, the good one still becomes Ready, the operator survives
(the `operator` fixture asserts `runner.exception is None` once it has stopped)."""

from __future__ import annotations

from typing import Any

from kopf.testing import KopfRunner
from polling import wait_for

from bad_input import BASE, Case, load_cases, manifest
from mlops_operator.kube import Kube

from .helpers import condition, create_model_files

CASES = load_cases("status")


def objects_of(case: Case, namespace: str) -> list[dict[str, Any]]:
    """The case's deployments, on an endpoint of their own (named after the case) so they share it only
    with each other."""
    bodies = []
    for patch in (case.patch, *case.companions):
        body = manifest(case, patch)
        body["metadata"] = {"name": patch.get("metadata", {}).get("name", case.name), "namespace": namespace}
        body["spec"]["endpoint"] = {"name": case.name}
        bodies.append(body)
    return bodies


def verdicts(kube: Kube, namespace: str, wanted: dict[str, tuple[str, str, str]]) -> dict[str, tuple[str, str]]:
    """For each deployment, the (status, reason) of the condition it is judged by."""
    seen = {}
    for name, (type_, _, _) in wanted.items():
        found = condition(kube, namespace, name, type_) or {}
        seen[name] = (found.get("status", ""), found.get("reason", ""))
    return seen


def test_each_bad_reference_gets_its_reason_and_the_good_deployment_is_ready(
    operator: KopfRunner, kube: Kube, namespace: str
) -> None:
    create_model_files(kube, namespace)
    wanted = {"corpus-good": ("Ready", "True", "Ready")}
    for case in CASES:
        for body in objects_of(case, namespace):
            kube.create(body)
            wanted[body["metadata"]["name"]] = (case.refused["condition"], "False", case.refused["reason"])
    kube.create({**BASE["ModelDeployment"], "metadata": {"name": "corpus-good", "namespace": namespace}})
    expected = {name: (status, reason) for name, (_, status, reason) in wanted.items()}

    def all_judged() -> bool:
        return verdicts(kube, namespace, wanted) == expected

    try:
        wait_for(all_judged, 120, "every deployment judged")
    finally:
        assert verdicts(kube, namespace, wanted) == expected

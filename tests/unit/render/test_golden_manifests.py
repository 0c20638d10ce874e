"""Renderers produce exactly the committed manifests. Regenerate with `UPDATE_GOLDEN=1 pytest tests/unit`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_operator.api.v1alpha1 import MLOpsPlatform, ModelDeployment
from mlops_operator.api.v1alpha1.platform import GatewayParentRef
from mlops_operator.render.endpoint import Endpoint, EndpointMember, render_endpoint_service, render_httproute
from mlops_operator.render.workload import (
    WorkloadInputs,
    concurrency,
    render_deployment,
    render_hpa,
    render_pdb,
    render_service,
)

EXAMPLES = Path(__file__).parents[3] / "examples"
GOLDEN = Path(__file__).parents[1] / "golden"


def _examples() -> tuple[MLOpsPlatform, dict[str, ModelDeployment]]:
    platform = MLOpsPlatform.model_validate(yaml.safe_load((EXAMPLES / "platform.yaml").read_text()))
    deployments = {}
    for doc in yaml.safe_load_all((EXAMPLES / "blue-green.yaml").read_text()):
        doc["metadata"]["uid"] = f"uid-{doc['metadata']['name']}"
        md = ModelDeployment.model_validate(doc)
        deployments[str(md.metadata.name)] = md
    return platform, deployments


def _inputs(platform: MLOpsPlatform, md: ModelDeployment) -> WorkloadInputs:
    instance_type = platform.spec.instance_type(str(md.spec.instance_type))
    assert instance_type is not None
    return WorkloadInputs(instance_type, image="scoring:test", fetcher_image="scoring:test")


def _https_variant(md: ModelDeployment) -> ModelDeployment:
    wire = md.to_wire()
    wire["metadata"]["name"] = "diabetes-https"
    wire["spec"]["model"]["uri"] = "https://models.example.com/diabetes/3/model.pkl"
    wire["spec"]["environmentVariables"] = {"OMP_NUM_THREADS": "1"}
    return ModelDeployment.model_validate(wire)


def _monitored() -> ModelDeployment:
    doc = yaml.safe_load((EXAMPLES / "drift" / "diabetes-with-drift-monitoring.yaml").read_text())
    doc["metadata"]["uid"] = "uid-monitored"
    return ModelDeployment.model_validate(doc)


def _retraining_job(md: ModelDeployment) -> dict[str, Any]:
    """The Job of drift episode 2 (monitoring/drift_actions.py): named, labelled and owned for the episode."""
    from mlops_operator.api.v1alpha1.monitoring import DriftEpisode, DriftStatus
    from mlops_operator.monitoring.drift_actions import render_retraining_job

    drift = md.spec.monitoring.drift
    assert drift is not None
    assert drift.actions.job is not None
    episode = DriftEpisode(number=2, started_at="2026-12-01T12:00:00Z", features=["bmi", "s5"])
    return render_retraining_job(md, drift.actions.job, DriftStatus(episode=episode))


def _cases() -> dict[str, Any]:
    platform, mds = _examples()
    blue, green = mds["diabetes-blue"], mds["diabetes-green"]
    endpoint = Endpoint(
        "diabetes",
        "default",
        (EndpointMember("diabetes-blue", "uid-blue", 90, 0), EndpointMember("diabetes-green", "uid-green", 10, 0)),
    )
    mirrored = Endpoint(
        "diabetes",
        "default",
        (EndpointMember("diabetes-blue", "uid-blue", 100, 0), EndpointMember("diabetes-green", "uid-green", 0, 20)),
    )
    gateway = GatewayParentRef(name="mlops-gateway", namespace="mlops-system")
    https = _https_variant(blue)
    monitored = _monitored()
    return {
        "monitored-deployment": render_deployment(monitored, _inputs(platform, monitored)),
        "monitored-retraining-job": _retraining_job(monitored),
        "blue-deployment": render_deployment(blue, _inputs(platform, blue)),
        "blue-service": render_service(blue),
        "blue-pdb": render_pdb(blue),
        "green-deployment": render_deployment(green, _inputs(platform, green)),
        "green-hpa": render_hpa(green),
        "https-model-deployment": render_deployment(https, _inputs(platform, https)),
        "endpoint-service": render_endpoint_service(endpoint),
        "endpoint-httproute-canary": render_httproute(endpoint, gateway),
        "endpoint-httproute-mirror": render_httproute(mirrored, gateway),
    }


CASES = _cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_rendered_manifest_matches_the_golden_file(name: str, matches_golden: Callable[[Any, Path], None]) -> None:
    matches_golden(CASES[name], GOLDEN / f"{name}.yaml")


def test_a_single_instance_deployment_gets_no_disruption_budget() -> None:
    _, mds = _examples()
    wire = mds["diabetes-blue"].to_wire()
    wire["spec"]["instanceCount"] = 1
    assert render_pdb(ModelDeployment.model_validate(wire)) is None


def test_fixed_scaling_gets_no_autoscaler_and_autoscaling_leaves_replicas_to_it() -> None:
    platform, mds = _examples()
    blue, green = mds["diabetes-blue"], mds["diabetes-green"]
    assert render_hpa(blue) is None
    assert render_deployment(blue, _inputs(platform, blue))["spec"]["replicas"] == 2
    assert "replicas" not in render_deployment(green, _inputs(platform, green))["spec"]


def test_environment_variables_from_the_spec_override_the_defaults() -> None:
    platform, mds = _examples()
    wire = mds["diabetes-blue"].to_wire()
    wire["spec"]["environmentVariables"] = {"SCORING_TIMEOUT_MS": "100", "EXTRA": "1"}
    md = ModelDeployment.model_validate(wire)
    env = render_deployment(md, _inputs(platform, md))["spec"]["template"]["spec"]["containers"][0]["env"]
    names = [e["name"] for e in env]
    assert len(names) == len(set(names)), "server-side apply rejects duplicate env names"
    assert {"name": "SCORING_TIMEOUT_MS", "value": "100"} in env


def test_concurrency_is_split_over_one_process_per_cpu_and_threads_for_the_rest() -> None:
    platform, mds = _examples()
    cases = {
        (1, "small-cpu-model"): (1, 1),  # limit 1 CPU
        (2, "small-cpu-model"): (1, 2),
        (8, "small-cpu-model"): (1, 8),
        (8, "large-cpu-model"): (2, 4),  # limit 2 CPUs
        (2, "large-cpu-model"): (2, 1),
        (3, "large-cpu-model"): (2, 2),
    }
    for (wanted, instance_type), expected in cases.items():
        wire = mds["diabetes-blue"].to_wire()
        wire["spec"]["requestSettings"]["maxConcurrentRequestsPerInstance"] = wanted
        wire["spec"]["instanceType"] = instance_type
        md = ModelDeployment.model_validate(wire)
        assert concurrency(md, _inputs(platform, md)) == expected, (wanted, instance_type)

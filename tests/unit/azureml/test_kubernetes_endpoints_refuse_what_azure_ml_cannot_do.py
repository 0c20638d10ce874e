"""What Azure ML's Kubernetes online endpoints cannot do is refused with a clear reason before any call."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_operator.api.v1alpha1 import ModelDeployment
from mlops_operator.backends.azureml.backend import _refused
from mlops_operator.reconcile import build_status


def _md(**spec: Any) -> ModelDeployment:
    return ModelDeployment.model_validate(
        {
            "metadata": {"name": "blue", "namespace": "ml"},
            "spec": {
                "platformRef": {"name": "aml"},
                "endpoint": {"name": "scoring"},
                "model": {"name": "m", "version": "1"},
                **spec,
            },
        }
    )


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ({"endpoint": {"name": "scoring", "authMode": "aad_token"}}, "aad_token is not supported"),
        ({"mirrorTraffic": 10}, "mirrorTraffic is not supported"),
        ({"code": {"configMap": {"name": "code"}}}, "code.configMap is not uploaded"),
        ({"environment": {"imagePullSecrets": [{"name": "regcred"}]}}, "imagePullSecrets is native only"),
        (
            {
                "scaleSettings": {
                    "type": "metric",
                    "maxInstances": 3,
                    "metric": {"name": "inFlightRequests", "target": 4},
                }
            },
            "scaleSettings.type metric is native only",
        ),
    ],
)
def test_unsupported_settings_block_the_deployment_with_feature_unsupported(spec: dict[str, Any], needle: str) -> None:
    outcome = _refused(_md(**spec))
    assert outcome is not None
    verdict = outcome.verdicts[0]
    assert (verdict.type, verdict.status, verdict.reason, verdict.severity) == (
        "DeploymentReady",
        "False",
        "FeatureUnsupported",
        "Error",
    )
    assert needle in verdict.message
    status = build_status(
        {"kind": "ModelDeployment", "metadata": {"name": "blue"}}, "azureml", outcome, "serving"
    ).patch
    assert [c["type"] for c in status["conditions"]] == [
        "Ready",
        "ModelReady",
        "EndpointReady",
        "DeploymentReady",
        "TrafficApplied",
        "RolledOut",
        "DataDrift",
        "Progressing",
        "Degraded",
        "DeletionBlocked",
        "Stalled",
    ]


def test_key_and_aml_token_endpoints_go_ahead() -> None:
    assert _refused(_md()) is None
    assert _refused(_md(endpoint={"name": "scoring", "authMode": "aml_token"})) is None

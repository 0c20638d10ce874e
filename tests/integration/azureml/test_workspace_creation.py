"""A platform with workspace.create: true creates the workspace through an ARM template deployment."""

from __future__ import annotations

from fake_arm import FakeArm
from mlops_operator.config import OperatorSettings
from mlops_operator.handlers.context import build_context
from mlops_operator.handlers.flows import look, platform_key
from mlops_operator.kube import Kube

from .conftest import start_operator
from .helpers import PLATFORM, RG, conditions, platform_body, wait_condition
from .operator_entry import static_token

NEW_WS = "mlw-created"
CREATE = {"workspace": {"name": NEW_WS, "create": True}, "location": "eastus"}


def test_a_platform_creates_its_missing_workspace_and_a_resync_makes_no_puts(
    azure_env: FakeArm, kube: Kube, kubeconfig: str
) -> None:
    workspace_id = azure_env.workspace_id(RG, NEW_WS)
    assert azure_env.resource(workspace_id) is None

    with start_operator():
        kube.create(platform_body(**CREATE))
        ready = wait_condition(kube, "MLOpsPlatform", PLATFORM, "Ready", "True")

    assert conditions(kube, "MLOpsPlatform", PLATFORM)["WorkspaceReady"]["status"] == "True", ready
    deployments = azure_env.requests("PUT", "/providers/Microsoft.Resources/deployments/")
    assert [r.status for r in deployments] == [201]
    assert deployments[0].body["properties"]["mode"].lower() == "incremental"
    workspace = azure_env.resource(workspace_id)
    assert workspace is not None
    assert workspace["properties"]["provisioningState"] == "Succeeded"
    for dependency in ("storageAccount", "keyVault", "applicationInsights"):
        assert azure_env.resource(workspace["properties"][dependency]) is not None, dependency

    ctx = build_context(OperatorSettings(), kubeconfig, credential_factory=static_token)
    azure_env.reset_log()
    look(ctx, platform_key(PLATFORM))
    assert azure_env.calls("PUT") == 0
    assert {k: n for k, n in azure_env.call_counts().items() if k[0] != "GET"} == {}


def test_a_failed_workspace_deployment_shows_the_arm_error(azure_env: FakeArm, kube: Kube) -> None:
    azure_env.fail_operations(
        "/providers/Microsoft.Resources/deployments/", code="StorageAccountAlreadyTaken", message="name is taken"
    )

    with start_operator():
        kube.create(platform_body(**CREATE))
        found = wait_condition(
            kube, "MLOpsPlatform", PLATFORM, "WorkspaceReady", "False", reason="AzureOperationFailed"
        )

    assert "StorageAccountAlreadyTaken: name is taken" in found["message"]
    assert azure_env.resource(azure_env.workspace_id(RG, NEW_WS)) is None
    assert azure_env.calls("PUT", "deployments") == 1

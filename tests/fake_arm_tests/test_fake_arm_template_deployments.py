"""ARM template deployments: the real workspace creation of azure-ai-ml works; what ARM's preflight rejects is a 400."""

from __future__ import annotations

import pytest
import requests
from azure.ai.ml.entities import Workspace

RG = "rg1"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
VAULT = {
    "type": "Microsoft.KeyVault/vaults",
    "apiVersion": "2023-07-01",
    "name": "[concat(parameters('prefix'), 'kv')]",
    "location": "[resourceGroup().location]",
    "properties": {"tenantId": "[subscription().tenantId]"},
}
TEMPLATE = {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "parameters": {"prefix": {"type": "string"}},
            "resources": [VAULT]}  # fmt: skip


def deploy(fake, body, name="d1"):
    path = f"/subscriptions/{fake.subscription_id}/resourcegroups/{RG}/providers/Microsoft.Resources/deployments/{name}"
    return requests.put(
        f"{fake.base_url}{path}", params={"api-version": "2020-06-01"}, json=body, verify=fake.ca_bundle, timeout=10
    )


def test_workspace_begin_create_deploys_the_workspace_and_its_dependencies(fake_arm, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake_arm.ca_bundle)  # the SDK builds this client without our kwargs
    fake_arm.seed_resource_group(RG)
    ml = fake_arm.ml_client(RG, "ws-new")

    poller = ml.workspaces.begin_create(Workspace(name="ws-new", location="eastus", resource_group=RG))
    deployment = poller._polling_method.poller.result()  # the ARM deployment itself (result() sleeps 5 s first)

    assert deployment.properties.provisioning_state == "Succeeded"
    workspace = ml.workspaces.get("ws-new")
    assert workspace.location == "eastus"
    for dependency in (workspace.storage_account, workspace.key_vault, workspace.application_insights):
        assert fake_arm.resource(dependency)["properties"]["provisioningState"] == "Succeeded"
    assert ml.datastores.get_default().name == "workspaceblobstore"


def test_a_deployment_creates_what_the_template_declares(fake_arm):
    fake_arm.seed_resource_group(RG)
    response = deploy(fake_arm, {"properties": {"mode": "Incremental", "template": TEMPLATE,
                                                "parameters": {"prefix": {"value": "ab"}}}})  # fmt: skip
    assert response.status_code == 201
    assert response.headers["Retry-After"] == "1"
    requests.get(response.headers["Azure-AsyncOperation"], verify=fake_arm.ca_bundle, timeout=10)
    vault = fake_arm.resource(f"{fake_arm.rg_id(RG)}/providers/Microsoft.KeyVault/vaults/abkv")
    assert vault["location"] == "eastus"
    assert vault["properties"]["tenantId"]


@pytest.mark.parametrize(
    ("properties", "code", "fragment"),
    [
        ({"template": TEMPLATE, "parameters": {"prefix": {"value": "ab"}}}, "InvalidRequestContent", "mode"),
        ({"mode": "Complete", "template": TEMPLATE, "parameters": {}}, "InvalidDeploymentMode", "Incremental"),
        ({"mode": "Incremental", "parameters": {}}, "InvalidRequestContent", "template"),
        ({"mode": "Incremental", "template": TEMPLATE, "parameters": {}}, "InvalidTemplate",
         "'prefix' is not provided"),
        ({"mode": "Incremental", "template": TEMPLATE, "parameters": {"prefix": {"value": 1}}}, "InvalidTemplate",
         "Expected a value of type 'string'"),
        ({"mode": "Incremental", "template": TEMPLATE, "parameters": {"prefix": {"value": "a"}, "x": {"value": 1}}},
         "InvalidTemplate", "'x' in the parameters file are not valid"),
        ({"mode": "Incremental", "template": {**TEMPLATE, "resources": [{**VAULT, "name": "[reference('x')]"}]},
          "parameters": {"prefix": {"value": "a"}}}, "InvalidTemplate", "'reference' is not supported"),
    ],
)  # fmt: skip
def test_what_the_preflight_rejects_is_a_400_and_deploys_nothing(fake_arm, properties, code, fragment):
    fake_arm.seed_resource_group(RG)

    response = deploy(fake_arm, {"properties": properties})

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert fragment in error["message"]
    assert fake_arm.calls("PUT", "deployments") == 1
    assert [r for r in fake_arm.app.store.all() if "vaults" in r.id] == []


def test_a_deployment_into_a_missing_resource_group_is_a_404(fake_arm):
    response = deploy(fake_arm, {"properties": {"mode": "Incremental", "template": TEMPLATE}})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ResourceGroupNotFound"

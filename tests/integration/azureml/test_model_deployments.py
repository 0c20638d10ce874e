"""ModelDeployments on an azureml platform: Ready with a scoring URI and keys, blue/green, failures shown."""

from __future__ import annotations

import base64

from kopf.testing import KopfRunner

from fake_arm import FakeArm
from mlops_operator.kube import Kube

from .helpers import RG, WS, create_ready_platform, md_body, status_of, wait_condition, wait_for

ENDPOINT = "mlops-endpoint"
MD = "ModelDeployment"


def _endpoint_id(fake: FakeArm) -> str:
    return f"{fake.workspace_id(RG, WS)}/onlineEndpoints/{ENDPOINT}"


def test_a_model_deployment_goes_ready_with_its_scoring_uri_and_a_keys_secret(
    operator: KopfRunner, azure_env: FakeArm, kube: Kube, namespace: str
) -> None:
    create_ready_platform(kube)
    kube.create(md_body(namespace, "blue", traffic=100, environmentVariables={"WORKERS": "2"}))

    wait_condition(kube, MD, "blue", "Ready", "True", namespace)

    status = status_of(kube, MD, "blue", namespace)
    assert status["scoringUri"] == f"http://10.0.0.10/api/v1/endpoint/{ENDPOINT}/score"
    assert status["provisioningState"] == "Succeeded"
    assert status["traffic"] == {"blue": 100}
    assert status["keysSecretRef"] == {"name": f"{ENDPOINT}-endpoint-keys"}
    secret = kube.get("v1", "Secret", f"{ENDPOINT}-endpoint-keys", namespace)
    keys = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert keys == azure_env.endpoint_keys(RG, WS, ENDPOINT)
    deployment = azure_env.resource(f"{_endpoint_id(azure_env)}/deployments/blue")
    assert deployment["sku"]["capacity"] == 2
    assert deployment["properties"]["instanceType"] == "small-cpu-model"
    assert deployment["properties"]["environmentVariables"] == {"WORKERS": "2"}
    model = f"{azure_env.workspace_id(RG, WS)}/models/sample-model/versions/1"
    assert azure_env.resource(model) is not None


def test_blue_green_traffic_moves_only_to_a_provisioned_deployment_and_off_before_deletion(
    operator: KopfRunner, azure_env: FakeArm, kube: Kube, namespace: str
) -> None:
    create_ready_platform(kube)
    kube.create(md_body(namespace, "blue", traffic=100))
    wait_condition(kube, MD, "blue", "Ready", "True", namespace)
    kube.create(
        md_body(
            namespace,
            "green",
            traffic=0,
            model={
                "name": "sample-model",
                "version": "2",
                "uri": "azureml://datastores/workspaceblobstore/paths/models/v2/",
            },
        )
    )
    wait_condition(kube, MD, "green", "Ready", "True", namespace)

    kube.patch_merge("mlops.dev/v1alpha1", MD, "green", namespace, {"spec": {"traffic": 100}})
    kube.patch_merge("mlops.dev/v1alpha1", MD, "blue", namespace, {"spec": {"traffic": 0}})

    wait_for(
        lambda: status_of(kube, MD, "blue", namespace).get("traffic") == {"green": 100}, what="blue sees green=100"
    )
    wait_for(lambda: status_of(kube, MD, "green", namespace).get("traffic") == {"green": 100}, what="green=100")
    puts = [r for r in azure_env.requests("PUT", "/onlineEndpoints/") if "/deployments/" not in r.path]
    traffic_history = [r.body["properties"].get("traffic") for r in puts if r.status < 300]
    assert traffic_history == [{}, {"blue": 100}, {"green": 100}]
    green_put = azure_env.requests("PUT", "/deployments/green")[0]
    assert green_put.at < puts[-1].at

    kube.delete("mlops.dev/v1alpha1", MD, "blue", namespace)

    wait_for(lambda: kube.get("mlops.dev/v1alpha1", MD, "blue", namespace) is None, what="blue finalized")
    assert azure_env.resource(f"{_endpoint_id(azure_env)}/deployments/blue") is None
    assert azure_env.resource(f"{_endpoint_id(azure_env)}/deployments/green") is not None
    assert [r.status for r in azure_env.requests("DELETE", "/deployments/blue")] == [202]


def test_deleting_the_last_deployment_removes_the_deployment_and_the_endpoint(
    operator: KopfRunner, azure_env: FakeArm, kube: Kube, namespace: str
) -> None:
    create_ready_platform(kube)
    kube.create(md_body(namespace, "blue", traffic=100))
    wait_condition(kube, MD, "blue", "Ready", "True", namespace)

    kube.delete("mlops.dev/v1alpha1", MD, "blue", namespace)

    wait_for(lambda: kube.get("mlops.dev/v1alpha1", MD, "blue", namespace) is None, what="blue finalized")
    assert azure_env.resource(f"{_endpoint_id(azure_env)}/deployments/blue") is None
    assert azure_env.resource(_endpoint_id(azure_env)) is None


def test_skip_and_detach_on_delete_leave_the_azure_objects(
    operator: KopfRunner, azure_env: FakeArm, kube: Kube, namespace: str
) -> None:
    create_ready_platform(kube)
    kube.create(md_body(namespace, "blue", traffic=100, annotations={"mlops.dev/reconcile-policy": "detach-on-delete"}))
    kube.create(md_body(namespace, "green", traffic=0))
    wait_condition(kube, MD, "blue", "Ready", "True", namespace)
    wait_condition(kube, MD, "green", "Ready", "True", namespace)
    patch = {"metadata": {"annotations": {"mlops.dev/reconcile-policy": "skip"}}}
    kube.patch_merge("mlops.dev/v1alpha1", MD, "green", namespace, patch)
    kube.create(md_body(namespace, "red", annotations={"mlops.dev/reconcile-policy": "skip"}))
    wait_condition(kube, MD, "red", "DeploymentReady", "Unknown", namespace, reason="ReconcileSkipped")
    assert azure_env.resource(f"{_endpoint_id(azure_env)}/deployments/red") is None

    kube.delete("mlops.dev/v1alpha1", MD, "blue", namespace)
    kube.delete("mlops.dev/v1alpha1", MD, "green", namespace)

    for name in ("blue", "green"):
        wait_for(lambda n=name: kube.get("mlops.dev/v1alpha1", MD, n, namespace) is None, what=f"{name} finalized")
        assert azure_env.resource(f"{_endpoint_id(azure_env)}/deployments/{name}") is not None
    assert azure_env.calls("DELETE") == 0


def test_an_arm_failed_deployment_shows_its_error_and_logs_on_the_resource(
    operator: KopfRunner, azure_env: FakeArm, kube: Kube, namespace: str
) -> None:
    create_ready_platform(kube)
    azure_env.fail_operations("/deployments/blue", code="DeploymentFailed", message="ImagePullBackOff: image not found")
    kube.create(md_body(namespace, "blue", traffic=100))

    found = wait_condition(kube, MD, "blue", "DeploymentReady", "False", namespace, reason="DeploymentFailed")

    assert "ARM DeploymentFailed: ImagePullBackOff: image not found" in found["message"]
    assert "fake-arm: blue log line 200" in found["message"]
    status = status_of(kube, MD, "blue", namespace)
    assert status["lastFailure"]["reason"] == "DeploymentFailed"
    assert status["provisioningState"] == "Failed"
    assert len(azure_env.requests("PUT", "/deployments/blue")) == 1

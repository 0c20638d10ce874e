"""The native backend on a real control plane: the operator under KopfRunner, pods on kwok fake nodes."""

from __future__ import annotations

import pytest

from mlops_operator.devcluster import LocalCluster
from mlops_operator.kube import Kube

from .helpers import create_model_files, model_deployment, route_weights, wait_condition, wait_for

pytestmark = pytest.mark.usefixtures("operator")


def test_a_model_deployment_becomes_ready_with_its_children(kube: Kube, namespace: str, crds: LocalCluster) -> None:
    create_model_files(kube, namespace)
    kube.create(model_deployment(namespace, "blue", traffic=100, instanceCount=2))

    waited = crds.kubectl("wait", "-n", namespace, "--for=condition=Ready", "mdep/blue", "--timeout=60s")
    assert "condition met" in waited.stdout
    ready = wait_condition(kube, namespace, "blue", "Ready", "True")

    status = kube.get("mlops.dev/v1alpha1", "ModelDeployment", "blue", namespace)["status"]
    assert ready["reason"] == "Ready"
    assert status["observedGeneration"] == 1
    assert status["replicas"] == {"desired": 2, "ready": 2, "updated": 2}
    assert status["scoringUri"] == f"http://scoring-endpoint.{namespace}.svc.cluster.local/score"
    assert status["keysSecretRef"] == {"name": "scoring-endpoint-keys"}
    assert status["traffic"] == {"blue": 100}
    deployment = kube.get("apps/v1", "Deployment", "blue", namespace)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["AZUREML_MODEL_DIR"] == "/var/azureml-app/azureml-models/diabetes/1"
    assert deployment["metadata"]["ownerReferences"][0]["kind"] == "ModelDeployment"
    assert kube.get("policy/v1", "PodDisruptionBudget", "blue", namespace) is not None
    keys = kube.get("v1", "Secret", "scoring-endpoint-keys", namespace)
    assert set(keys["data"]) == {"primaryKey", "secondaryKey"}
    assert route_weights(kube, namespace, "scoring") == {"blue": 100}


def test_the_platform_is_ready_and_lists_its_instance_types(kube: Kube) -> None:
    def ready_platform() -> dict | None:
        status = (kube.get("mlops.dev/v1alpha1", "MLOpsPlatform", "itest") or {}).get("status", {})
        ready = [c for c in status.get("conditions", []) if c["type"] == "Ready" and c["status"] == "True"]
        return status if ready else None

    status = wait_for(ready_platform, what="platform Ready")
    assert status["instanceTypes"] == ["small", "large"]
    assert status["observedGeneration"] >= 1


def test_changing_the_model_version_rolls_out_and_status_follows(kube: Kube, namespace: str) -> None:
    create_model_files(kube, namespace)
    kube.create(model_deployment(namespace, "blue", traffic=100))
    wait_condition(kube, namespace, "blue", "Ready", "True")

    kube.patch_merge("mlops.dev/v1alpha1", "ModelDeployment", "blue", namespace, {"spec": {"model": {"version": "2"}}})

    wait_for(lambda: _observed(kube, namespace, "blue") == 2, what="observedGeneration 2")
    wait_condition(kube, namespace, "blue", "Ready", "True")
    template = kube.get("apps/v1", "Deployment", "blue", namespace)["spec"]["template"]
    assert template["metadata"]["labels"]["mlops.dev/model-version"] == "2"
    pods = kube.list("v1", "Pod", namespace, "mlops.dev/deployment=blue")
    wait_for(
        lambda: all(
            p["metadata"]["labels"]["mlops.dev/model-version"] == "2"
            for p in kube.list("v1", "Pod", namespace, "mlops.dev/deployment=blue")
        ),
        what="old pods replaced",
    )
    assert pods


def test_shifting_traffic_from_blue_to_green_updates_the_route(kube: Kube, namespace: str) -> None:
    create_model_files(kube, namespace)
    kube.create(model_deployment(namespace, "blue", traffic=100))
    kube.create(model_deployment(namespace, "green", traffic=0))
    wait_for(lambda: route_weights(kube, namespace, "scoring") == {"blue": 100, "green": 0}, what="initial route")

    kube.patch_merge("mlops.dev/v1alpha1", "ModelDeployment", "green", namespace, {"spec": {"traffic": 100}})
    invalid = wait_condition(kube, namespace, "blue", "TrafficApplied", "False", "TrafficSumInvalid")
    assert "sums to 200" in invalid["message"]
    assert route_weights(kube, namespace, "scoring") == {"blue": 100, "green": 0}, "an invalid split is not applied"
    kube.patch_merge("mlops.dev/v1alpha1", "ModelDeployment", "blue", namespace, {"spec": {"traffic": 0}})

    wait_for(lambda: route_weights(kube, namespace, "scoring") == {"blue": 0, "green": 100}, what="shifted route")
    for name in ("blue", "green"):
        wait_condition(kube, namespace, name, "TrafficApplied", "True")
        wait_for(lambda n=name: _status(kube, namespace, n).get("traffic") == {"blue": 0, "green": 100})


def test_traffic_not_summing_to_100_shows_on_every_deployment_of_the_endpoint(kube: Kube, namespace: str) -> None:
    create_model_files(kube, namespace)
    kube.create(model_deployment(namespace, "blue", traffic=60))
    kube.create(model_deployment(namespace, "green", traffic=30))

    for name in ("blue", "green"):
        found = wait_condition(kube, namespace, name, "TrafficApplied", "False", "TrafficSumInvalid")
        assert "sums to 90" in found["message"]
        wait_condition(kube, namespace, name, "Ready", "False", "TrafficSumInvalid")


def test_a_missing_instance_type_is_reported_with_its_reason(kube: Kube, namespace: str) -> None:
    kube.create(model_deployment(namespace, "blue", instanceType="huge"))

    found = wait_condition(kube, namespace, "blue", "Ready", "False", "InstanceTypeNotFound")

    assert "'huge' is not offered by platform itest" in found["message"]
    assert kube.get("apps/v1", "Deployment", "blue", namespace) is None


def test_a_missing_platform_is_reported_with_its_reason(kube: Kube, namespace: str) -> None:
    body = model_deployment(namespace, "blue")
    body["spec"]["platformRef"]["name"] = "nowhere"
    kube.create(body)

    found = wait_condition(kube, namespace, "blue", "Ready", "False", "PlatformNotFound")

    assert "'nowhere' does not exist" in found["message"]


def test_a_crash_looping_pod_marks_the_deployment_degraded_with_the_pods_reason(kube: Kube, namespace: str) -> None:
    create_model_files(kube, namespace)
    kube.create(model_deployment(namespace, "blue", traffic=100))
    wait_condition(kube, namespace, "blue", "Ready", "True")
    pod = kube.list("v1", "Pod", namespace, "mlops.dev/deployment=blue")[0]

    kube.patch_merge("v1", "Pod", pod["metadata"]["name"], namespace, _crash_looping_status(), subresource="status")

    degraded = wait_condition(kube, namespace, "blue", "Degraded", "True", "CrashLoopBackOff")
    assert "ModuleNotFoundError: No module named 'sklearn'" in degraded["message"]
    ready = wait_condition(kube, namespace, "blue", "Ready", "False", "CrashLoopBackOff")
    assert ready["severity"] == "Error"
    events = wait_for(
        lambda: [
            e
            for e in kube.list("v1", "Event", namespace)
            if e["involvedObject"]["name"] == "blue" and e["reason"] == "CrashLoopBackOff"
        ],
        what="a CrashLoopBackOff Event",
    )
    assert {e["type"] for e in events} == {"Warning"}, events


def test_deleting_one_deployment_keeps_the_endpoint_serving_the_other(kube: Kube, namespace: str) -> None:
    create_model_files(kube, namespace)
    kube.create(model_deployment(namespace, "blue", traffic=0))
    kube.create(model_deployment(namespace, "green", traffic=100))
    wait_for(lambda: route_weights(kube, namespace, "scoring") == {"blue": 0, "green": 100}, what="route")
    wait_condition(kube, namespace, "green", "Ready", "True")

    kube.delete("mlops.dev/v1alpha1", "ModelDeployment", "blue", namespace)

    wait_for(lambda: kube.get("apps/v1", "Deployment", "blue", namespace) is None, what="blue's Deployment GC")
    wait_for(lambda: kube.get("v1", "Service", "blue", namespace) is None, what="blue's Service GC")
    assert route_weights(kube, namespace, "scoring") == {"green": 100}
    owners = kube.get("v1", "Service", "scoring-endpoint", namespace)["metadata"]["ownerReferences"]
    assert [o["name"] for o in owners] == ["green"]
    assert kube.get("v1", "Secret", "scoring-endpoint-keys", namespace) is not None
    wait_condition(kube, namespace, "green", "Ready", "True")


def _observed(kube: Kube, namespace: str, name: str) -> int | None:
    return _status(kube, namespace, name).get("observedGeneration")


def _status(kube: Kube, namespace: str, name: str) -> dict:
    return (kube.get("mlops.dev/v1alpha1", "ModelDeployment", name, namespace) or {}).get("status", {})


def _crash_looping_status() -> dict:
    return {
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "False"}, {"type": "ContainersReady", "status": "False"}],
            "containerStatuses": [
                {
                    "name": "scoring",
                    "ready": False,
                    "restartCount": 4,
                    "image": "scoring",
                    "imageID": "",
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting"}},
                    "lastState": {
                        "terminated": {
                            "exitCode": 1,
                            "reason": "Error",
                            "message": "ModuleNotFoundError: No module named 'sklearn'",
                        }
                    },
                }
            ],
        }
    }

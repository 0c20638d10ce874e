"""Argo CD's own health code (hack/argocd/build.sh) judges live objects by deploy/gitops/argocd/argocd-cm.yaml.

The operator runs under KopfRunner against the session's control plane (kwok fake nodes); each object is
read back from the API server in the state under test and handed to Argo CD's Lua health machinery.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from native_backend.helpers import PLATFORM, apply_platform, create_model_files, model_deployment
from polling import wait_for

from mlops_operator.kube import Kube

from .argocd import ArgoHealth, Health

pytestmark = pytest.mark.usefixtures("operator")
API = "mlops.dev/v1alpha1"
TIMEOUT_S = 60


def ready(obj: dict[str, Any]) -> dict[str, Any] | None:
    return next((c for c in obj.get("status", {}).get("conditions", []) if c["type"] == "Ready"), None)


def wait_object(
    kube: Kube, kind: str, name: str, namespace: str | None, test: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    """The object as the API server serves it, once `test` holds for that very read."""

    def check() -> dict[str, Any] | None:
        obj = kube.get(API, kind, name, namespace)
        return obj if obj is not None and test(obj) else None

    return wait_for(check, TIMEOUT_S, f"{kind} {name}: {what}")


def ready_is(status: str, reason: str | None = None) -> Callable[[dict[str, Any]], bool]:
    def test(obj: dict[str, Any]) -> bool:
        found = ready(obj)
        current = obj.get("status", {}).get("observedGeneration") == obj["metadata"]["generation"]
        return bool(found and current and found["status"] == status and reason in (None, found["reason"]))

    return test


def rolling_out(obj: dict[str, Any]) -> bool:
    conditions = {c["type"]: c for c in obj.get("status", {}).get("conditions", [])}
    progressing = conditions.get("Progressing", {})
    return ready_is("False")(obj) and (progressing.get("status"), progressing.get("reason")) == ("True", "RollingOut")


def pod_waiting(reason: str, message: str) -> dict[str, Any]:
    """A running pod whose only container is waiting: what a kubelet reports while it (re)starts one."""
    return {
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "False"}, {"type": "ContainersReady", "status": "False"}],
            "containerStatuses": [
                {
                    "name": "scoring",
                    "ready": False,
                    "restartCount": 0,
                    "image": "scoring",
                    "imageID": "",
                    "state": {"waiting": {"reason": reason, "message": message}},
                }
            ],
        }
    }


@pytest.fixture
def platform_name(kube: Kube) -> Iterator[str]:
    """A cluster-scoped platform name of this test's own, deleted (and waited for) afterwards."""
    name = f"argo-{uuid.uuid4().hex[:8]}"
    yield name
    kube.delete(API, "MLOpsPlatform", name)
    wait_for(lambda: kube.get(API, "MLOpsPlatform", name) is None, TIMEOUT_S, f"platform {name} deleted")


def test_a_ready_model_deployment_is_healthy(kube: Kube, namespace: str, argocd_health: ArgoHealth) -> None:
    create_model_files(kube, namespace)
    kube.create(model_deployment(namespace, "blue", traffic=100))

    live = wait_object(kube, "ModelDeployment", "blue", namespace, ready_is("True"), "Ready")

    assert argocd_health(live) == Health("Healthy", ready(live)["message"])


def test_a_rolling_out_model_deployment_is_progressing(kube: Kube, namespace: str, argocd_health: ArgoHealth) -> None:
    create_model_files(kube, namespace)
    kube.create(model_deployment(namespace, "blue", traffic=100))
    wait_object(kube, "ModelDeployment", "blue", namespace, ready_is("True"), "Ready")
    pod = kube.list("v1", "Pod", namespace, "mlops.dev/deployment=blue")[0]

    starting = pod_waiting("ContainerCreating", "")
    kube.patch_merge("v1", "Pod", pod["metadata"]["name"], namespace, starting, subresource="status")
    live = wait_object(kube, "ModelDeployment", "blue", namespace, rolling_out, "Progressing=True RollingOut")

    # Ready names the first waiting step: the model, which pods load, before the rollout itself.
    found = ready(live)
    assert (found["status"], found["severity"]) == ("False", "Info")
    assert argocd_health(live) == Health("Progressing", f"{found['reason']}: {found['message']}")


def test_a_missing_instance_type_is_degraded_with_its_reason(
    kube: Kube, namespace: str, argocd_health: ArgoHealth
) -> None:
    create_model_files(kube, namespace)
    kube.create(model_deployment(namespace, "blue", instanceType="huge"))

    live = wait_object(
        kube, "ModelDeployment", "blue", namespace, ready_is("False", "InstanceTypeNotFound"), "InstanceTypeNotFound"
    )

    health = argocd_health(live)
    assert health.status == "Degraded"
    assert health.message.startswith("InstanceTypeNotFound: ")
    assert f"'huge' is not offered by platform {PLATFORM}" in health.message


def test_a_missing_code_config_map_is_degraded_with_its_reason(
    kube: Kube, namespace: str, argocd_health: ArgoHealth
) -> None:
    kube.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "model", "namespace": namespace}, "data": {}}
    )
    kube.create(model_deployment(namespace, "blue", traffic=100))

    live = wait_object(kube, "ModelDeployment", "blue", namespace, ready_is("False", "CodeNotFound"), "CodeNotFound")

    assert argocd_health(live) == Health(
        "Degraded",
        f"CodeNotFound: ConfigMap code named by spec.code.configMap does not exist in {namespace}; "
        "create it or fix spec.code.configMap",
    )


def test_a_crash_looping_pod_is_degraded_with_the_pods_message(
    kube: Kube, namespace: str, argocd_health: ArgoHealth
) -> None:
    create_model_files(kube, namespace)
    kube.create(model_deployment(namespace, "blue", traffic=100))
    wait_object(kube, "ModelDeployment", "blue", namespace, ready_is("True"), "Ready")
    pod = kube.list("v1", "Pod", namespace, "mlops.dev/deployment=blue")[0]

    crashing = pod_waiting("CrashLoopBackOff", "back-off 40s restarting failed container")
    kube.patch_merge("v1", "Pod", pod["metadata"]["name"], namespace, crashing, subresource="status")
    live = wait_object(
        kube, "ModelDeployment", "blue", namespace, ready_is("False", "CrashLoopBackOff"), "CrashLoopBackOff"
    )

    health = argocd_health(live)
    assert health.status == "Degraded"
    assert health.message.startswith("CrashLoopBackOff: ")
    assert "back-off 40s restarting failed container" in health.message


def test_the_ready_platform_is_healthy(kube: Kube, argocd_health: ArgoHealth) -> None:
    live = wait_object(kube, "MLOpsPlatform", PLATFORM, None, ready_is("True"), "Ready")

    assert argocd_health(live) == Health("Healthy", ready(live)["message"])


def test_a_platform_with_an_unknown_default_instance_type_is_degraded(
    kube: Kube, platform_name: str, argocd_health: ArgoHealth
) -> None:
    apply_platform(kube, platform_name, defaultInstanceType="huge")

    live = wait_object(kube, "MLOpsPlatform", platform_name, None, ready_is("False", "InvalidSpec"), "InvalidSpec")

    health = argocd_health(live)
    assert health.status == "Degraded"
    assert health.message.startswith("InvalidSpec: ")
    assert "defaultInstanceType 'huge' is not one of instanceTypes" in health.message


def test_a_platform_without_instance_types_is_progressing(
    kube: Kube, platform_name: str, argocd_health: ArgoHealth
) -> None:
    empty = {
        "apiVersion": API,
        "kind": "MLOpsPlatform",
        "metadata": {"name": platform_name},
        "spec": {"backend": "native"},
    }
    kube.apply(empty, "itest")

    live = wait_object(
        kube, "MLOpsPlatform", platform_name, None, ready_is("False", "InstanceTypeNotFound"), "InstanceTypeNotFound"
    )

    assert argocd_health(live) == Health(
        "Progressing", "InstanceTypeNotFound: offers no instance types yet; add spec.instanceTypes"
    )


def test_a_platform_whose_deletion_waits_for_its_deployments_is_pending_deletion_before_any_lua(
    kube: Kube, namespace: str, platform_name: str, argocd_health: ArgoHealth
) -> None:
    """gitops-engine answers "Pending deletion" for any object with a deletionTimestamp (and no hook
    finalizer) before it looks for a health script, so our InUse message shows in kubectl, not in Argo CD."""
    apply_platform(kube, platform_name)
    create_model_files(kube, namespace)
    body = model_deployment(namespace, "blue", traffic=100)
    body["spec"]["platformRef"]["name"] = platform_name
    kube.create(body)
    wait_object(kube, "ModelDeployment", "blue", namespace, ready_is("True"), "Ready")

    kube.delete(API, "MLOpsPlatform", platform_name)
    try:
        live = wait_object(kube, "MLOpsPlatform", platform_name, None, ready_is("False", "InUse"), "InUse")
        health = argocd_health(live)
    finally:
        kube.delete(API, "ModelDeployment", "blue", namespace)

    assert ready(live)["message"].startswith(
        f"deletion waits for 1 ModelDeployment(s) using this platform: {namespace}/"
    )
    assert health == Health("Progressing", "Pending deletion")

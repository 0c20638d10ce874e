"""When Azure refuses to delete what a ModelDeployment or a platform holds, the object shows why on its status
(`DeletionBlocked=True`, `AzureRefusedDeletion`, Azure's error code); `mlops.dev/force-delete: "true"` then
releases it within seconds, without another call to Azure, and a Warning Event names what was left behind.
A delete that is merely under way never shows DeletionBlocked."""

from __future__ import annotations

from typing import Any

from kopf.testing import KopfRunner

from fake_arm import FakeArm
from mlops_operator.kube import Kube

from .helpers import API, PLATFORM, RG, WS, create_ready_platform, md_body, status_of, wait_condition, wait_for

MD = "ModelDeployment"
ENDPOINT = "mlops-endpoint"
FORCE = {"metadata": {"annotations": {"mlops.dev/force-delete": "true"}}}
RELEASED_WITHIN_S = 10
DENIED = "The client 'mlops-operator' does not have authorization to perform action 'delete' (injected)."
LOCKED = "The scope is locked by 'no-delete' (injected)."


def _deployment_id(fake: FakeArm, name: str) -> str:
    return f"{fake.workspace_id(RG, WS)}/onlineEndpoints/{ENDPOINT}/deployments/{name}"


def _events(kube: Kube, name: str, reason: str, namespace: str | None = None) -> list[dict[str, Any]]:
    return [
        e
        for e in kube.list("v1", "Event", namespace)
        if e["involvedObject"].get("name") == name and e.get("reason") == reason
    ]


def _ready_deployment(kube: Kube, namespace: str) -> None:
    create_ready_platform(kube)
    kube.create(md_body(namespace, "blue", endpoint=ENDPOINT, traffic=100))
    wait_condition(kube, MD, "blue", "Ready", "True", namespace)


def test_a_deployment_whose_azure_delete_is_refused_shows_why_and_force_delete_releases_it(
    operator: KopfRunner, azure_env: FakeArm, kube: Kube, namespace: str
) -> None:
    _ready_deployment(kube, namespace)
    refusal = azure_env.inject(
        method="DELETE",
        path_regex="/deployments/blue$",
        status=403,
        code="AuthorizationFailed",
        message=DENIED,
        times=None,
    )

    kube.delete(API, MD, "blue", namespace)

    blocked = wait_condition(kube, MD, "blue", "DeletionBlocked", "True", namespace, "AzureRefusedDeletion", timeout=30)
    assert "online deployment blue of endpoint mlops-endpoint" in blocked["message"]
    assert "ARM AuthorizationFailed" in blocked["message"]
    assert "grant the operator's Azure identity permission" in blocked["message"]
    assert 'mlops.dev/force-delete="true"' in blocked["message"]
    ready = status_of(kube, MD, "blue", namespace)["conditions"][0]
    assert (ready["type"], ready["status"], ready["reason"]) == ("Ready", "False", "AzureRefusedDeletion")
    wait_for(lambda: _events(kube, "blue", "AzureRefusedDeletion", namespace), 10, "a Warning Event on the refusal")
    assert kube.get(API, MD, "blue", namespace) is not None
    deletes_before = refusal.hits

    kube.patch_merge(API, MD, "blue", namespace, FORCE)

    wait_for(lambda: kube.get(API, MD, "blue", namespace) is None, RELEASED_WITHIN_S, "blue released by force-delete")
    assert azure_env.resource(_deployment_id(azure_env, "blue")) is not None
    assert refusal.hits == deletes_before
    event = wait_for(lambda: _events(kube, "blue", "ForceDeleted", namespace), 10, "the ForceDeleted Event")[0]
    assert event["type"] == "Warning"
    assert "online deployment blue of endpoint mlops-endpoint in workspace rg-mlops/mlw-demo" in event["message"]
    assert "online endpoint mlops-endpoint in workspace rg-mlops/mlw-demo" in event["message"]


def test_a_delete_operation_that_ends_failed_shows_azures_error(
    operator: KopfRunner, azure_env: FakeArm, kube: Kube, namespace: str
) -> None:
    _ready_deployment(kube, namespace)
    azure_env.fail_operations(
        "/deployments/blue$",
        method="DELETE",
        code="DeploymentDeleteFailed",
        message="pods stuck (injected)",
        times=None,
    )

    kube.delete(API, MD, "blue", namespace)

    blocked = wait_condition(kube, MD, "blue", "DeletionBlocked", "True", namespace, "AzureRefusedDeletion", timeout=60)
    assert "ARM DeploymentDeleteFailed: pods stuck (injected)" in blocked["message"]
    kube.patch_merge(API, MD, "blue", namespace, FORCE)
    wait_for(lambda: kube.get(API, MD, "blue", namespace) is None, RELEASED_WITHIN_S, "blue released by force-delete")
    assert azure_env.resource(_deployment_id(azure_env, "blue")) is not None


def test_a_delete_under_way_never_shows_deletion_blocked(
    operator: KopfRunner, azure_env: FakeArm, kube: Kube, namespace: str
) -> None:
    _ready_deployment(kube, namespace)
    azure_env.slow_operations("/deployments/blue$", method="DELETE", polls=3, seconds=2)
    seen: set[tuple[str, str]] = set()

    def gone() -> bool:
        body = kube.get(API, MD, "blue", namespace)
        for c in ((body or {}).get("status") or {}).get("conditions", []):
            if c["type"] == "DeletionBlocked":
                seen.add((c["status"], c["reason"]))
        return body is None

    kube.delete(API, MD, "blue", namespace)

    wait_for(gone, 60, "blue deleted")
    assert azure_env.resource(_deployment_id(azure_env, "blue")) is None
    assert seen <= {("False", "NotDeleting")}
    assert not _events(kube, "blue", "AzureRefusedDeletion", namespace)


def test_a_platform_whose_compute_detach_is_refused_shows_why_and_force_delete_releases_it(
    operator: KopfRunner, azure_env: FakeArm, kube: Kube
) -> None:
    create_ready_platform(kube)
    compute = f"{azure_env.workspace_id(RG, WS)}/computes/aks-compute"
    lock = azure_env.inject(
        method="DELETE", path_regex="/computes/aks-compute$", status=409, code="ScopeLocked", message=LOCKED, times=None
    )

    kube.delete(API, "MLOpsPlatform", PLATFORM)

    blocked = wait_condition(kube, "MLOpsPlatform", PLATFORM, "DeletionBlocked", "True", None, "AzureRefusedDeletion")
    assert "compute aks-compute attached to workspace rg-mlops/mlw-demo" in blocked["message"]
    assert "ARM ScopeLocked" in blocked["message"]
    assert "remove the lock" in blocked["message"]
    detaches_before = lock.hits

    kube.patch_merge(API, "MLOpsPlatform", PLATFORM, None, FORCE)

    wait_for(lambda: kube.get(API, "MLOpsPlatform", PLATFORM) is None, RELEASED_WITHIN_S, "platform released")
    assert azure_env.resource(compute) is not None
    assert lock.hits == detaches_before
    event = wait_for(lambda: _events(kube, PLATFORM, "ForceDeleted"), 10, "the ForceDeleted Event")[0]
    assert event["type"] == "Warning"
    assert "compute aks-compute attached to workspace rg-mlops/mlw-demo" in event["message"]
    assert "extension azureml on cluster rg-mlops/aks-mlops" in event["message"]

"""What a ModelDeployment references stays true in its status within seconds: code and model ConfigMaps,
the keys and image pull Secrets, the platform's Gateway and the platform itself, kept while in use."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from mlops_operator.kube import Kube

from .helpers import apply_platform, create_model_files, model_deployment, wait_condition, wait_for

pytestmark = pytest.mark.usefixtures("operator")
API = "mlops.dev/v1alpha1"
SECONDS = 10  # the promise: a referenced object's change shows on its referrers within this
GATEWAY = "shared-gw"


@pytest.fixture
def platform(kube: Kube) -> Iterator[str]:
    """A platform of the test's own, so deleting it touches no other test."""
    name = f"refs-{uuid.uuid4().hex[:8]}"
    apply_platform(kube, name)
    yield name
    kube.delete(API, "MLOpsPlatform", name)


def serve(kube: Kube, namespace: str, platform: str = "itest", name: str = "blue") -> None:
    create_model_files(kube, namespace)
    kube.create(model_deployment(namespace, name, traffic=100, platformRef={"name": platform}))
    wait_condition(kube, namespace, name, "Ready", "True")


def status_of(kube: Kube, namespace: str, name: str = "blue") -> dict[str, Any]:
    return (kube.get(API, "ModelDeployment", name, namespace) or {}).get("status", {})


def test_deleting_the_code_config_map_shows_code_not_found_and_its_return_heals_it(kube: Kube, namespace: str) -> None:
    serve(kube, namespace)

    kube.delete("v1", "ConfigMap", "code", namespace)
    ready = wait_condition(kube, namespace, "blue", "Ready", "False", "CodeNotFound", timeout=SECONDS)
    assert "ConfigMap code named by spec.code.configMap does not exist" in ready["message"]

    create_model_files(kube, namespace)
    wait_condition(kube, namespace, "blue", "Ready", "True", timeout=SECONDS)


def test_deleting_the_model_config_map_shows_model_not_found_and_its_return_heals_it(
    kube: Kube, namespace: str
) -> None:
    serve(kube, namespace)

    kube.delete("v1", "ConfigMap", "model", namespace)
    wait_condition(kube, namespace, "blue", "Ready", "False", "ModelNotFound", timeout=SECONDS)

    create_model_files(kube, namespace)
    wait_condition(kube, namespace, "blue", "Ready", "True", timeout=SECONDS)


def test_deleting_an_image_pull_secret_shows_image_pull_secret_not_found_and_its_return_heals_it(
    kube: Kube, namespace: str
) -> None:
    kube.create(_pull_secret(namespace))
    create_model_files(kube, namespace)
    pulled = model_deployment(namespace, "blue", traffic=100, environment={"imagePullSecrets": [{"name": "regcred"}]})
    kube.create(pulled)
    wait_condition(kube, namespace, "blue", "Ready", "True")

    kube.delete("v1", "Secret", "regcred", namespace)
    ready = wait_condition(kube, namespace, "blue", "Ready", "False", "ImagePullSecretNotFound", timeout=SECONDS)
    assert "Secret regcred named by spec.environment.imagePullSecrets does not exist" in ready["message"]

    kube.create(_pull_secret(namespace))
    wait_condition(kube, namespace, "blue", "Ready", "True", timeout=SECONDS)


def test_editing_score_py_rolls_the_deployment_to_a_new_replica_set_and_status_shows_the_revision(
    kube: Kube, namespace: str
) -> None:
    serve(kube, namespace)
    first = wait_for(lambda: status_of(kube, namespace).get("revision"), SECONDS, "a revision in status")
    selector = "mlops.dev/deployment=blue"
    assert len(kube.list("apps/v1", "ReplicaSet", namespace, selector)) == 1

    edit = {"data": {"score.py": "def init():\n    pass\n\ndef run(data):\n    return 'v2'\n"}}
    kube.patch_merge("v1", "ConfigMap", "code", namespace, edit)

    wait_for(lambda: len(kube.list("apps/v1", "ReplicaSet", namespace, selector)) == 2, SECONDS, "a new ReplicaSet")
    second = wait_for(
        lambda: (
            (status_of(kube, namespace).get("revision") or first) != first and status_of(kube, namespace)["revision"]
        ),
        30,
        "the new revision in force",
    )
    template = kube.get("apps/v1", "Deployment", "blue", namespace)["spec"]["template"]["metadata"]
    assert template["annotations"]["mlops.dev/content-revision"] == second


def test_a_deleted_keys_secret_is_created_again_with_new_keys(kube: Kube, namespace: str) -> None:
    serve(kube, namespace)
    keys = "scoring-endpoint-keys"
    before = kube.get("v1", "Secret", keys, namespace)["data"]

    kube.delete("v1", "Secret", keys, namespace)

    after = wait_for(lambda: (kube.get("v1", "Secret", keys, namespace) or {}).get("data"), SECONDS, "keys again")
    assert set(after) == {"primaryKey", "secondaryKey"}
    assert after != before


def test_deleting_the_platforms_gateway_shows_gateway_not_found_and_its_return_heals_it(
    kube: Kube, namespace: str, platform: str
) -> None:
    apply_platform(kube, platform, native={"gateway": {"name": GATEWAY, "namespace": namespace}})
    kube.create(_gateway(namespace))
    serve(kube, namespace, platform)

    kube.delete("gateway.networking.k8s.io/v1", "Gateway", GATEWAY, namespace)
    ready = wait_condition(kube, namespace, "blue", "Ready", "False", "GatewayNotFound", timeout=SECONDS)
    assert f"Gateway {namespace}/{GATEWAY}" in ready["message"]

    kube.create(_gateway(namespace))
    wait_condition(kube, namespace, "blue", "Ready", "True", timeout=SECONDS)


def test_a_platform_in_use_is_kept_with_its_dependents_named_and_goes_once_they_are_gone(
    kube: Kube, namespace: str, platform: str
) -> None:
    serve(kube, namespace, platform)

    kube.delete(API, "MLOpsPlatform", platform)

    wait_condition(kube, namespace, "blue", "Ready", "False", "PlatformTerminating", timeout=SECONDS)
    blocked = wait_for(lambda: _platform_condition(kube, platform, "DeletionBlocked"), SECONDS, "DeletionBlocked")
    assert (blocked["status"], blocked["reason"]) == ("True", "InUse")
    assert f"1 ModelDeployment(s) using this platform: {namespace}/blue" in blocked["message"]
    assert "mlops.dev/force-delete=true" in blocked["message"]
    assert wait_for(lambda: _events(kube, platform, "InUse"), SECONDS, "an InUse Event naming the dependents")

    kube.delete(API, "ModelDeployment", "blue", namespace)
    wait_for(lambda: kube.get(API, "MLOpsPlatform", platform) is None, SECONDS, "the platform gone")


def test_the_force_annotation_deletes_a_platform_in_use_and_its_dependents_stop_claiming_ready(
    kube: Kube, namespace: str, platform: str
) -> None:
    serve(kube, namespace, platform)
    force = {"metadata": {"annotations": {"mlops.dev/force-delete": "true"}}}
    kube.patch_merge(API, "MLOpsPlatform", platform, None, force)

    kube.delete(API, "MLOpsPlatform", platform)

    wait_for(lambda: kube.get(API, "MLOpsPlatform", platform) is None, SECONDS, "the platform gone")
    wait_condition(kube, namespace, "blue", "Ready", "False", "PlatformNotFound", timeout=SECONDS)


def _pull_secret(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "regcred", "namespace": namespace},
        "type": "kubernetes.io/dockerconfigjson",
        "stringData": {".dockerconfigjson": '{"auths": {}}'},
    }


def _gateway(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": GATEWAY, "namespace": namespace},
        "spec": {"gatewayClassName": "none", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]},
    }


def _platform_condition(kube: Kube, name: str, type_: str) -> dict[str, Any] | None:
    body = kube.get(API, "MLOpsPlatform", name) or {}
    return next((c for c in body.get("status", {}).get("conditions", []) if c["type"] == type_), None)


def _events(kube: Kube, name: str, reason: str) -> list[dict[str, Any]]:
    """kopf posts Events of cluster-scoped objects in its context's namespace: look everywhere."""
    return [
        e for e in kube.list("v1", "Event") if e["involvedObject"].get("name") == name and e.get("reason") == reason
    ]

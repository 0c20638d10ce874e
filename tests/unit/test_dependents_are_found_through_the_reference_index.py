"""Who depends on what: index entries from a ModelDeployment or platform, and lookups that never list."""

from __future__ import annotations

from mlops_operator.api.v1alpha1 import InstanceType, MLOpsPlatform, ModelDeployment
from mlops_operator.backends.base import ObjectKey
from mlops_operator.backends.native.references import content_revision
from mlops_operator.backends.watched import watched_by_deployment, watched_by_platform
from mlops_operator.handlers.context import Dependents
from mlops_operator.handlers.deletion import deletion_blocked_message
from mlops_operator.handlers.references import index_entries
from mlops_operator.render.workload import WorkloadInputs, render_deployment

BLUE = {
    "apiVersion": "mlops.dev/v1alpha1",
    "kind": "ModelDeployment",
    "metadata": {"name": "blue", "namespace": "ml"},
    "spec": {
        "platformRef": {"name": "local"},
        "endpoint": {"name": "scoring"},
        "model": {"name": "m", "version": "1", "uri": "configmap://model"},
        "code": {"scoringScript": "score.py", "configMap": {"name": "code"}},
    },
}
SMALL = {"name": "small", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1"}}}
ROUTED = {
    "apiVersion": "mlops.dev/v1alpha1",
    "kind": "MLOpsPlatform",
    "metadata": {"name": "local"},
    "spec": {"native": {"gateway": {"name": "gw"}}},
}


def test_a_deployment_depends_on_its_platform_endpoint_configmaps_and_keys() -> None:
    assert watched_by_deployment(ModelDeployment.model_validate(BLUE)) == [
        ObjectKey("MLOpsPlatform", None, "local"),
        ObjectKey("Endpoint", "ml", "scoring"),
        ObjectKey("ConfigMap", "ml", "model"),
        ObjectKey("ConfigMap", "ml", "code"),
        ObjectKey("Secret", "ml", "scoring-endpoint-keys"),
    ]


def test_a_platform_depends_on_its_gateway_in_any_namespace_when_it_names_none() -> None:
    assert watched_by_platform(MLOpsPlatform.model_validate(ROUTED)) == [ObjectKey("Gateway", None, "gw")]


def test_an_invalid_object_indexes_nothing_until_it_is_fixed() -> None:
    broken = {**BLUE, "spec": {**BLUE["spec"], "traffic": 900}}
    assert index_entries(broken, watched_by_deployment, ("ml", "blue")) == {}


def test_dependents_of_a_configmap_and_of_a_gateway_come_from_the_indices() -> None:
    dependents = Dependents()
    deployments = {
        **{key: [("ml", "blue")] for key in index_entries(BLUE, watched_by_deployment, ("ml", "blue"))},
        ("MLOpsPlatform", None, "local"): [("ml", "blue"), ("other", "green")],
    }
    # kopf keeps a store of values per key: one value per indexed object
    platforms = {key: [name] for key, name in index_entries(ROUTED, watched_by_platform, "local").items()}
    dependents.bind(deployments, platforms)

    assert dependents.of(ObjectKey("ConfigMap", "ml", "code")) == [ObjectKey("ModelDeployment", "ml", "blue")]
    assert dependents.of(ObjectKey("ConfigMap", "ml", "unrelated")) == []
    assert dependents.of(ObjectKey("Gateway", "edge", "gw")) == [
        ObjectKey("ModelDeployment", "ml", "blue"),
        ObjectKey("ModelDeployment", "other", "green"),
    ]


def test_a_blocked_deletion_names_the_first_few_dependents_and_the_count() -> None:
    users = [ObjectKey("ModelDeployment", "ml", f"m{i}") for i in range(7)]
    message = deletion_blocked_message(users)
    assert "7 ModelDeployment(s) using this platform: ml/m0, ml/m1, ml/m2, ml/m3, ml/m4 and 2 more" in message
    assert "annotate the platform mlops.dev/force-delete=true" in message


def test_the_content_revision_follows_the_configmaps_data_and_is_empty_without_any() -> None:
    code = {"metadata": {"name": "code"}, "data": {"score.py": "v1"}}
    edited = {"metadata": {"name": "code"}, "data": {"score.py": "v2"}}
    assert content_revision([]) == ""
    assert content_revision([code]) == content_revision([dict(code)])
    assert content_revision([code]) != content_revision([edited])


def test_image_pull_secrets_are_rendered_into_the_pod_and_watched() -> None:
    pulled = ModelDeployment.model_validate(
        {
            **BLUE,
            "spec": {**BLUE["spec"], "environment": {"image": "private/x:1", "imagePullSecrets": [{"name": "reg"}]}},
        }
    )
    inputs = WorkloadInputs(instance_type=InstanceType.model_validate(SMALL), image="scoring:1", fetcher_image="f:1")
    pod = render_deployment(pulled, inputs)["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": "reg"}]
    assert ObjectKey("Secret", "ml", "reg") in watched_by_deployment(pulled)


def test_the_content_revision_is_an_annotation_of_the_pod_template_so_a_change_rolls_the_pods() -> None:
    md = ModelDeployment.model_validate(BLUE)
    base = {"instance_type": InstanceType.model_validate(SMALL), "image": "scoring:1", "fetcher_image": "f:1"}
    v1 = render_deployment(md, WorkloadInputs(**base, content_revision="aaa"))["spec"]["template"]["metadata"]
    plain = render_deployment(md, WorkloadInputs(**base))["spec"]["template"]["metadata"]
    assert v1["annotations"] == {"mlops.dev/content-revision": "aaa"}
    assert "annotations" not in plain  # nothing mounted from ConfigMaps: the template is as before

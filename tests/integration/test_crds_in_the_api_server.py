"""Our generated CRDs, loaded into a real kube-apiserver, accept the examples and reject bad objects."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from mlops_operator.devcluster import LocalCluster

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
CRD_DIR = REPO_ROOT / "crds"
EXAMPLES = sorted(
    [
        *(REPO_ROOT / "examples").glob("*.yaml"),
        *(REPO_ROOT / "examples" / "rollouts").glob("*.yaml"),
        *(REPO_ROOT / "examples" / "drift").glob("*.yaml"),
        *(REPO_ROOT / "examples" / "multiregion").glob("*.yaml"),
    ]
)
GROUP, VERSION, PLURAL = "mlops.dev", "v1alpha1", "modeldeployments"
OUR_CRDS = {"modeldeployments.mlops.dev", "mlopsplatforms.mlops.dev", "globalendpoints.mlops.dev"}


@pytest.fixture(scope="module")
def our_crds(cluster: LocalCluster) -> list[str]:
    return cluster.install_crds(CRD_DIR)


def example_deployment() -> dict[str, Any]:
    """The first ModelDeployment of the examples, without its namespace so it fits any test namespace."""
    for path in EXAMPLES:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "ModelDeployment":
                body = copy.deepcopy(doc)
                body["metadata"].pop("namespace", None)
                return dict(body)
    raise AssertionError("no ModelDeployment in examples/")


def rejection(api: client.ApiClient, namespace: str, body: dict[str, Any]) -> ApiException:
    """Server-side dry-run create with strict field validation; return the error it must raise."""
    objects = client.CustomObjectsApi(api)
    with pytest.raises(ApiException) as error:
        objects.create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, body, dry_run="All", field_validation="Strict"
        )
    return error.value


def test_our_crds_install_and_become_established(our_crds: list[str]) -> None:
    assert set(our_crds) == OUR_CRDS


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_is_accepted_by_the_api_server(our_crds: list[str], cluster: LocalCluster, example: Path) -> None:
    result = cluster.kubectl("apply", "--server-side", "--dry-run=server", "--validate=strict", "-f", str(example))
    assert "serverside-applied (server dry run)" in result.stdout


def with_spec(**changes: Any) -> dict[str, Any]:
    body = example_deployment()
    body["spec"].update(changes)
    return body


DRIFT = {"baseline": {"configMapKeyRef": {"name": "profile"}}}
BAD_DEPLOYMENTS = {
    "traffic above 100": (with_spec(traffic=150), "spec.traffic in body should be less than or equal to 100"),
    "min instances above max": (
        with_spec(scaleSettings={"type": "targetUtilization", "minInstances": 5, "maxInstances": 2}),
        "scaleSettings.minInstances must not exceed maxInstances",
    ),
    "an unknown field": (with_spec(replicas=3), 'unknown field "spec.replicas"'),
    "a string where a number belongs": (
        with_spec(instanceCount="two"),
        "spec.instanceCount in body must be of type integer",
    ),
    "a rollout gate without a threshold": (
        with_spec(
            rollout={
                "baseline": "b",
                "steps": [{"traffic": 10}],
                "analysis": {"gates": [{"name": "e", "metric": "errorRatio"}]},
            }
        ),
        "a gate needs a threshold: max, min or maxRelativeToBaseline",
    ),
    "a rollout gate with a metric and a query": (
        with_spec(
            rollout={
                "baseline": "b",
                "steps": [{"traffic": 10}],
                "analysis": {"gates": [{"name": "e", "metric": "errorRatio", "query": "up", "max": 1}]},
            }
        ),
        "a gate has either metric (built in) or query (PromQL), not both",
    ),
    "rollout steps repeating a share": (
        with_spec(rollout={"baseline": "b", "steps": [{"traffic": 10}, {"traffic": 10}]}),
        "rollout.steps traffic must be distinct (and increasing)",
    ),
    "an unknown built-in metric": (
        with_spec(
            rollout={
                "baseline": "b",
                "steps": [{"traffic": 10}],
                "analysis": {"gates": [{"name": "e", "metric": "errors", "max": 1}]},
            }
        ),
        'spec.rollout.analysis.gates[0].metric: Unsupported value: "errors"',
    ),
    "a drift window shorter than its check interval": (
        with_spec(monitoring={"drift": {**DRIFT, "windowSeconds": 60, "checkIntervalSeconds": 300}}),
        "monitoring.drift.windowSeconds must be at least checkIntervalSeconds",
    ),
    "an unknown drift statistic": (
        with_spec(monitoring={"drift": {**DRIFT, "statistic": "kolmogorov"}}),
        'spec.monitoring.drift.statistic: Unsupported value: "kolmogorov"',
    ),
    "a drift webhook that is not a URL": (
        with_spec(monitoring={"drift": {**DRIFT, "actions": {"cloudEvent": {"url": "eventgrid topic"}}}}),
        "spec.monitoring.drift.actions.cloudEvent.url in body should match",
    ),
}


@pytest.mark.parametrize(("body", "message"), BAD_DEPLOYMENTS.values(), ids=BAD_DEPLOYMENTS.keys())
def test_a_model_deployment_is_rejected_for(
    our_crds: list[str], kube_api: client.ApiClient, namespace: str, body: dict[str, Any], message: str
) -> None:
    error = rejection(kube_api, namespace, body)

    assert error.status in (400, 422)
    assert message in json.loads(error.body)["message"]


def azureml_platform(**node_pool: Any) -> dict[str, Any]:
    """The azureml example platform, renamed per case, with changes to its node pool."""
    body = dict(yaml.safe_load((REPO_ROOT / "examples" / "azureml" / "platform.yaml").read_text()))
    body["metadata"]["name"] = f"aks-{'-'.join(sorted(node_pool)).lower() or 'as-is'}"
    body["spec"]["azure"]["nodePool"].update(node_pool)
    return body


def dry_run_platform(api: client.ApiClient, body: dict[str, Any]) -> None:
    client.CustomObjectsApi(api).create_cluster_custom_object(
        GROUP, VERSION, "mlopsplatforms", body, dry_run="All", field_validation="Strict"
    )


GPU_TYPE = {
    "name": "gpu-model",
    "resources": {"requests": {"cpu": "4", "memory": "16Gi"}, "limits": {"cpu": "8", "nvidia.com/gpu": 1}},
}
BAD_PLATFORMS = {
    "a node pool taint without an effect": (
        azureml_platform(taints=["sku=gpu"]),
        "spec.azure.nodePool.taints[0] in body should match",
    ),
    "an accelerator other than nvidia": (
        azureml_platform(accelerator="amd"),
        'spec.azure.nodePool.accelerator: Unsupported value: "amd"',
    ),
}


@pytest.mark.parametrize(("body", "message"), BAD_PLATFORMS.values(), ids=BAD_PLATFORMS.keys())
def test_a_platform_is_rejected_for(
    our_crds: list[str], kube_api: client.ApiClient, body: dict[str, Any], message: str
) -> None:
    with pytest.raises(ApiException) as error:
        dry_run_platform(kube_api, body)

    assert error.value.status in (400, 422)
    assert message in json.loads(error.value.body)["message"]


def test_a_platform_with_gpu_scheduling_and_an_nvidia_pool_is_accepted(
    our_crds: list[str], kube_api: client.ApiClient
) -> None:
    body = azureml_platform(vmSize="Standard_NC24ads_A100_v4", accelerator="nvidia", taints=["sku=gpu:NoSchedule"])
    body["spec"]["instanceTypes"].append(GPU_TYPE)
    body["spec"]["gpu"] = {"nodeSelector": {"kubernetes.azure.com/accelerator": "nvidia"}, "tolerations": []}

    dry_run_platform(kube_api, body)


def global_endpoint(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(
        yaml.safe_load((REPO_ROOT / "examples" / "multiregion" / "globalendpoint-traefik.yaml").read_text())
    )
    body["metadata"].pop("namespace")
    body["spec"].update(changes)
    return dict(body)


REGION = {"name": "eastus", "cluster": {"kubeconfigSecretRef": {"name": "eastus-kubeconfig"}}}
BAD_GLOBAL_ENDPOINTS = {
    "two routers": (
        global_endpoint(
            router={"traefik": {"configPath": "/a"}, "frontDoor": {"platformRef": {"name": "a"}, "profile": "p"}}
        ),
        "set exactly one of router.traefik, router.frontDoor",
    ),
    "a region named twice": (global_endpoint(regions=[REGION, REGION]), "region names must be unique"),
    "more successes required than samples": (
        global_endpoint(healthProbe={"sampleSize": 2, "successfulSamplesRequired": 3}),
        "successfulSamplesRequired must not exceed sampleSize",
    ),
    "a priority Front Door cannot take": (
        global_endpoint(regions=[{**REGION, "priority": 6}]),
        "spec.regions[0].priority: Invalid value: 6",
    ),
    "an unknown policy": (global_endpoint(routing={"type": "geo"}), 'spec.routing.type: Unsupported value: "geo"'),
}


@pytest.mark.parametrize(("body", "message"), BAD_GLOBAL_ENDPOINTS.values(), ids=BAD_GLOBAL_ENDPOINTS.keys())
def test_a_global_endpoint_is_rejected_for(
    our_crds: list[str], kube_api: client.ApiClient, namespace: str, body: dict[str, Any], message: str
) -> None:
    objects = client.CustomObjectsApi(kube_api)
    with pytest.raises(ApiException) as error:
        objects.create_namespaced_custom_object(
            GROUP, VERSION, namespace, "globalendpoints", body, dry_run="All", field_validation="Strict"
        )
    assert error.value.status in (400, 422)
    assert message in json.loads(error.value.body)["message"]


def test_model_deployment_status_is_writable_only_through_the_status_subresource(
    our_crds: list[str], kube_api: client.ApiClient, namespace: str
) -> None:
    objects = client.CustomObjectsApi(kube_api)
    ref = (GROUP, VERSION, namespace, PLURAL)
    name = example_deployment()["metadata"]["name"]
    condition = {"type": "Ready", "status": "True", "reason": "Serving", "lastTransitionTime": "2026-01-01T00:00:00Z"}

    objects.create_namespaced_custom_object(*ref, {**example_deployment(), "status": {"conditions": [condition]}})
    objects.patch_namespaced_custom_object(*ref, name, {"status": {"conditions": [condition]}})
    ignored = objects.get_namespaced_custom_object(*ref, name)
    objects.patch_namespaced_custom_object_status(*ref, name, {"status": {"conditions": [condition]}})
    written = objects.get_namespaced_custom_object(*ref, name)

    assert ignored["status"] == {"observedGeneration": 0}  # the CRD's default: nothing written got through
    assert written["status"]["conditions"][0]["reason"] == "Serving"


def test_kubectl_get_mdep_shows_the_printer_columns(
    our_crds: list[str], cluster: LocalCluster, kube_api: client.ApiClient, namespace: str
) -> None:
    client.CustomObjectsApi(kube_api).create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, example_deployment()
    )

    narrow = cluster.kubectl("get", "mdep", "-n", namespace).stdout.splitlines()
    wide = cluster.kubectl("get", "mdep", "-n", namespace, "-o", "wide").stdout.splitlines()

    assert narrow[0].split() == ["NAME", "ENDPOINT", "VERSION", "TRAFFIC", "READY", "REASON", "AGE"]
    assert wide[0].split() == ["NAME", "ENDPOINT", "MODEL", "VERSION", "TRAFFIC", "READY", "REASON", "URI", "AGE"]
    assert narrow[1].split()[:4] == ["diabetes-blue", "diabetes", "1", "100"]

"""Every kind of bad input gets a message that names the field and says how to fix it."""

import copy

import pytest

from mlops_operator.api.problems import InvalidResourceError, parse_resource

PLATFORM = {
    "apiVersion": "mlops.dev/v1alpha1",
    "kind": "MLOpsPlatform",
    "metadata": {"name": "local"},
    "spec": {
        "instanceTypes": [
            {
                "name": "small",
                "resources": {
                    "requests": {"cpu": "1", "memory": "2Gi"},
                    "limits": {"cpu": "2", "memory": "4Gi"},
                },
            }
        ]
    },
}
DEPLOYMENT = {
    "apiVersion": "mlops.dev/v1alpha1",
    "kind": "ModelDeployment",
    "metadata": {"name": "blue", "namespace": "default"},
    "spec": {
        "platformRef": {"name": "local"},
        "endpoint": {"name": "diabetes"},
        "model": {"name": "m", "version": "1", "uri": "https://models.example/m.pkl"},
        "instanceType": "small",
    },
}


DELETE = object()


def with_change(base, path, value):
    doc = copy.deepcopy(base)
    node = doc
    *parents, last = path
    for key in parents:
        node = node[key]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return doc


BAD_INPUTS = [
    ("traffic above 100", DEPLOYMENT, ("spec", "traffic"), 150, "spec.traffic", "less than or equal to 100"),
    ("negative instance count", DEPLOYMENT, ("spec", "instanceCount"), -1, "spec.instanceCount", "0"),
    (
        "zero instances with default scaling",
        DEPLOYMENT,
        ("spec", "instanceCount"),
        0,
        "spec",
        "instanceCount",
    ),
    ("traffic is not a number", DEPLOYMENT, ("spec", "traffic"), "lots", "spec.traffic", "whole number"),
    ("mirror traffic above 50", DEPLOYMENT, ("spec", "mirrorTraffic"), 60, "spec.mirrorTraffic", "50"),
    (
        "scale min above max",
        DEPLOYMENT,
        ("spec", "scaleSettings"),
        {"type": "targetUtilization", "minInstances": 5, "maxInstances": 2},
        "spec.scaleSettings",
        "minInstances (5) must not exceed maxInstances (2)",
    ),
    (
        "GPU in requests",
        DEPLOYMENT,
        ("spec", "resources"),
        {"requests": {"nvidia.com/gpu": 1}, "limits": {"nvidia.com/gpu": 1}},
        "spec.resources",
        "limits only",
    ),
    (
        "requests above limits",
        DEPLOYMENT,
        ("spec", "resources"),
        {"requests": {"cpu": "4"}, "limits": {"cpu": "2"}},
        "spec.resources",
        "requests.cpu (4) must not exceed limits.cpu (2)",
    ),
    ("unknown field", DEPLOYMENT, ("spec", "trafic"), 10, "spec.trafic", "unknown field"),
    (
        "deployment name too long",
        DEPLOYMENT,
        ("metadata", "name"),
        "a-deployment-name-that-is-far-too-long-for-azure-ml",
        "metadata.name",
        "3-32",
    ),
    ("missing platformRef", DEPLOYMENT, ("spec", "platformRef"), DELETE, "spec.platformRef", "required"),
    (
        "missing model version",
        DEPLOYMENT,
        ("spec", "model", "version"),
        DELETE,
        "spec.model.version",
        "required",
    ),
    (
        "endpoint name with capitals",
        DEPLOYMENT,
        ("spec", "endpoint", "name"),
        "My_Endpoint",
        "spec.endpoint.name",
        "Endpoint name",
    ),
    (
        "bad auth mode",
        DEPLOYMENT,
        ("spec", "endpoint", "authMode"),
        "password",
        "spec.endpoint.authMode",
        "key",
    ),
    (
        "unsupported model scheme",
        DEPLOYMENT,
        ("spec", "model", "uri"),
        "ftp://x/m.pkl",
        "spec.model.uri",
        "https://",
    ),
    (
        "request timeout of zero",
        DEPLOYMENT,
        ("spec", "requestSettings"),
        {"requestTimeoutMs": 0},
        "spec.requestSettings.requestTimeoutMs",
        "greater than or equal to 1",
    ),
    (
        "probe period zero",
        DEPLOYMENT,
        ("spec", "livenessProbe"),
        {"period": 0},
        "spec.livenessProbe.period",
        "1",
    ),
    (
        "both live and mirror traffic",
        with_change(DEPLOYMENT, ("spec", "traffic"), 50),
        ("spec", "mirrorTraffic"),
        10,
        "spec",
        "not both",
    ),
    ("unknown backend", PLATFORM, ("spec", "backend"), "gke", "spec.backend", "'native' or 'azureml'"),
    (
        "bad memory quantity",
        PLATFORM,
        ("spec", "instanceTypes", 0, "resources", "limits", "memory"),
        "4 gigs",
        "spec.instanceTypes[0].resources.limits.memory",
        "not a Kubernetes quantity",
    ),
    (
        "instance type without limits",
        PLATFORM,
        ("spec", "instanceTypes", 0, "resources", "limits"),
        DELETE,
        "spec.instanceTypes[0]",
        "both resources.requests and resources.limits",
    ),
    (
        "azureml without azure settings",
        PLATFORM,
        ("spec", "backend"),
        "azureml",
        "spec",
        "needs the azure section",
    ),
    (
        "unknown default instance type",
        PLATFORM,
        ("spec", "defaultInstanceType"),
        "huge",
        "spec",
        "not one of",
    ),
    (
        "instance type name with capitals",
        PLATFORM,
        ("spec", "instanceTypes", 0, "name"),
        "Small",
        "spec.instanceTypes[0].name",
        "pattern",
    ),
]


@pytest.mark.parametrize(
    ("base", "path", "value", "field", "words"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input_is_reported_at_its_field(base, path, value, field, words):
    with pytest.raises(InvalidResourceError) as caught:
        parse_resource(with_change(base, path, value))
    lines = [str(p) for p in caught.value.problems]
    assert any(line.startswith(f"{field}:") and words in line for line in lines), lines


def test_there_are_at_least_fifteen_distinct_bad_inputs():
    assert len({case[0] for case in BAD_INPUTS}) >= 15


def test_unknown_kind_and_api_version_are_named():
    with pytest.raises(InvalidResourceError, match=r"kind: unknown kind 'Pod'"):
        parse_resource({"apiVersion": "v1", "kind": "Pod"})
    with pytest.raises(InvalidResourceError, match=r"apiVersion: 'mlops\.dev/v2' is not served"):
        parse_resource({**DEPLOYMENT, "apiVersion": "mlops.dev/v2"})


def test_the_base_documents_are_valid():
    parse_resource(PLATFORM)
    parse_resource(DEPLOYMENT)

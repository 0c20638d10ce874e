"""What `mlopsctl dev` puts into the local cluster besides the CRDs: the examples and what they need."""

from __future__ import annotations

import base64
import json
import runpy
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from mlops_operator import naming
from mlops_operator.api.crd import KINDS, render_crd
from mlops_operator.cli.resources import is_ready
from mlops_operator.kube import Kube

FIELD_MANAGER = "mlopsctl-dev"
MODEL_DIR = Path("models") / "sklearn-diabetes"
GATEWAY_NAMESPACE = "mlops-system"
GATEWAY_NAME = "mlops-gateway"


def crd_documents() -> list[dict[str, Any]]:
    """Our CRDs rendered from the installed models (no dependency on a checkout's crds/ folder)."""
    return [render_crd(kind) for kind in KINDS]


def example_documents(examples: Path) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(examples.glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if isinstance(d, dict))
    return docs


def model_configmaps(examples: Path, namespace: str = "default") -> list[dict[str, Any]]:
    """The example's scoring code and a freshly trained model (v1 and v2) as ConfigMaps."""
    source = examples / MODEL_DIR
    code = {"score.py": (source / "score.py").read_text(encoding="utf-8")}
    with tempfile.TemporaryDirectory() as tmp:
        train = runpy.run_path(str(source / "train.py"))["train"]
        model = Path(train(tmp)).read_bytes()
    encoded = base64.b64encode(model).decode()
    maps = [_configmap("sklearn-diabetes-code", namespace, data=code)]
    for version in ("v1", "v2"):
        maps.append(_configmap(f"sklearn-diabetes-model-{version}", namespace, binary={"model.pkl": encoded}))
    return maps


def _configmap(
    name: str, namespace: str, data: dict[str, str] | None = None, binary: dict[str, str] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}}
    if data:
        body["data"] = data
    if binary:
        body["binaryData"] = binary
    return body


def gateway_documents() -> list[dict[str, Any]]:
    """A Gateway for the example platform's routes. No data plane programs it locally: routes attach, nothing
    listens (pods are simulated by kwok)."""
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": GATEWAY_NAMESPACE}},
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": {"name": "mlops-dev"},
            "spec": {"controllerName": "mlops.dev/dev-no-dataplane"},
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": GATEWAY_NAME, "namespace": GATEWAY_NAMESPACE},
            "spec": {
                "gatewayClassName": "mlops-dev",
                "listeners": [
                    {"name": "http", "protocol": "HTTP", "port": 80, "allowedRoutes": {"namespaces": {"from": "All"}}}
                ],
            },
        },
    ]


SAMPLE_ROW = [0.03, 0.05, 0.06, 0.02, -0.04, -0.03, -0.04, 0.0, 0.02, -0.02]


def wait_serving(
    kube: Kube, gateway_url: str, timeout: float, namespace: str = "default", endpoint: str = "diabetes"
) -> bool:
    """Until a keyed request through the Gateway answers 200: Ready pods reach the Gateway's backends a
    moment later (it watches their EndpointSlices), and the printed curl should work when it is printed."""
    secret = kube.get("v1", "Secret", naming.keys_secret_name(endpoint), namespace) or {}
    key = base64.b64decode((secret.get("data") or {}).get("primaryKey", "")).decode()
    url = f"{gateway_url}{naming.scoring_path(namespace, endpoint)}/score"
    body = json.dumps({"data": [SAMPLE_ROW]}).encode()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        request = urllib.request.Request(url, data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return bool(response.status == 200)
        except (OSError, urllib.error.HTTPError):
            time.sleep(0.5)
    return False


def curl_example(gateway_url: str, namespace: str = "default", endpoint: str = "diabetes") -> str:
    """A request a user can paste: the endpoint's URL on the Gateway, its key from the keys Secret."""
    url = f"{gateway_url}{naming.scoring_path(namespace, endpoint)}/score"
    secret = naming.keys_secret_name(endpoint)
    row = json.dumps(SAMPLE_ROW, separators=(",", ":"))
    return (
        "\nscore through the Gateway (the answer's azureml-model-deployment header names the deployment):\n"
        f"  KEY=$(kubectl get secret -n {namespace} {secret} -o jsonpath='{{.data.primaryKey}}' | base64 -d)\n"
        f"  curl -si {url} -H \"Authorization: Bearer $KEY\" -H 'Content-Type: application/json' \\\n"
        f"    -d '{{\"data\": [{row}]}}'"
    )


def apply_all(kube: Kube, documents: list[dict[str, Any]]) -> None:
    for document in documents:
        kube.apply(document, FIELD_MANAGER)


def wait_ready(kube: Kube, timeout: float) -> list[dict[str, Any]]:
    """Every MLOpsPlatform and ModelDeployment, once all are Ready at their generation (or at the deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        items = [*kube.list("mlops.dev/v1alpha1", "MLOpsPlatform"), *kube.list("mlops.dev/v1alpha1", "ModelDeployment")]
        if (items and all(is_ready(i) for i in items)) or time.monotonic() > deadline:
            return items
        time.sleep(0.5)


CHILD_KINDS = (
    ("apps/v1", "Deployment"),
    ("v1", "Service"),
    ("policy/v1", "PodDisruptionBudget"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"),
    ("v1", "Secret"),
    ("v1", "Pod"),
)


def created_objects(kube: Kube, namespace: str = "default") -> list[str]:
    found = []
    for api_version, kind in CHILD_KINDS:
        for item in kube.list(api_version, kind, namespace, "app.kubernetes.io/managed-by=mlops-operator"):
            found.append(f"{kind.lower()}/{item['metadata']['name']}")
    return found

"""The endpoint keys the operator generates appear in their Secret and nowhere else a user or a log
pipeline reads: not in the operator's log lines (debug level included), not in Events, not in status, and
not in the scoring Deployment's pod template, which reaches them only through the mounted Secret."""

from __future__ import annotations

import base64
import json

from kopf.testing import KopfRunner

from mlops_operator.kube import Kube

from .helpers import apply_platform, create_model_files, model_deployment, wait_condition

KEYS_SECRET = "scoring-endpoint-keys"


def test_keys_are_in_their_secret_and_in_no_log_line_event_or_status(
    kubeconfig_env: str, kube: Kube, namespace: str
) -> None:
    apply_platform(kube)
    create_model_files(kube, namespace)
    argv = ["run", "--all-namespaces", "--standalone", "--verbose", "-m", "mlops_operator.handlers"]
    with KopfRunner(argv, timeout=60) as runner:
        kube.create(model_deployment(namespace, "blue", traffic=100))
        wait_condition(kube, namespace, "blue", "Ready", "True")
        kube.patch_merge("mlops.dev/v1alpha1", "ModelDeployment", "blue", namespace, {"spec": {"instanceCount": 2}})
        wait_condition(kube, namespace, "blue", "Ready", "True")
        secret = kube.get("v1", "Secret", KEYS_SECRET, namespace)
        status = kube.get("mlops.dev/v1alpha1", "ModelDeployment", "blue", namespace)["status"]
        events = kube.list("v1", "Event", namespace)
        deployment = kube.get("apps/v1", "Deployment", "blue", namespace)
    assert runner.exception is None, runner.exception

    assert secret is not None
    encoded = [secret["data"]["primaryKey"], secret["data"]["secondaryKey"]]
    keys = [base64.b64decode(value).decode() for value in encoded]
    assert all(len(key) >= 16 for key in keys)
    # The logs were captured at debug level, and they show the operator handling the very Secret.
    assert f"secrets/{KEYS_SECRET}" in runner.output
    assert deployment is not None
    pod = deployment["spec"]["template"]
    places = {
        "operator log": runner.output,
        "events": json.dumps(events),
        "status": json.dumps(status),
        "pod template": json.dumps(pod),
    }
    for place, text in places.items():
        for secret_value in keys + encoded:
            assert secret_value not in text, f"a key appears in the {place}"

    # The pod reaches the keys only by reference: the Secret mounted as a volume, no env value inline.
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["endpoint-keys"]["secret"]["secretName"] == KEYS_SECRET
    containers = pod["spec"]["containers"] + pod["spec"].get("initContainers", [])
    assert any(m["name"] == "endpoint-keys" for c in containers for m in c.get("volumeMounts", []))
    secret_env = [e for c in containers for e in c.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})]
    assert all(e["valueFrom"]["secretKeyRef"]["name"] == KEYS_SECRET for e in secret_env)

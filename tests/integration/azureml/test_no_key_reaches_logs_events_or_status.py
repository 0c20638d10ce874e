"""The endpoint keys Azure ML hands out reach their Secret and nowhere else: not the operator's log lines
(debug level, Azure SDK logging included), not Events, not status."""

from __future__ import annotations

import base64
import json

from kopf.testing import KopfRunner

from fake_arm import FakeArm
from mlops_operator.kube import Kube

from .helpers import RG, WS, create_ready_platform, md_body, status_of, wait_condition

ENDPOINT = "mlops-endpoint"
ARGV = ["run", "--all-namespaces", "--standalone", "--verbose", "-m", "azureml.operator_entry"]


def test_azure_ml_keys_are_in_their_secret_and_in_no_log_line_event_or_status(
    azure_env: FakeArm, kube: Kube, namespace: str
) -> None:
    with KopfRunner(ARGV, timeout=60) as runner:
        create_ready_platform(kube)
        kube.create(md_body(namespace, "blue", traffic=100))
        wait_condition(kube, "ModelDeployment", "blue", "Ready", "True", namespace)
        status = status_of(kube, "ModelDeployment", "blue", namespace)
        events = kube.list("v1", "Event", namespace)
        secret = kube.get("v1", "Secret", f"{ENDPOINT}-endpoint-keys", namespace)
    assert runner.exception is None, runner.exception

    keys = list(azure_env.endpoint_keys(RG, WS, ENDPOINT).values())
    assert secret is not None
    assert sorted(base64.b64decode(v).decode() for v in secret["data"].values()) == sorted(keys)
    encoded = list(secret["data"].values())
    assert "listKeys" in runner.output  # debug logs saw the key exchange happen
    places = {
        "operator log": runner.output,
        "events": json.dumps([{k: e.get(k) for k in ("reason", "message", "note")} for e in events]),
        "status": json.dumps(status),
    }
    for place, text in places.items():
        for value in keys + encoded:
            assert value not in text, f"an Azure ML endpoint key appears in the {place}"

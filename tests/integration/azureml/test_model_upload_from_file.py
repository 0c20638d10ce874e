"""A model given as a local file (file://) is uploaded to the workspace's blob storage, then registered.

azure-ai-ml uploads to ``https://<account>.blob.<storage suffix>``, a name that never resolves here: the
test sends it through the fake's CONNECT proxy (``HTTPS_PROXY``), which serves that host with a certificate
from the fake's CA and keeps the blobs in memory; ARM calls to 127.0.0.1 bypass it (``NO_PROXY``).
"""

from __future__ import annotations

from pathlib import Path

from fake_arm import FakeArm
from mlops_operator.config import OperatorSettings
from mlops_operator.handlers.context import build_context
from mlops_operator.handlers.flows import deployment_key, look
from mlops_operator.kube import Kube

from .conftest import start_operator
from .helpers import RG, WS, create_ready_platform, md_body, wait_condition
from .operator_entry import static_token

MD = "ModelDeployment"
MODEL_BYTES = b"\x80\x04 a pickled model, or near enough \x00\xff"


def test_a_file_model_is_uploaded_through_the_blob_proxy_registered_and_not_uploaded_again_on_resync(
    blob_proxy_env: FakeArm, kube: Kube, namespace: str, kubeconfig: str, tmp_path: Path
) -> None:
    fake = blob_proxy_env
    model_file = tmp_path / "model.pkl"
    model_file.write_bytes(MODEL_BYTES)
    model = {"name": "local-model", "version": "3", "uri": f"file://{model_file}"}
    with start_operator():
        create_ready_platform(kube)
        kube.create(md_body(namespace, "blue", traffic=100, model=model))
        ready = wait_condition(kube, MD, "blue", "ModelReady", "True", namespace)
        wait_condition(kube, MD, "blue", "Ready", "True", namespace)

    assert f"registered from file://{model_file}" in ready["message"]
    [upload] = fake.blob_uploads()
    datastore = fake.resource(f"{fake.workspace_id(RG, WS)}/datastores/workspaceblobstore")
    assert (upload.account, upload.container) == ("fakestore", datastore["properties"]["containerName"])
    assert upload.name.startswith("LocalUpload/")
    assert upload.name.endswith("/model.pkl")
    assert upload.data == MODEL_BYTES
    stored = fake.blob(upload.account, upload.container, upload.name)
    assert stored is not None
    assert stored.metadata.get("upload_status") == "completed"
    calls = [(c.method, c.query.get("comp"), c.status) for c in fake.blob_calls()]
    assert calls == [("HEAD", None, 404), ("PUT", None, 201), ("PUT", "metadata", 200)]
    assert {c.host for c in fake.blob_calls()} == {f"fakestore.blob.{fake.storage_suffix}"}
    version = fake.resource(f"{fake.workspace_id(RG, WS)}/models/local-model/versions/3")
    assert version is not None
    workspace = f"subscriptions/{fake.subscription_id}/resourcegroups/{RG}/workspaces/{WS}"
    assert version["properties"]["modelUri"] == (
        f"azureml://{workspace}/datastores/workspaceblobstore/paths/{upload.name}"
    )

    ctx = build_context(OperatorSettings(), kubeconfig, credential_factory=static_token)
    fake.reset_log()
    look(ctx, deployment_key(namespace, "blue"))

    assert {k: n for k, n in fake.call_counts().items() if k[0] != "GET"} == {}
    assert fake.blob_calls() == []
    assert fake.blob_uploads() == []
    assert ctx.kube.writes == 0, {k: n for k, n in ctx.kube.requests.items() if not k.startswith("GET")}

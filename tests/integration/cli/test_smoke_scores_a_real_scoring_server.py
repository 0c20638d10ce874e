"""`mlopsctl smoke` against a real scoring server on 127.0.0.1, found through a ModelDeployment's status.

No operator runs in this module: the test writes the status subresource itself (scoringUri on
127.0.0.1, the keys Secret) so that smoke's requests reach a real local process, never a kwok pod's
fake IP. The server is our scoring server with the sklearn diabetes example and key authentication on.
"""

from __future__ import annotations

import base64
import http.client
import json
import runpy
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from native_backend.helpers import model_deployment

from mlops_operator.cli.main import main
from mlops_operator.devcluster.process import LOOPBACK, ManagedProcess, child_env, free_ports
from mlops_operator.kube import Kube

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "models" / "sklearn-diabetes"
KEY = "smoke-test-primary-key"
ROW = [0.03, 0.05, 0.06, 0.02, -0.04, -0.03, -0.04, 0.0, 0.02, -0.02]


def _ready(port: int) -> bool:
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=2)
    try:
        connection.request("GET", "/readiness")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


@pytest.fixture(scope="module")
def scorer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The diabetes model behind our scoring server on 127.0.0.1, requiring KEY; yields its port."""
    work = tmp_path_factory.mktemp("scorer")
    runpy.run_path(str(EXAMPLE / "train.py"))["train"](str(work / "model"))
    (work / "keys").mkdir()
    (work / "keys" / "primaryKey").write_text(KEY)
    (work / "keys" / "secondaryKey").write_text(KEY + "-2")
    port = free_ports(1)[0]
    argv = [
        sys.executable, "-m", "mlops_operator.scoring", "--entry-script", str(EXAMPLE / "score.py"),
        "--model-dir", str(work / "model"), "--host", LOOPBACK, "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    env = child_env(
        {"PYTHONPATH": str(REPO / "operator"), "MLOPS_KEYS_DIR": str(work / "keys"), "AZUREML_DEPLOYMENT_NAME": "blue"}
    )
    process = ManagedProcess("smoke-scorer", argv, work / "scorer.log", env=env)
    process.start(die_with_parent=True)
    try:
        process.wait_ready(lambda: _ready(port), time.monotonic() + 60)
        yield port
    finally:
        process.stop()


def published(kube: Kube, namespace: str, port: int, name: str = "blue") -> None:
    """A ModelDeployment whose status points at the local scorer, and the endpoint's keys Secret."""
    kube.create(model_deployment(namespace, name, traffic=100))
    status = {
        "observedGeneration": 1,
        "scoringUri": f"http://{LOOPBACK}:{port}/score",
        "keysSecretRef": {"name": "scoring-endpoint-keys"},
    }
    kube.patch_merge("mlops.dev/v1alpha1", "ModelDeployment", name, namespace, {"status": status}, subresource="status")
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "scoring-endpoint-keys", "namespace": namespace},
        "data": {"primaryKey": base64.b64encode(KEY.encode()).decode()},
    }
    kube.create(secret)


@pytest.fixture
def request_file(tmp_path: Path) -> Path:
    path = tmp_path / "sample-request.json"
    path.write_text(json.dumps({"data": [ROW]}))
    return path


def smoke(capsys: pytest.CaptureFixture[str], kubeconfig: str, *argv: str) -> tuple[int, str, str]:
    code = main(["smoke", *argv, "--kubeconfig", kubeconfig])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_smoke_gets_a_real_prediction_with_the_key_from_the_secret(
    kube: Kube, namespace: str, kubeconfig_env: str, scorer: int, request_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    published(kube, namespace, scorer)

    argv = ("mdep/blue", "-n", namespace, "--data", str(request_file), "--requests", "20", "-o", "json")
    code, out, _ = smoke(capsys, kubeconfig_env, *argv)

    result = json.loads(out)
    assert code == 0, result
    assert result["statuses"] == {"200": 20}
    assert result["answeredBy"] == {"blue": 20}
    assert set(result["latencyMs"]) == {"p50", "p90", "p99", "max"}
    [prediction] = json.loads(result["response"])
    assert 50 < prediction < 350  # the diabetes target's range
    with capsys.disabled():
        print(f"\nsmoke: 20 requests to a local scoring server, latency ms {result['latencyMs']}")


def test_a_pinned_smoke_answered_by_another_deployment_fails(
    kube: Kube, namespace: str, kubeconfig_env: str, scorer: int, request_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    published(kube, namespace, scorer)

    argv = ("mdep/blue", "-n", namespace, "--data", str(request_file), "--deployment", "green")
    code, out, _ = smoke(capsys, kubeconfig_env, *argv)

    assert code == 1
    assert out.splitlines()[-1] == "FAILED: pinned to green but answered by {'blue': 1}"


def test_an_unexpected_status_fails_the_smoke(
    kube: Kube, namespace: str, kubeconfig_env: str, scorer: int, request_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    published(kube, namespace, scorer)
    request_file.write_text('{"not": "data"}')  # run() raises KeyError: the server answers 500

    code, out, _ = smoke(capsys, kubeconfig_env, "mdep/blue", "-n", namespace, "--data", str(request_file))

    assert code == 1
    assert out.splitlines()[-1].startswith("FAILED: expected status 200 for every request, got {'5")


def test_a_deployment_without_a_scoring_uri_yet_is_not_found(
    kube: Kube, namespace: str, kubeconfig_env: str, request_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kube.create(model_deployment(namespace, "fresh"))

    code, _, err = smoke(capsys, kubeconfig_env, "mdep/fresh", "-n", namespace, "--data", str(request_file))

    assert code == 4
    assert err == f"error: ModelDeployment {namespace}/fresh has no scoringUri or keysSecretRef in status yet\n"

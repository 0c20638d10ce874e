"""`mlopsctl status`, `wait` and `promote` against the operator on the local control plane (kwok nodes)."""

from __future__ import annotations

import json
import time

import pytest
from native_backend.helpers import create_model_files, model_deployment, wait_condition

from mlops_operator.cli.main import main
from mlops_operator.kube import Kube

pytestmark = pytest.mark.usefixtures("operator")


def mlopsctl(capsys: pytest.CaptureFixture[str], kubeconfig: str, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--kubeconfig", kubeconfig])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_wait_succeeds_on_ready_and_status_shows_the_deployment(
    kube: Kube, namespace: str, kubeconfig_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    create_model_files(kube, namespace)
    kube.create(model_deployment(namespace, "blue", traffic=100, instanceCount=2))

    started = time.monotonic()
    code, out, err = mlopsctl(capsys, kubeconfig_env, "wait", "mdep/blue", "-n", namespace, "--timeout", "60s")
    with capsys.disabled():
        print(f"\nwait until Ready took {time.monotonic() - started:.2f}s")
    assert (code, out) == (0, "mdep/blue: Ready (generation 1)\n")
    assert err.splitlines()[-1].startswith("mdep/blue: Ready (generation 1)")

    code, out, _ = mlopsctl(capsys, kubeconfig_env, "status", "mdep/blue", "-n", namespace, "-o", "json")
    [row] = json.loads(out)
    assert code == 0
    assert (row["ready"], row["reason"], row["traffic"], row["replicas"]) == (
        "True",
        "Ready",
        100,
        {"ready": 2, "desired": 2},
    )
    assert row["scoringUri"] == f"http://scoring-endpoint.{namespace}.svc.cluster.local/score"

    code, out, _ = mlopsctl(capsys, kubeconfig_env, "status", "-n", namespace)
    lines = out.splitlines()
    assert code == 0
    assert lines[0].startswith("KIND ")
    assert any(
        line.split()[:7] == ["ModelDeployment", namespace, "blue", "True", "Ready", "scoring", "100%"] for line in lines
    )
    assert any(line.split()[:4] == ["MLOpsPlatform", "-", "itest", "True"] for line in lines)


def test_wait_fails_with_the_reason_of_a_broken_deployment(
    kube: Kube, namespace: str, kubeconfig_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    create_model_files(kube, namespace)
    kube.create(model_deployment(namespace, "broken", traffic=100, instanceType="gpu-xxl"))

    argv = ("wait", "mdep/broken", "-n", namespace, "--timeout", "60s", "--fail-after", "0")
    code, out, _ = mlopsctl(capsys, kubeconfig_env, *argv)

    assert code == 1
    assert out.startswith("mdep/broken: Ready=False InstanceTypeNotFound: ")
    assert "gpu-xxl" in out


def test_wait_for_a_missing_deployment_exits_not_found_and_deleted_passes(
    namespace: str, kubeconfig_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert mlopsctl(capsys, kubeconfig_env, "wait", "mdep/ghost", "-n", namespace, "--timeout", "5s")[0] == 4
    argv = ("wait", "mdep/ghost", "-n", namespace, "--for", "deleted", "--timeout", "5s")
    assert mlopsctl(capsys, kubeconfig_env, *argv)[0] == 0


def test_promote_moves_traffic_in_steps_each_applied_before_the_next(
    kube: Kube, namespace: str, kubeconfig_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    create_model_files(kube, namespace)
    kube.create(model_deployment(namespace, "blue", traffic=100))
    kube.create(model_deployment(namespace, "green", traffic=0))
    for name in ("blue", "green"):
        wait_condition(kube, namespace, name, "Ready", "True")

    argv = ("promote", "scoring", "--to", "green", "--steps", "10,50,100", "--interval", "0", "-n", namespace)
    started = time.monotonic()
    code, out, err = mlopsctl(capsys, kubeconfig_env, *argv)
    with capsys.disabled():
        print(f"\npromote in 3 steps took {time.monotonic() - started:.2f}s")

    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "step 1 of 3: blue=90, green=10: patching blue, green",
        "  in force",
        "step 2 of 3: blue=50, green=50: patching blue, green",
        "  in force",
        "step 3 of 3: blue=0, green=100: patching blue, green",
        "  in force",
    ]
    for name in ("blue", "green"):
        item = kube.get("mlops.dev/v1alpha1", "ModelDeployment", name, namespace)
        assert item["spec"]["traffic"] == {"blue": 0, "green": 100}[name]
        assert item["status"]["traffic"] == {"blue": 0, "green": 100}
        applied = next(c for c in item["status"]["conditions"] if c["type"] == "TrafficApplied")
        assert applied["status"] == "True"


def test_promote_print_writes_nothing_and_prints_each_step(
    kube: Kube, namespace: str, kubeconfig_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    create_model_files(kube, namespace)
    kube.create(model_deployment(namespace, "blue", traffic=100))
    kube.create(model_deployment(namespace, "green", traffic=0))

    code, out, _ = mlopsctl(capsys, kubeconfig_env, "promote", "scoring", "--to", "green", "--print", "-n", namespace)

    assert code == 0
    assert [line for line in out.splitlines() if line.startswith("#")] == [
        "# step 1 of 3: blue=90, green=10",
        "# step 2 of 3: blue=50, green=50",
        "# step 3 of 3: blue=0, green=100",
    ]
    assert kube.get("mlops.dev/v1alpha1", "ModelDeployment", "green", namespace)["spec"]["traffic"] == 0

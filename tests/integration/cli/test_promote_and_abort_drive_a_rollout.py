"""`mlopsctl promote` and `abort` on a rollout under way (kwok pods; gates read a Prometheus API double).

Steps without a pause wait for a human: `promote --next-step` ends one, `promote` skips the rest,
`abort` sends the traffic back to the baseline. None of them touches a spec."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from native_backend.helpers import create_model_files, model_deployment, wait_condition
from polling import wait_for
from prometheus_double import PrometheusDouble

from mlops_operator.cli.main import main
from mlops_operator.kube import Kube

pytestmark = pytest.mark.usefixtures("operator")
MD = "ModelDeployment"


@pytest.fixture
def metrics() -> Iterator[PrometheusDouble]:
    with PrometheusDouble() as double:
        double.values.update(green=0.0, blue=0.0)
        yield double


def mlopsctl(capsys: pytest.CaptureFixture[str], kubeconfig: str, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--kubeconfig", kubeconfig])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _green_waiting_at_its_first_step(kube: Kube, namespace: str, metrics: PrometheusDouble) -> None:
    create_model_files(kube, namespace)
    kube.create(model_deployment(namespace, "blue", traffic=100))
    wait_condition(kube, namespace, "blue", "Ready", "True")
    rollout = {
        "baseline": "blue",
        "steps": [{"traffic": 10}, {"traffic": 40}, {"traffic": 70}],
        "analysis": {
            "intervalSeconds": 1,
            "gates": [{"name": "errors", "metric": "errorRatio", "max": 0.05}],
            "prometheus": {"address": metrics.url},
        },
    }
    kube.create(model_deployment(namespace, "green", traffic=100, rollout=rollout))
    kube.patch_merge("mlops.dev/v1alpha1", MD, "blue", namespace, {"spec": {"traffic": 0}})
    wait_for(lambda: _rollout(kube, namespace).get("phase") == "Paused", 60, "green paused at its first step")


def _rollout(kube: Kube, namespace: str) -> dict[str, object]:
    body = kube.get("mlops.dev/v1alpha1", MD, "green", namespace) or {}
    return dict((body.get("status") or {}).get("rollout") or {})


def _specs(kube: Kube, namespace: str) -> dict[str, int]:
    items = kube.list("mlops.dev/v1alpha1", MD, namespace)
    return {i["metadata"]["name"]: i["spec"]["traffic"] for i in items}


def test_promote_ends_a_waiting_step_then_skips_the_rest(
    kube: Kube, namespace: str, kubeconfig_env: str, metrics: PrometheusDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    _green_waiting_at_its_first_step(kube, namespace, metrics)
    assert _rollout(kube, namespace)["traffic"] == 10

    code, out, _ = mlopsctl(
        capsys, kubeconfig_env, "promote", "scoring", "--to", "green", "--next-step", "-n", namespace
    )
    assert code == 0, out
    wait_for(lambda: _rollout(kube, namespace).get("traffic") == 40, 30, "green at its second step")

    code, out, _ = mlopsctl(capsys, kubeconfig_env, "promote", "scoring", "--to", "green", "-n", namespace)
    assert code == 0, out
    assert "Succeeded" in out
    final = _rollout(kube, namespace)
    assert [h["result"] for h in final["history"]] == ["Passed", "Promoted"]  # type: ignore[index]
    assert _specs(kube, namespace) == {"blue": 0, "green": 100}
    green = kube.get("mlops.dev/v1alpha1", MD, "green", namespace) or {}
    assert "rollout.mlops.dev/action" not in (green["metadata"].get("annotations") or {})


def test_abort_sends_the_traffic_back_and_retry_starts_again(
    kube: Kube, namespace: str, kubeconfig_env: str, metrics: PrometheusDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    _green_waiting_at_its_first_step(kube, namespace, metrics)

    code, out, _ = mlopsctl(capsys, kubeconfig_env, "abort", "green", "-n", namespace)
    assert code == 0, out
    wait_for(
        lambda: (
            (kube.get("mlops.dev/v1alpha1", MD, "blue", namespace) or {}).get("status", {}).get("traffic")
            == {"blue": 100, "green": 0}
        ),
        30,
        "blue carrying everything again",
    )
    ready = wait_condition(kube, namespace, "green", "Ready", "False", reason="RolledBack")
    assert "aborted by request" in ready["message"]

    code, _, err = mlopsctl(capsys, kubeconfig_env, "abort", "green", "-n", namespace)
    assert code == 1
    assert "has no rollout that is" in err

    kube.patch_merge(
        "mlops.dev/v1alpha1",
        MD,
        "green",
        namespace,
        {"metadata": {"annotations": {"rollout.mlops.dev/action": "retry"}}},
    )
    wait_for(lambda: _rollout(kube, namespace).get("phase") == "Paused", 60, "green paused at its first step again")

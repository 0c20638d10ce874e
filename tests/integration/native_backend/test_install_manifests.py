"""The install paths: kustomize's deploy/ matches the Helm chart, and the chart's RBAC is all the operator needs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from mlops_operator.devcluster import LocalCluster, write_token_kubeconfig
from mlops_operator.kube import Kube

from .helpers import apply_platform, create_model_files, model_deployment, start_operator, wait_condition

REPO = Path(__file__).resolve().parents[3]


def _helm_template(cluster: LocalCluster) -> str:
    helm = cluster.assets.binary("helm")
    rendered = subprocess.run(
        [str(helm), "template", "mlops", str(REPO / "charts" / "mlops-operator"), "--namespace", "mlops-system"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return rendered.stdout


def test_deploy_folder_is_the_rendered_helm_chart(crds: LocalCluster) -> None:
    committed = (REPO / "deploy" / "operator.yaml").read_text().split("\n", 1)[1]
    assert committed == _helm_template(crds), "deploy/operator.yaml is stale: run hack/render-deploy.sh"


def test_the_chart_rbac_is_enough_for_the_operator(
    crds: LocalCluster, kube: Kube, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crds.kubectl("apply", "--server-side", "--force-conflicts", "-k", str(REPO / "deploy"))
    token = crds.create_token("mlops-operator", "mlops-system")
    kubeconfig = write_token_kubeconfig(tmp_path / "sa.kubeconfig", crds.server_url, crds.ca_cert_path, token)
    monkeypatch.setitem(os.environ, "KUBECONFIG", str(kubeconfig))
    apply_platform(kube)
    create_model_files(kube, namespace)
    kube.create(model_deployment(namespace, "blue", traffic=100, instanceCount=2, scaleSettings={"type": "default"}))

    with start_operator() as runner:
        ready = wait_condition(kube, namespace, "blue", "Ready", "True", timeout=90)

    assert runner.exception is None
    # An earlier test's namespace still terminating refuses Events to anyone: not a gap in our RBAC.
    denied = [line for line in runner.output.splitlines() if "Forbidden" in line and "being terminated" not in line]
    assert denied == [], runner.output[-3000:]
    assert ready["reason"] == "Ready"

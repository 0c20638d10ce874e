"""The install paths: kustomize's deploy/ matches the Helm chart, the chart's RBAC is all the operator needs, and
its FlowSchema gives the operator's ServiceAccount the API priority level the control plane's controllers have."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from polling import wait_for

from mlops_operator.devcluster import LocalCluster, write_token_kubeconfig
from mlops_operator.kube import Kube

from .helpers import apply_platform, create_model_files, model_deployment, start_operator, wait_condition

REPO = Path(__file__).resolve().parents[3]


SERVICE_ACCOUNTS_FLOWSCHEMA_PRECEDENCE = 9000  # the API server's suggested `service-accounts` (workload-low)


def _helm_template(cluster: LocalCluster, *values: str) -> str:
    helm = cluster.assets.binary("helm")
    chart = str(REPO / "charts" / "mlops-operator")
    rendered = subprocess.run(
        [str(helm), "template", "mlops", chart, "--namespace", "mlops-system", *values],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return rendered.stdout


def _objects(rendered: str, kind: str) -> list[dict[str, Any]]:
    return [o for o in yaml.safe_load_all(rendered) if o and o["kind"] == kind]


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


def test_the_chart_gives_the_operators_service_account_the_workload_high_priority_level(crds: LocalCluster) -> None:
    rendered = _helm_template(crds)
    [account] = _objects(rendered, "ServiceAccount")
    [schema] = _objects(rendered, "FlowSchema")

    assert schema["apiVersion"] == "flowcontrol.apiserver.k8s.io/v1"
    assert schema["spec"]["priorityLevelConfiguration"] == {"name": "workload-high"}
    assert schema["spec"]["matchingPrecedence"] < SERVICE_ACCOUNTS_FLOWSCHEMA_PRECEDENCE
    [rule] = schema["spec"]["rules"]
    subject = {"name": account["metadata"]["name"], "namespace": account["metadata"]["namespace"]}
    assert rule["subjects"] == [{"kind": "ServiceAccount", "serviceAccount": subject}]
    assert rule["resourceRules"][0]["verbs"] == ["*"]


def test_the_flowschema_follows_a_named_service_account_and_can_be_left_out(crds: LocalCluster) -> None:
    [named] = _objects(_helm_template(crds, "--set=serviceAccount.name=ml-controller"), "FlowSchema")
    assert named["spec"]["rules"][0]["subjects"][0]["serviceAccount"]["name"] == "ml-controller"
    assert _objects(_helm_template(crds, "--set=flowSchema.enabled=false"), "FlowSchema") == []


def test_the_api_server_accepts_the_flowschema_and_resolves_its_priority_level(crds: LocalCluster) -> None:
    crds.kubectl("apply", "--server-side", "--force-conflicts", "-k", str(REPO / "deploy"))
    [schema] = _objects((REPO / "deploy" / "operator.yaml").read_text(), "FlowSchema")

    def resolved() -> bool:
        live = json.loads(crds.kubectl("get", "flowschema", schema["metadata"]["name"], "-o", "json").stdout)
        conditions = {c["type"]: c["status"] for c in (live.get("status") or {}).get("conditions", [])}
        return conditions.get("Dangling") == "False"

    wait_for(resolved, 30, "FlowSchema Dangling=False (its priority level exists)")

"""LocalCluster.restart_apiserver: the API server comes back on the same port, with the same certificates and
the same etcd data, as a new process, and answers as soon as the call returns."""

from __future__ import annotations

from mlops_operator.devcluster import LocalCluster
from mlops_operator.kube import Kube, load_api_client

DOWN_S = 1.0
GRACE_S = 2.0  # then SIGKILL: on SIGTERM it drains watches for ~10 s
MARKER = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "restart-marker", "namespace": "default"},
          "data": {"written": "before the restart"}}  # fmt: skip


def test_the_api_server_restarts_on_its_port_with_its_data(faults_cluster: LocalCluster) -> None:
    kube = Kube(load_api_client(str(faults_cluster.kubeconfig_path)))
    kube.create(MARKER)
    url, pid = faults_cluster.server_url, faults_cluster.pids["kube-apiserver"]

    faults_cluster.restart_apiserver(down_s=DOWN_S, grace=GRACE_S)

    assert faults_cluster.server_url == url
    assert faults_cluster.pids["kube-apiserver"] != pid
    assert faults_cluster.running
    found = kube.get("v1", "ConfigMap", "restart-marker", "default")  # the same client: the same port and CA
    assert found is not None
    assert found["data"] == MARKER["data"]
    kube.delete("v1", "ConfigMap", "restart-marker", "default")

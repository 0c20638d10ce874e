"""The local control plane behaves like a real cluster where our operator needs it to."""

from __future__ import annotations

import ipaddress
import json
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from mlops_operator.devcluster import (
    ClusterConfig,
    ComponentError,
    ControlPlaneAssets,
    LocalCluster,
    read_state,
    stop_from_state,
)

pytestmark = pytest.mark.integration

DEADLINE_S = 60.0
POD_CIDR = ipaddress.ip_network("10.244.0.0/16")
ML_TOLERATION = {"key": "workload", "operator": "Equal", "value": "ml", "effect": "NoSchedule"}
APPLY = "application/apply-patch+yaml"
WIDGET_GROUP, WIDGET_VERSION, WIDGET_PLURAL = "devcluster.mlops.test", "v1", "widgets"
WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"{WIDGET_PLURAL}.{WIDGET_GROUP}"},
    "spec": {
        "group": WIDGET_GROUP,
        "scope": "Namespaced",
        "names": {"plural": WIDGET_PLURAL, "singular": "widget", "kind": "Widget"},
        "versions": [
            {
                "name": WIDGET_VERSION,
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {"type": "object", "properties": {"size": {"type": "integer"}}},
                            "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
                        },
                    }
                },
            }
        ],
    },
}


def wait_for(condition: Callable[[], bool], what: str, timeout: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


def deployment(name: str, *, node_selector: dict[str, str], tolerations: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "nodeSelector": node_selector,
                    "tolerations": tolerations,
                    "containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}],
                },
            },
        },
    }


def is_available(apps: client.AppsV1Api, namespace: str, name: str) -> bool:
    status = apps.read_namespaced_deployment_status(name, namespace).status
    conditions = (status.conditions if status else None) or []
    return any(c.type == "Available" and c.status == "True" for c in conditions)


def test_the_api_server_serves_kubernetes_1_37_on_loopback(cluster: LocalCluster, kube_api: client.ApiClient) -> None:
    version = client.VersionApi(kube_api).get_code()
    assert (version.major, version.minor) == ("1", "37")
    assert cluster.server_url.startswith("https://127.0.0.1:")
    assert stat.S_IMODE(cluster.kubeconfig_path.stat().st_mode) == 0o600


def test_rbac_denies_an_unprivileged_service_account_token(
    cluster: LocalCluster, kube_api: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(kube_api)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "nobody"}})
    token = cluster.create_token("nobody", namespace, duration_seconds=600)

    with cluster.api_client(token=token) as as_nobody:
        review = client.AuthenticationV1Api(as_nobody).create_self_subject_review({})
        with pytest.raises(ApiException) as denied:
            client.CoreV1Api(as_nobody).list_namespaced_pod(namespace)

    assert review.status.user_info.username == f"system:serviceaccount:{namespace}:nobody"
    assert denied.value.status == 403


def test_aggregated_api_servers_learn_to_trust_only_the_front_proxy_client(
    cluster: LocalCluster, kube_api: client.ApiClient
) -> None:
    """What KEDA's adapter (any aggregated API server) reads to believe the X-Remote-User the aggregator sends."""
    published = (
        client.CoreV1Api(kube_api).read_namespaced_config_map("extension-apiserver-authentication", "kube-system").data
    )
    front_proxy_ca = x509.load_pem_x509_certificate(cluster.pki.front_proxy_ca_cert.read_bytes())
    proxy_client = x509.load_pem_x509_certificate(cluster.pki.front_proxy_client_cert.read_bytes())
    cluster_ca = x509.load_pem_x509_certificate(cluster.pki.ca_cert.read_bytes())

    assert x509.load_pem_x509_certificates(published["requestheader-client-ca-file"].encode()) == [front_proxy_ca]
    assert json.loads(published["requestheader-allowed-names"]) == ["front-proxy-client"]
    assert json.loads(published["requestheader-username-headers"]) == ["X-Remote-User"]
    assert json.loads(published["requestheader-group-headers"]) == ["X-Remote-Group"]
    proxy_client.verify_directly_issued_by(front_proxy_ca)
    assert front_proxy_ca.subject != cluster_ca.subject  # a cluster client certificate cannot pose as the proxy


def test_server_side_apply_records_field_managers_and_reports_conflicts(
    kube_api: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(kube_api)
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}}

    core.patch_namespaced_config_map(
        "settings", namespace, {**config_map, "data": {"mode": "a"}}, field_manager="first", _content_type=APPLY
    )
    with pytest.raises(ApiException) as conflict:
        core.patch_namespaced_config_map(
            "settings", namespace, {**config_map, "data": {"mode": "b"}}, field_manager="second", _content_type=APPLY
        )
    stored = core.read_namespaced_config_map("settings", namespace)

    assert conflict.value.status == 409
    assert stored.data == {"mode": "a"}
    assert {entry.manager for entry in stored.metadata.managed_fields} == {"first"}


def test_a_deployment_tolerating_the_ml_taint_becomes_available_on_mlpool_nodes(
    cluster: LocalCluster, kube_api: client.ApiClient, namespace: str
) -> None:
    apps, core = client.AppsV1Api(kube_api), client.CoreV1Api(kube_api)
    manifest = deployment("scorer", node_selector={"agentpool": "mlpool"}, tolerations=[ML_TOLERATION])
    apps.create_namespaced_deployment(namespace, manifest)

    wait_for(lambda: is_available(apps, namespace, "scorer"), "Deployment scorer to become Available")

    pods = core.list_namespaced_pod(namespace, label_selector="app=scorer").items
    assert len(pods) == 2
    assert {pod.spec.node_name for pod in pods} <= {n for n in cluster.node_names if "mlpool" in n}
    assert all(ipaddress.ip_address(pod.status.pod_ip) in POD_CIDR for pod in pods)


def test_pods_without_the_ml_toleration_land_on_the_general_node(kube_api: client.ApiClient, namespace: str) -> None:
    apps, core = client.AppsV1Api(kube_api), client.CoreV1Api(kube_api)
    apps.create_namespaced_deployment(namespace, deployment("plain", node_selector={}, tolerations=[]))

    wait_for(lambda: is_available(apps, namespace, "plain"), "Deployment plain to become Available")

    pods = core.list_namespaced_pod(namespace, label_selector="app=plain").items
    assert {pod.spec.node_name for pod in pods} == {"kwok-general-0"}


@pytest.fixture(scope="module")
def widget_crd(cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("crds") / "widgets.yaml"
    path.write_text(yaml.safe_dump(WIDGET_CRD))
    return cluster.install_crds(path)[0]


def test_custom_resource_status_is_writable_only_through_the_status_subresource(
    widget_crd: str, kube_api: client.ApiClient, namespace: str
) -> None:
    objects = client.CustomObjectsApi(kube_api)
    ref = (WIDGET_GROUP, WIDGET_VERSION, namespace, WIDGET_PLURAL)
    body = {"apiVersion": f"{WIDGET_GROUP}/{WIDGET_VERSION}", "kind": "Widget", "metadata": {"name": "w"}}

    objects.create_namespaced_custom_object(*ref, {**body, "spec": {"size": 1}, "status": {"phase": "Forged"}})
    objects.patch_namespaced_custom_object(*ref, "w", {"status": {"phase": "Forged"}})
    ignored = objects.get_namespaced_custom_object(*ref, "w")
    objects.patch_namespaced_custom_object_status(*ref, "w", {"status": {"phase": "Ready"}})
    written = objects.get_namespaced_custom_object(*ref, "w")

    assert "status" not in ignored
    assert written["status"] == {"phase": "Ready"}
    assert written["metadata"]["generation"] == ignored["metadata"]["generation"] == 1


def test_gateway_api_crds_install_and_become_established(cluster: LocalCluster) -> None:
    names = cluster.install_gateway_api_crds()

    assert {"gateways.gateway.networking.k8s.io", "httproutes.gateway.networking.k8s.io"} <= set(names)
    output = cluster.kubectl("get", "crd", "-o", "name").stdout
    assert "customresourcedefinition.apiextensions.k8s.io/httproutes.gateway.networking.k8s.io" in output


def test_a_component_that_exits_during_startup_fails_with_the_tail_of_its_log(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_etcd = bin_dir / "etcd"
    fake_etcd.write_text("#!/bin/sh\necho 'etcdmain: refusing to start: disk on fire' >&2\nexit 3\n")
    fake_etcd.chmod(0o755)
    config = ClusterConfig(assets=ControlPlaneAssets(bin_dir, None), work_dir=tmp_path / "work")

    with pytest.raises(ComponentError, match="disk on fire") as failure:
        LocalCluster(config).start(controllers=False, scheduler=False, with_nodes=False)

    assert failure.value.component == "etcd"
    assert "exited with code 3" in str(failure.value)
    assert (tmp_path / "work" / "logs" / "etcd.log").is_file()


def test_a_detached_cluster_runs_until_stopped_from_its_state_file(cluster: LocalCluster, tmp_path: Path) -> None:
    config = ClusterConfig(assets=cluster.assets, die_with_parent=False)
    detached = LocalCluster(config).start(controllers=False, scheduler=False, with_nodes=False)
    detached.detach(tmp_path)
    detached.stop()  # forgets detached processes: must not stop them

    state = read_state(tmp_path)
    assert state is not None
    pids = [record.pid for record in state.processes]
    assert [record.name for record in state.processes] == ["etcd", "kube-apiserver"]
    assert all(Path(f"/proc/{pid}").exists() for pid in pids)

    assert stop_from_state(tmp_path) is True
    assert not any(Path(f"/proc/{pid}").exists() and _not_zombie(pid) for pid in pids)
    assert not Path(state.work_dir).exists()
    assert read_state(tmp_path) is None


def _not_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _sockets_of(pids: list[int]) -> set[str]:
    inodes: set[str] = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            target = os.readlink(fd) if fd.is_symlink() else ""
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    return inodes


def _ipv4(hex_address: str) -> str:
    return str(ipaddress.IPv4Address(bytes.fromhex(hex_address.split(":", maxsplit=1)[0])[::-1]))


def test_every_component_listens_and_connects_only_on_loopback(cluster: LocalCluster) -> None:
    inodes = _sockets_of(list(cluster.pids.values()))
    endpoints: set[tuple[str, str]] = set()
    ipv6_sockets = 0
    for table in ("tcp", "tcp6", "udp", "udp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] not in inodes:
                continue
            if table.endswith("6"):
                ipv6_sockets += 1
            else:
                endpoints.add((_ipv4(fields[1]), _ipv4(fields[2])))

    assert endpoints, "expected to find the components' sockets"
    assert ipv6_sockets == 0
    assert {local for local, _ in endpoints} == {"127.0.0.1"}
    assert {remote for _, remote in endpoints} <= {"127.0.0.1", "0.0.0.0"}

"""Traefik's command line and environment, the Gateway we hand it, and backends that stay on this machine."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from mlops_operator.devcluster.components import POD_CIDR, SERVICE_CIDR
from mlops_operator.devcluster.gateway import (
    LISTENER_NAME,
    gateway_class_manifest,
    gateway_manifest,
    host_address,
    is_local_address,
    local_backend,
    traefik_argv,
    traefik_env,
)

BINARY = Path("/opt/traefik")
WEB_PORT = 41234
PING_PORT = 41235


def test_traefik_never_phones_home_and_listens_on_loopback_only() -> None:
    argv = traefik_argv(BINARY, WEB_PORT, PING_PORT)
    assert "--global.checkNewVersion=false" in argv
    assert "--global.sendAnonymousUsage=false" in argv
    assert "--providers.kubernetesgateway=true" in argv
    addresses = [arg.split("=", 1)[1] for arg in argv if ".address=" in arg]
    assert addresses == [f"127.0.0.1:{WEB_PORT}", f"127.0.0.1:{PING_PORT}"]


def test_traefik_reads_the_kubeconfig_not_in_cluster_settings_nor_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("KUBECONFIG", "/somewhere/else")
    env = traefik_env(Path("/work/admin.kubeconfig"))
    assert env["KUBECONFIG"] == "/work/admin.kubeconfig"
    assert not {"KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "HTTPS_PROXY"} & set(env)


def test_the_gateway_listener_takes_the_entrypoint_port_and_admits_routes_from_any_namespace() -> None:
    gateway = gateway_manifest("mlops", "mlops-system", WEB_PORT)
    assert gateway["spec"]["listeners"] == [
        {"name": LISTENER_NAME, "protocol": "HTTP", "port": WEB_PORT, "allowedRoutes": {"namespaces": {"from": "All"}}}
    ]
    assert gateway_class_manifest()["spec"] == {"controllerName": "traefik.io/gateway-controller"}


def test_a_local_backend_names_only_this_machines_address_with_ports_paired_by_name() -> None:
    address = host_address()
    service, endpoint_slice = local_backend("blue", "ml", address, 5001)
    assert "selector" not in service["spec"]
    assert service["spec"]["ports"][0]["port"] == 80
    assert endpoint_slice["metadata"]["labels"]["kubernetes.io/service-name"] == "blue"
    assert [a for e in endpoint_slice["endpoints"] for a in e["addresses"]] == [address]
    assert endpoint_slice["ports"] == [{"name": "http", "port": 5001, "protocol": "TCP"}]
    assert service["spec"]["ports"][0]["name"] == endpoint_slice["ports"][0]["name"]


def test_an_address_that_is_not_this_machines_is_refused_as_a_backend() -> None:
    with pytest.raises(ValueError, match="not an address of this machine"):
        local_backend("blue", "ml", "10.244.0.7", 5001)


def test_the_host_address_is_local_and_neither_loopback_nor_a_fake_pod_or_service_ip() -> None:
    address = ipaddress.ip_address(host_address())
    assert not address.is_loopback
    assert address not in ipaddress.ip_network(POD_CIDR)
    assert address not in ipaddress.ip_network(SERVICE_CIDR)
    assert is_local_address(str(address))

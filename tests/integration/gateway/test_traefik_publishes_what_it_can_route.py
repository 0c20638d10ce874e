"""Traefik's GatewayClass status, read by the operator's pure feature check, and the Gateway it programs."""

from __future__ import annotations

from mlops_operator.api.v1alpha1.platform import GatewayParentRef
from mlops_operator.devcluster import LocalCluster
from mlops_operator.devcluster.gateway import LISTENER_NAME, Traefik, read_gateway_class, wait_gateway_programmed
from mlops_operator.render.gateway_features import Need, feature_support


def test_the_gateway_class_publishes_weights_pins_and_rewrites_but_not_mirrors_or_timeouts(
    cluster: LocalCluster, gateway: GatewayParentRef
) -> None:
    support = feature_support(read_gateway_class(cluster))
    assert support.published
    assert support.supported == {Need.WEIGHTS, Need.HEADER_MATCH, Need.PREFIX_REWRITE}


def test_the_gateway_listens_on_traefiks_entrypoint_port_at_a_loopback_address(
    cluster: LocalCluster, traefik: Traefik, gateway: GatewayParentRef
) -> None:
    assert gateway.namespace is not None
    live = wait_gateway_programmed(cluster, gateway.name, gateway.namespace)
    assert [(listener["name"], listener["port"]) for listener in live["spec"]["listeners"]] == [
        (LISTENER_NAME, traefik.web_port)
    ]
    assert live["status"]["addresses"] == [{"type": "IPAddress", "value": "127.0.0.1"}]

"""KEDA's adapter takes the caller's name from X-Remote-User only when the request comes with the front proxy's
client certificate (kube-apiserver's --proxy-client-cert-file, signed by the requestheader CA it publishes in
kube-system/extension-apiserver-authentication), and authorizes that caller, not `system:anonymous`.

The requests go straight to the adapter on loopback, playing the aggregator, so each answer shows whom the
adapter believed: its 403 names the user it authorized.
"""

from __future__ import annotations

import http.client
import json
import ssl

from mlops_operator.devcluster import LocalCluster
from mlops_operator.devcluster.process import LOOPBACK

from .keda_support import KedaProcesses

METRIC_PATH = "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/s0-prometheus"
HPA_CONTROLLER = "system:serviceaccount:kube-system:horizontal-pod-autoscaler"
NOBODY = "mlops-test-nobody"


def ask_adapter(port: int, user: str, client_cert: tuple[str, str] | None) -> tuple[int, str]:
    """GET the metric as the aggregator would: the caller in X-Remote-User (the HPA controller's role is bound
    to its ServiceAccount's name, so no groups are needed), optionally with a client certificate.
    Returns the status and the error's message (the whole body if it is no Status object)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the adapter's serving certificate is not what is under test
    if client_cert is not None:
        context.load_cert_chain(*client_cert)
    connection = http.client.HTTPSConnection(LOOPBACK, port, timeout=10, context=context)
    headers = {"X-Remote-User": user, "Accept": "application/json"}
    try:
        connection.request("GET", METRIC_PATH, headers=headers)
        response = connection.getresponse()
        body = response.read().decode(errors="replace")
    finally:
        connection.close()
    try:
        return response.status, str(json.loads(body)["message"])
    except (ValueError, KeyError, TypeError):
        return response.status, body


def test_the_adapter_believes_the_caller_only_from_the_front_proxy(keda: KedaProcesses, cluster: LocalCluster) -> None:
    front_proxy = (str(cluster.pki.front_proxy_client_cert), str(cluster.pki.front_proxy_client_key))
    admin = (str(cluster.pki.admin_cert), str(cluster.pki.admin_key))

    hpa_status, hpa_body = ask_adapter(keda.adapter_port, HPA_CONTROLLER, front_proxy)
    nobody_status, nobody_body = ask_adapter(keda.adapter_port, NOBODY, front_proxy)
    forged_status, forged_body = ask_adapter(keda.adapter_port, HPA_CONTROLLER, None)
    # A cluster client certificate is not the front proxy: its headers are ignored, its own name is used.
    admin_posing_status, admin_posing_body = ask_adapter(keda.adapter_port, NOBODY, admin)

    assert hpa_status != 403, hpa_body  # authorized; then an error past authorization: no ScaledObject named
    assert nobody_status == 403
    assert f'User "{NOBODY}" cannot list resource "s0-prometheus"' in nobody_body
    assert forged_status == 403
    assert 'User "system:anonymous"' in forged_body
    assert admin_posing_status != 403, admin_posing_body
    assert NOBODY not in admin_posing_body

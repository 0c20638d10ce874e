"""An idle resync reads each Azure resource at most once (issue 16): every deployment once, their shared
endpoint once for all its members, asset versions not again, no operation status ever. A change made in
Azure is still seen: the first resync after the kept endpoint reading expires puts the traffic back.

The operator runs under KopfRunner until the pair is Ready; each resync is then one `look` at each member
(as the waker runs it), so the reads counted are exactly those of one resync.
"""

from __future__ import annotations

import time
from collections import Counter

from fake_arm import FakeArm
from mlops_operator.backends.azureml.endpoint import KEEP_FRACTION
from mlops_operator.config import OperatorSettings
from mlops_operator.handlers.context import OperatorContext, build_context
from mlops_operator.handlers.flows import deployment_key, look
from mlops_operator.kube import Kube

from .conftest import start_operator
from .helpers import RG, WS, create_ready_platform, md_body, wait_condition
from .operator_entry import static_token

MD = "ModelDeployment"
ENDPOINT = "mlops-endpoint"
MEMBERS = ("blue", "green")
RESYNC_SECONDS = 4.0  # long enough for both members' looks to fall within one kept endpoint reading


def _ready_pair(kube: Kube, namespace: str) -> None:
    with start_operator():
        create_ready_platform(kube)
        kube.create(md_body(namespace, "blue", traffic=100))
        kube.create(md_body(namespace, "green", traffic=0))
        for name in MEMBERS:
            wait_condition(kube, MD, name, "Ready", "True", namespace)


def _resync(ctx: OperatorContext, azure_env: FakeArm, namespace: str) -> Counter[tuple[str, str]]:
    """One resync of the endpoint's members; the ARM calls it made, by method and resource type."""
    azure_env.reset_log()
    for name in MEMBERS:
        look(ctx, deployment_key(namespace, name))
    return azure_env.call_counts()


def _operator_context(kubeconfig: str) -> OperatorContext:
    """A fresh operator process's context: nothing read from ARM is kept yet."""
    settings = OperatorSettings(drift_interval_seconds=RESYNC_SECONDS)
    return build_context(settings, kubeconfig, credential_factory=static_token)


def test_each_resync_reads_every_deployment_once_and_their_endpoint_once(
    azure_env: FakeArm, kube: Kube, namespace: str, kubeconfig: str
) -> None:
    _ready_pair(kube, namespace)
    assert azure_env.calls("GET", "operationStatus") == 0  # operations are begun, never polled by an SDK poller
    ctx = _operator_context(kubeconfig)

    first = _resync(ctx, azure_env, namespace)
    time.sleep(KEEP_FRACTION * RESYNC_SECONDS)  # as long as the next resync comes after the last
    second = _resync(ctx, azure_env, namespace)

    # A fresh process reads the (shared) model and environment versions once, and keeps them.
    assert first == {
        ("GET", "deployments"): 2,
        ("GET", "onlineEndpoints"): 1,
        ("GET", "modelVersions"): 1,
        ("GET", "environmentVersions"): 1,
    }
    assert second == {("GET", "deployments"): 2, ("GET", "onlineEndpoints"): 1}


def test_traffic_moved_in_azure_is_put_back_once_the_kept_endpoint_reading_expires(
    azure_env: FakeArm, kube: Kube, namespace: str, kubeconfig: str
) -> None:
    _ready_pair(kube, namespace)
    ctx = _operator_context(kubeconfig)
    _resync(ctx, azure_env, namespace)  # keeps the endpoint as read: blue=100
    ml = azure_env.ml_client(RG, WS)
    moved = ml.online_endpoints.get(ENDPOINT)
    moved.traffic = {"green": 100}
    ml.online_endpoints.begin_create_or_update(moved).result()

    time.sleep(KEEP_FRACTION * RESYNC_SECONDS)
    _resync(ctx, azure_env, namespace)

    puts = azure_env.requests("PUT", rf"/onlineEndpoints/{ENDPOINT}$")
    assert [r.body["properties"]["traffic"] for r in puts] == [{"blue": 100}]

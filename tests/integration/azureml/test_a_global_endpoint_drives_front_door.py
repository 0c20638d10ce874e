"""A GlobalEndpoint on Azure Front Door: the reconciler's passes against the session cluster and the fake ARM.

Both regions live in the session cluster (one namespace each, reached through a kubeconfig Secret as any
region is) and front ModelDeployments that already serve there, whose status the test writes: no operator
runs, so nothing else writes it and the pods are never contacted (Front Door probes by itself, the operator
does not). Each pass's status is fed to the next, as the status subresource would.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from fake_arm import FakeArm, StaticTokenCredential
from mlops_operator.api.v1alpha1 import GlobalEndpoint
from mlops_operator.backends.azureml.clients import AzureClients, Cloud
from mlops_operator.backends.azureml.frontdoor_router import FrontDoorRouter
from mlops_operator.config import OperatorSettings
from mlops_operator.devcluster import LocalCluster
from mlops_operator.globalendpoint.finalize import finalize_global
from mlops_operator.globalendpoint.reconcile import GlobalDeps, reconcile_global
from mlops_operator.globalendpoint.regions import RegionClients
from mlops_operator.kube import Kube

RG, PROFILE = "rg-global", "fd-global"
WRITES = ("PUT", "PATCH", "DELETE")
MAX_PASSES = 10


@pytest.fixture
def regions(kube: Kube, crds: LocalCluster) -> Iterator[tuple[str, str, str]]:
    """The hub namespace (with the kubeconfig Secret and the platform) and one namespace per region."""
    suffix = uuid.uuid4().hex[:5]
    names = (f"hub-{suffix}", f"east-{suffix}", f"west-{suffix}")
    for name in names:
        kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    data = {"kubeconfig": base64.b64encode(crds.kubeconfig_path.read_bytes()).decode()}
    kube.create(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "here", "namespace": names[0]}, "data": data}
    )
    yield names
    for name in names:
        kube.delete("v1", "Namespace", name)


class Clients:
    """Stands in for the azureml backend: the fake's clients for any platform."""

    def __init__(self, fake: FakeArm) -> None:
        cloud = Cloud(fake.base_url, fake.storage_suffix, fake.ca_bundle, retries=0)
        self._clients = AzureClients(StaticTokenCredential(), fake.subscription_id, cloud)

    def clients(self, platform: Any) -> AzureClients:
        return self._clients


def _platform(kube: Kube, fake: FakeArm) -> str:
    name = f"fd-{uuid.uuid4().hex[:5]}"
    azure = {
        "subscriptionId": fake.subscription_id,
        "resourceGroup": RG,
        "workspace": {"name": "ws-global"},
        "cluster": {"name": "aks"},
        "extension": {"allowInsecureConnections": True},
    }
    kube.apply({"apiVersion": "mlops.dev/v1alpha1", "kind": "MLOpsPlatform", "metadata": {"name": name},
                "spec": {"backend": "azureml", "azure": azure}}, "itest")  # fmt: skip
    return name


def _serving(kube: Kube, namespace: str, host: str, ready: bool) -> None:
    """A ModelDeployment of endpoint `churn` with the status an operator in that region would write."""
    body = {
        "apiVersion": "mlops.dev/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": "blue", "namespace": namespace},
        "spec": {"platformRef": {"name": "default"}, "endpoint": {"name": "churn"},
                 "model": {"name": "churn", "version": "1"}, "traffic": 100},
    }  # fmt: skip
    live = kube.get("mlops.dev/v1alpha1", "ModelDeployment", "blue", namespace) or kube.create(body) or {}
    condition = {
        "type": "Ready",
        "status": "True" if ready else "False",
        "reason": "Ready" if ready else "CrashLoopBackOff",
        "message": "",
        "lastTransitionTime": "2026-12-02T10:00:00Z",
        "observedGeneration": live["metadata"]["generation"],
    }
    status = {"conditions": [condition], "scoringUri": f"https://{host}/api/v1/endpoint/churn/score"}
    kube.patch_merge(
        "mlops.dev/v1alpha1", "ModelDeployment", "blue", namespace, {"status": status}, subresource="status"
    )


def _global_endpoint(hub: str, east: str, west: str, platform: str) -> GlobalEndpoint:
    def region(name: str, namespace: str, priority: int) -> dict[str, Any]:
        return {"name": name, "namespace": namespace, "priority": priority,
                "cluster": {"kubeconfigSecretRef": {"name": "here"}}}  # fmt: skip

    return GlobalEndpoint.model_validate({
        "apiVersion": "mlops.dev/v1alpha1", "kind": "GlobalEndpoint",
        "metadata": {"name": "churn", "namespace": hub, "generation": 1},
        "spec": {"endpoint": {"name": "churn"}, "regions": [region("eastus", east, 1), region("westus", west, 2)],
                 "routing": {"type": "priority"}, "failover": {"holdDownSeconds": 0, "successesToRestore": 1},
                 "router": {"frontDoor": {"platformRef": {"name": platform}, "profile": PROFILE}}},
    })  # fmt: skip


def _passes(ge: GlobalEndpoint, deps: GlobalDeps) -> tuple[GlobalEndpoint, Any]:
    """Passes until Front Door is settled, each one's status kept for the next; the last outcome carries
    every pass's events."""
    events = []
    for _ in range(MAX_PASSES):
        outcome = reconcile_global(ge, deps)
        events.extend(outcome.events)
        ge = ge.model_copy(update={"status": outcome.status})
        routed = next(v for v in outcome.verdicts if v.type == "Routed")
        if routed.reason != "RouterPending":
            outcome.events = events
            return ge, outcome
    raise AssertionError(f"Front Door not settled after {MAX_PASSES} passes: {routed.message}")


def _writes(fake: FakeArm) -> list[str]:
    return [f"{r.method} {r.path.rsplit('/', 1)[-1]}" for r in fake.requests() if r.method in WRITES]


def test_front_door_follows_the_regions_readiness_and_is_removed_with_the_endpoint(
    kube: Kube, fake_arm: FakeArm, regions: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    hub, east, west = regions
    fake_arm.seed_resource_group(RG)
    platform = _platform(kube, fake_arm)
    _serving(kube, east, "churn.eastus.inference.ml.azure.com", ready=True)
    _serving(kube, west, "churn.westus.inference.ml.azure.com", ready=True)
    router = FrontDoorRouter(kube, OperatorSettings(), Clients(fake_arm))  # type: ignore[arg-type]
    deps = GlobalDeps(kube, RegionClients(kube), lambda ge: router)
    ge = _global_endpoint(hub, east, west, platform)
    try:
        ge, outcome = _passes(ge, deps)
        cdn = Clients(fake_arm).clients(None).cdn()
        origins = cdn.afd_origins.list_by_origin_group(RG, PROFILE, "churn")
        assert {o.name: (o.priority, o.enabled_state) for o in origins} == {
            "eastus": (1, "Enabled"),
            "westus": (2, "Enabled"),
        }
        assert outcome.status.url.startswith("https://")
        assert outcome.status.url.endswith("/api/v1/endpoint/churn/score")
        assert [r.receiving_traffic for r in outcome.status.regions] == [True, True]

        fake_arm.reset_log()
        ge, outcome = _passes(ge, deps)
        assert _writes(fake_arm) == []  # an idle resync writes nothing

        _serving(kube, east, "churn.eastus.inference.ml.azure.com", ready=False)
        ge, outcome = _passes(ge, deps)
        assert cdn.afd_origins.get(RG, PROFILE, "churn", "eastus").enabled_state == "Disabled"
        assert outcome.status.last_failover.region == "eastus"
        assert outcome.status.last_failover.reason == "DeploymentsNotReady"
        assert [e.reason for e in outcome.events] == ["RegionRemoved"]

        _serving(kube, east, "churn.eastus.inference.ml.azure.com", ready=True)
        ge, outcome = _passes(ge, deps)
        assert cdn.afd_origins.get(RG, PROFILE, "churn", "eastus").enabled_state == "Enabled"
        assert [e.reason for e in outcome.events] == ["RegionRestored"]
    finally:
        for _ in range(MAX_PASSES):
            if not finalize_global(ge, deps):
                break
    assert [r for r in fake_arm.app.store.all() if "/providers/microsoft.cdn/" in r.id.lower()] == []

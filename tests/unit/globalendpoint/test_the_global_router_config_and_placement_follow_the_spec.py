"""Pure renders: Traefik's configuration per policy, and the ModelDeployment placed in each region."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from mlops_operator.api.problems import InvalidResourceError, parse_resource
from mlops_operator.api.v1alpha1 import GlobalEndpoint
from mlops_operator.backends.native.global_router import TraefikFileRouter
from mlops_operator.backends.routing import Rotation
from mlops_operator.globalendpoint.finalize import finalize_global
from mlops_operator.globalendpoint.placement import (
    ANNOTATION_APPLIED,
    LABEL_GLOBAL_ENDPOINT,
    PlacementConflictError,
    place,
    render_placed,
)
from mlops_operator.globalendpoint.reconcile import GlobalDeps
from mlops_operator.render.global_router import RoutedRegion, policy_support, render_traefik_config

Make = Callable[..., GlobalEndpoint]
PREFIX = "/api/v1/namespaces/ml/endpoints/churn"
EAST = RoutedRegion("eastus", "http://127.0.0.1:30001", priority=1, weight=3)
WEST = RoutedRegion("westus", "http://127.0.0.1:30002", priority=2, weight=1)
CENTRAL = RoutedRegion("centralus", "http://127.0.0.1:30003", priority=2, weight=1)


def services(config: dict) -> dict:
    return config["http"]["services"]


def test_priority_is_a_failover_chain_of_weighted_tiers(make_global_endpoint: Make) -> None:
    config = render_traefik_config(make_global_endpoint().spec, "ml-churn", PREFIX, [EAST, WEST, CENTRAL])
    router = config["http"]["routers"]["ml-churn"]
    assert router["rule"] == f"PathPrefix(`{PREFIX}`)"
    assert router["entryPoints"] == ["web"]
    top = services(config)[router["service"]]["failover"]
    assert top == {"service": "ml-churn-eastus", "fallback": "ml-churn-p2", "healthCheck": {}}
    tier = services(config)["ml-churn-p2"]["weighted"]
    assert [s["name"] for s in tier["services"]] == ["ml-churn-westus", "ml-churn-centralus"]
    east = services(config)["ml-churn-eastus"]["loadBalancer"]
    assert east["servers"] == [{"url": EAST.origin}]
    assert east["healthCheck"]["path"] == PREFIX + "/"
    assert east["healthCheck"]["interval"] == "10s"
    assert east["passiveHealthCheck"]["maxFailedAttempts"] == 1
    retry = router["middlewares"][0]
    assert config["http"]["middlewares"][retry]["retry"]["attempts"] >= 2


def test_weighted_splits_by_weight_and_a_single_region_needs_no_tree(make_global_endpoint: Make) -> None:
    spec = make_global_endpoint(routing={"type": "weighted"}).spec
    config = render_traefik_config(spec, "ml-churn", PREFIX, [EAST, WEST])
    top = services(config)[config["http"]["routers"]["ml-churn"]["service"]]["weighted"]
    assert {s["name"]: s["weight"] for s in top["services"]} == {"ml-churn-eastus": 3, "ml-churn-westus": 1}
    alone = render_traefik_config(spec, "ml-churn", PREFIX, [WEST])
    assert alone["http"]["routers"]["ml-churn"]["service"] == "ml-churn-westus"
    assert render_traefik_config(spec, "ml-churn", PREFIX, []) == {"http": {}}


def test_latency_is_least_time_on_traefik_and_is_reported_as_an_approximation(make_global_endpoint: Make) -> None:
    spec = make_global_endpoint(routing={"type": "latency"}).spec
    config = render_traefik_config(spec, "ml-churn", PREFIX, [EAST, WEST])
    balancer = services(config)["ml-churn-latency"]["loadBalancer"]
    assert balancer["strategy"] == "leasttime"
    assert len(balancer["servers"]) == 2
    support = policy_support(spec)
    assert not support.supported
    assert support.reason == "LatencyApproximated"
    assert policy_support(make_global_endpoint().spec).supported


def test_the_placed_deployment_takes_the_endpoint_the_platform_and_the_overrides(make_global_endpoint: Make) -> None:
    ge = make_global_endpoint()
    west = render_placed(ge, ge.spec.regions[1], ge.spec.deployments[0])
    assert west["metadata"]["name"] == "blue"
    assert west["metadata"]["namespace"] == "ml"
    assert west["metadata"]["labels"][LABEL_GLOBAL_ENDPOINT] == "ml.churn"
    spec = west["spec"]
    assert spec["endpoint"]["name"] == "churn"
    assert spec["platformRef"] == {"name": "default"}
    assert spec["instanceCount"] == 3
    assert spec["environmentVariables"] == {"REGION": "westus"}
    parsed = parse_resource({"apiVersion": "mlops.dev/v1alpha1", "kind": "ModelDeployment", **west})
    assert parsed.spec.traffic == 100  # a valid ModelDeployment
    east = render_placed(ge, ge.spec.regions[0], ge.spec.deployments[0])
    assert east["spec"]["instanceCount"] == 1
    assert east["metadata"]["annotations"][ANNOTATION_APPLIED] != west["metadata"]["annotations"][ANNOTATION_APPLIED]
    again = render_placed(ge, ge.spec.regions[0], ge.spec.deployments[0])
    assert again == east  # the digest is stable: an idle pass writes nothing


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            {"router": {"traefik": {"configPath": "/x"}, "frontDoor": {"platformRef": {"name": "a"}, "profile": "p"}}},
            "spec.router",
            "exactly one",
        ),
        ({"router": {}}, "spec.router", "exactly one"),
        ({"healthProbe": {"sampleSize": 2, "successfulSamplesRequired": 3}}, "spec.healthProbe", "must not exceed"),
        ({"routing": {"type": "geo"}}, "spec.routing.type", "priority"),
    ],
)
def test_bad_specs_name_the_field(make_global_endpoint: Make, change: dict, field: str, words: str) -> None:
    body = make_global_endpoint().model_dump(by_alias=True, exclude_none=True, mode="json")
    body["spec"].update(change)
    with pytest.raises(InvalidResourceError) as error:
        parse_resource(body)
    assert field in str(error.value)
    assert words in str(error.value)


def test_region_names_are_unique(make_global_endpoint: Make) -> None:
    region = {"name": "eastus", "cluster": {"kubeconfigSecretRef": {"name": "x"}}}
    with pytest.raises(ValidationError, match="regions names must be unique"):
        make_global_endpoint(regions=[region, region])


class FakeRegion:
    """A region's API server as far as placement uses it: ModelDeployments by name."""

    def __init__(self, existing: dict | None = None) -> None:
        self.objects: dict[str, dict] = dict(existing or {})
        self.writes: list[str] = []

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
        return self.objects.get(name)

    def apply(self, obj: dict, field_manager: str) -> dict:
        self.objects[obj["metadata"]["name"]] = obj
        self.writes.append(f"apply {obj['metadata']['name']}")
        return obj

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list:
        key, _, value = (label_selector or "").partition("=")
        return [o for o in self.objects.values() if (o["metadata"].get("labels") or {}).get(key) == value]

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        self.writes.append(f"delete {name}")
        return self.objects.pop(name, None) is not None


def test_placement_writes_only_changes_prunes_what_it_placed_and_takes_over_nothing(make_global_endpoint: Make) -> None:
    ge = make_global_endpoint()
    east = ge.spec.regions[0]
    region = FakeRegion()
    assert place(region, ge, east) == 1
    assert place(region, ge, east) == 0  # idle: the applied digest matches
    renamed = make_global_endpoint(
        deployments=[{"name": "green", "spec": {"model": {"name": "churn", "version": "2"}}}]
    )
    assert place(region, renamed, east) == 2
    assert region.writes == ["apply blue", "apply green", "delete blue"]
    hand_made = {"metadata": {"name": "blue", "namespace": "ml", "labels": {}}, "spec": {}}
    with pytest.raises(PlacementConflictError, match="belongs to no GlobalEndpoint"):
        place(FakeRegion({"blue": hand_made}), ge, east)


class Regions:
    """RegionClients for unit tests: one FakeRegion per region name."""

    def __init__(self, regions: dict[str, FakeRegion]) -> None:
        self.regions = regions

    def client(self, namespace: str, region) -> FakeRegion:
        return self.regions[region.name]


def test_deletion_takes_the_endpoint_off_the_router_then_removes_what_was_placed(
    make_global_endpoint: Make, tmp_path: Path
) -> None:
    config = tmp_path / "churn.yaml"
    ge = make_global_endpoint(router={"traefik": {"configPath": str(config)}})
    regions = {"eastus": FakeRegion(), "westus": FakeRegion()}
    for region in ge.spec.regions:
        place(regions[region.name], ge, region)
    routed = (RoutedRegion("eastus", "http://127.0.0.1:1", 1, 1),)
    TraefikFileRouter().apply(ge, Rotation(PREFIX, routed, frozenset({"eastus"})))
    assert "PathPrefix" in config.read_text()
    deps = GlobalDeps(hub=None, regions=Regions(regions), routers=lambda _: TraefikFileRouter())  # type: ignore[arg-type]
    left = finalize_global(ge, deps)
    assert left == "eastus: 1 ModelDeployments being deleted; westus: 1 ModelDeployments being deleted"
    assert not config.exists()
    assert all(r.objects == {} for r in regions.values())
    assert finalize_global(ge, deps) == ""  # all gone: the finalizer lets the object go

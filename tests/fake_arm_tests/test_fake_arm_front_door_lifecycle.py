"""The real CdnManagementClient creates, reads, updates, lists and deletes Azure Front Door resources on the fake."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.cdn import models as cdn

RG, PROFILE, ENDPOINT, GROUP, ROUTE = "rg1", "fd1", "global", "regions", "all"
SCOPE = (RG, PROFILE)


def origin(host: str, priority: int = 1, weight: int = 1000, enabled: str = "Enabled") -> cdn.AFDOrigin:
    return cdn.AFDOrigin(
        host_name=host, http_port=80, https_port=443, priority=priority, weight=weight, enabled_state=enabled
    )


def origin_group() -> cdn.AFDOriginGroup:
    return cdn.AFDOriginGroup(
        load_balancing_settings=cdn.LoadBalancingSettingsParameters(
            sample_size=4, successful_samples_required=3, additional_latency_in_milliseconds=50
        ),
        health_probe_settings=cdn.HealthProbeParameters(
            probe_path="/healthz", probe_request_type="GET", probe_protocol="Https", probe_interval_in_seconds=30
        ),
    )


def route_to(group_id: str) -> cdn.Route:
    return cdn.Route(
        origin_group=cdn.ResourceReference(id=group_id),
        patterns_to_match=["/*"],
        supported_protocols=["Http", "Https"],
        forwarding_protocol="HttpsOnly",
        link_to_default_domain="Enabled",
    )


@pytest.fixture
def client(fake_arm):
    fake_arm.seed_resource_group(RG)
    return fake_arm.cdn_client()


def create_front_door(client) -> tuple[cdn.Profile, cdn.AFDEndpoint, cdn.AFDOriginGroup]:
    profile = cdn.Profile(location="Global", sku=cdn.Sku(name="Standard_AzureFrontDoor"))
    created = client.profiles.begin_create(*SCOPE, profile).result()
    endpoint = client.afd_endpoints.begin_create(*SCOPE, ENDPOINT, cdn.AFDEndpoint(location="Global")).result()
    group = client.afd_origin_groups.begin_create(*SCOPE, GROUP, origin_group()).result()
    return created, endpoint, group


def test_a_profile_endpoint_origin_group_origins_and_route_are_created_and_read(client):
    profile, endpoint, group = create_front_door(client)
    client.afd_origins.begin_create(*SCOPE, GROUP, "eastus", origin("eastus.example.net")).result()
    client.afd_origins.begin_create(*SCOPE, GROUP, "westus", origin("westus.example.net", priority=2)).result()
    route = client.routes.begin_create(*SCOPE, ENDPOINT, ROUTE, route_to(group.id)).result()
    assert (profile.kind, profile.provisioning_state, profile.resource_state) == ("frontdoor", "Succeeded", "Active")
    assert endpoint.host_name.startswith(f"{ENDPOINT}-")
    assert endpoint.host_name.endswith(".z01.azurefd.net")
    assert (route.provisioning_state, route.deployment_status, route.endpoint_name) == (
        "Succeeded",
        "Succeeded",
        ENDPOINT,
    )
    read = client.afd_origins.get(*SCOPE, GROUP, "westus")
    assert (read.host_name, read.priority, read.weight, read.origin_group_name) == (
        "westus.example.net",
        2,
        1000,
        GROUP,
    )
    assert client.afd_origin_groups.get(*SCOPE, GROUP).load_balancing_settings.additional_latency_in_milliseconds == 50
    assert client.afd_endpoints.get(*SCOPE, ENDPOINT).host_name == endpoint.host_name


def test_origins_and_routes_are_listed(client):
    _, _, group = create_front_door(client)
    for region in ("westus", "eastus"):
        client.afd_origins.begin_create(*SCOPE, GROUP, region, origin(f"{region}.example.net")).result()
    client.routes.begin_create(*SCOPE, ENDPOINT, ROUTE, route_to(group.id)).result()
    assert [o.name for o in client.afd_origins.list_by_origin_group(*SCOPE, GROUP)] == ["eastus", "westus"]
    assert [r.name for r in client.routes.list_by_endpoint(*SCOPE, ENDPOINT)] == [ROUTE]
    assert [g.name for g in client.afd_origin_groups.list_by_profile(*SCOPE)] == [GROUP]


def test_an_origin_is_taken_out_by_a_patch_and_put_back_by_a_put(client):
    create_front_door(client)
    client.afd_origins.begin_create(*SCOPE, GROUP, "eastus", origin("eastus.example.net")).result()
    patch = cdn.AFDOriginUpdateParameters(enabled_state="Disabled")
    disabled = client.afd_origins.begin_update(*SCOPE, GROUP, "eastus", patch).result()
    assert (disabled.enabled_state, disabled.host_name) == ("Disabled", "eastus.example.net")
    enabled = client.afd_origins.begin_create(*SCOPE, GROUP, "eastus", origin("eastus.example.net", weight=7)).result()
    assert (enabled.enabled_state, enabled.weight) == ("Enabled", 7)


def test_deleting_the_profile_deletes_everything_under_it(fake_arm, client):
    _, _, group = create_front_door(client)
    client.afd_origins.begin_create(*SCOPE, GROUP, "eastus", origin("eastus.example.net")).result()
    client.routes.begin_create(*SCOPE, ENDPOINT, ROUTE, route_to(group.id)).result()
    client.afd_origins.begin_delete(*SCOPE, GROUP, "eastus").result()
    assert list(client.afd_origins.list_by_origin_group(*SCOPE, GROUP)) == []
    client.profiles.begin_delete(*SCOPE).result()
    with pytest.raises(ResourceNotFoundError):
        client.afd_endpoints.get(*SCOPE, ENDPOINT)
    assert [r.id for r in fake_arm.app.store.all() if "/microsoft.cdn/" in r.id.lower()] == []

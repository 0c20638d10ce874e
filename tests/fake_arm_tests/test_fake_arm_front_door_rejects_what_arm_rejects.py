"""Front Door bodies ARM refuses get a 400 (or 409) naming the field, through the real CdnManagementClient."""

from __future__ import annotations

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.mgmt.cdn import models as cdn

RG, PROFILE, ENDPOINT, GROUP = "rg1", "fd1", "global", "regions"
SCOPE = (RG, PROFILE)
API_VERSION = "2026-10-01"


@pytest.fixture
def client(fake_arm):
    fake_arm.seed_front_door_profile(RG, PROFILE)
    client = fake_arm.cdn_client()
    client.afd_endpoints.begin_create(*SCOPE, ENDPOINT, cdn.AFDEndpoint(location="Global")).result()
    client.afd_origin_groups.begin_create(*SCOPE, GROUP, cdn.AFDOriginGroup()).result()
    return client


def refused(start) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as caught:
        start()
    return caught.value


def test_a_profile_with_a_cdn_sku_is_refused(fake_arm, client):
    profile = cdn.Profile(location="Global", sku=cdn.Sku(name="Standard_Microsoft"))
    error = refused(lambda: client.profiles.begin_create(RG, "fd2", profile))
    assert (error.status_code, error.error.target) == (400, "sku.name")


def test_a_profile_with_an_unknown_sku_is_refused_by_the_model(client):
    profile = {"location": "Global", "sku": {"name": "Bogus"}}
    error = refused(lambda: client.profiles.begin_create(RG, "fd2", profile))
    assert (error.status_code, error.error.code, error.error.target) == (400, "InvalidRequestContent", "sku.name")


@pytest.mark.parametrize(("field", "value"), [("priority", 0), ("priority", 6), ("weight", 0), ("weight", 1001)])
def test_an_origin_priority_or_weight_out_of_range_is_refused(client, field, value):
    origin = cdn.AFDOrigin(host_name="eastus.example.net", **{field: value})
    error = refused(lambda: client.afd_origins.begin_create(*SCOPE, GROUP, "eastus", origin))
    assert (error.status_code, error.error.target) == (400, f"properties.{field}")


def test_an_origin_without_a_host_name_is_refused(client):
    error = refused(lambda: client.afd_origins.begin_create(*SCOPE, GROUP, "eastus", cdn.AFDOrigin(priority=1)))
    assert (error.status_code, error.error.target) == (400, "properties.hostName")


def test_a_route_to_a_missing_origin_group_is_refused(client):
    missing = client.afd_origin_groups.get(*SCOPE, GROUP).id.replace(GROUP, "nowhere")
    route = cdn.Route(origin_group=cdn.ResourceReference(id=missing), patterns_to_match=["/*"])
    error = refused(lambda: client.routes.begin_create(*SCOPE, ENDPOINT, "all", route))
    assert (error.status_code, error.error.target) == (400, "properties.originGroup.id")


def test_an_origin_group_whose_probe_interval_or_samples_are_impossible_is_refused(client):
    probe = cdn.HealthProbeParameters(probe_interval_in_seconds=256)
    error = refused(
        lambda: client.afd_origin_groups.begin_create(*SCOPE, "g2", cdn.AFDOriginGroup(health_probe_settings=probe))
    )
    assert error.error.target == "properties.healthProbeSettings.probeIntervalInSeconds"
    samples = cdn.LoadBalancingSettingsParameters(sample_size=2, successful_samples_required=3)
    group = cdn.AFDOriginGroup(load_balancing_settings=samples)
    error = refused(lambda: client.afd_origin_groups.begin_create(*SCOPE, "g2", group))
    assert error.error.target == "properties.loadBalancingSettings.successfulSamplesRequired"


def test_an_unknown_field_is_refused(fake_arm, client):
    path = f"{fake_arm.rg_id(RG)}/providers/Microsoft.Cdn/profiles/{PROFILE}/originGroups/{GROUP}/origins/eastus"
    body = {"properties": {"hostName": "eastus.example.net", "colour": "blue"}}
    response = requests.put(
        f"{fake_arm.base_url}{path}",
        params={"api-version": API_VERSION},
        json=body,
        verify=fake_arm.ca_bundle,
        timeout=10,
    )
    assert (response.status_code, response.json()["error"]["target"]) == (400, "properties.colour")


def test_an_origin_group_a_route_uses_cannot_be_deleted(client):
    group = client.afd_origin_groups.get(*SCOPE, GROUP)
    route = cdn.Route(origin_group=cdn.ResourceReference(id=group.id), patterns_to_match=["/*"])
    client.routes.begin_create(*SCOPE, ENDPOINT, "all", route).result()
    error = refused(lambda: client.afd_origin_groups.begin_delete(*SCOPE, GROUP))
    assert error.status_code == 409

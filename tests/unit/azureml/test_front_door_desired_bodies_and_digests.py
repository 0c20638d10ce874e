"""Front Door's desired bodies are the SDK's wire bodies, and their digests change exactly when a body does."""

from __future__ import annotations

from dataclasses import replace

from mlops_operator.backends.azureml.frontdoor_desired import (
    FrontDoorDesired,
    FrontDoorOrigin,
    FrontDoorProbe,
    body_of,
    digest,
    origin_group_model,
    origin_model,
    problems,
    profile_model,
    route_model,
)

EASTUS = FrontDoorOrigin("eastus", "eastus.scoring.example.net", priority=1, weight=600)
DESIRED = FrontDoorDesired("rg", "fd", "scoring", "regions", "all", origins=(EASTUS,))
GROUP_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Cdn/profiles/fd/originGroups/regions"


def test_an_origin_renders_to_the_body_front_door_documents():
    assert body_of(origin_model(EASTUS)) == {
        "properties": {
            "hostName": "eastus.scoring.example.net",
            "httpPort": 80,
            "httpsPort": 443,
            "originHostHeader": "eastus.scoring.example.net",
            "priority": 1,
            "weight": 600,
            "enabledState": "Enabled",
        }
    }


def test_the_origin_group_carries_the_probe_and_the_latency_sensitivity():
    desired = replace(DESIRED, probe=FrontDoorProbe("/healthz", "HEAD", "Http", 10), additional_latency_ms=0)
    properties = body_of(origin_group_model(desired))["properties"]
    assert properties["healthProbeSettings"] == {
        "probePath": "/healthz",
        "probeRequestType": "HEAD",
        "probeProtocol": "Http",
        "probeIntervalInSeconds": 10,
    }
    assert properties["loadBalancingSettings"] == {
        "sampleSize": 4,
        "successfulSamplesRequired": 3,
        "additionalLatencyInMilliseconds": 0,
    }


def test_the_profile_and_route_leave_out_what_was_not_asked_for():
    assert body_of(profile_model(DESIRED)) == {"location": "Global", "sku": {"name": "Standard_AzureFrontDoor"}}
    timed = body_of(profile_model(replace(DESIRED, origin_response_timeout_seconds=90)))
    assert timed["properties"] == {"originResponseTimeoutSeconds": 90}
    assert "originPath" not in body_of(route_model(DESIRED, GROUP_ID))["properties"]
    assert body_of(route_model(replace(DESIRED, origin_path="/api"), GROUP_ID))["properties"]["originPath"] == "/api"


def test_a_digest_is_stable_and_changes_when_the_region_is_taken_out():
    assert digest(origin_model(EASTUS)) == digest(origin_model(replace(EASTUS)))
    assert digest(origin_model(EASTUS)) != digest(origin_model(replace(EASTUS, enabled=False)))
    assert digest(route_model(DESIRED, GROUP_ID)) != digest(route_model(DESIRED, GROUP_ID + "2"))


def test_what_front_door_would_refuse_is_found_before_any_call():
    assert problems(DESIRED) == []
    bad = replace(
        DESIRED,
        sku="Standard_Microsoft",
        origins=(replace(EASTUS, priority=0, weight=1001), EASTUS),
        probe=FrontDoorProbe(interval_seconds=256),
        successful_samples_required=5,
        origin_response_timeout_seconds=10,
    )
    assert problems(bad) == [
        "sku must be one of Standard_AzureFrontDoor, Premium_AzureFrontDoor",
        "origin names must be unique",
        "origin eastus: priority must be between 1 and 5",
        "origin eastus: weight must be between 1 and 1000",
        "probe interval must be between 1 and 255 seconds",
        "successful samples required must not exceed the sample size",
        "origin response timeout must be between 16 and 240 seconds",
    ]

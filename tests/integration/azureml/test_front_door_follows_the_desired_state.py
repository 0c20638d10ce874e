"""The Front Door driver against the fake ARM server, through the real CdnManagementClient over HTTPS.

Each test runs passes of `apply_front_door` (or `delete_front_door`) the way the GlobalEndpoint reconciler
does, feeding back `applied` and `operations` as its status would, until a pass reports settled.
No Kubernetes here, so the package's cluster cleanup is replaced below.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest
from azure.mgmt.cdn import models as cdn_models

from fake_arm import FakeArm, StaticTokenCredential
from mlops_operator.api.v1alpha1.common import OperationRecord
from mlops_operator.backends.azureml.clients import AzureClients, Cloud
from mlops_operator.backends.azureml.frontdoor import FrontDoorObserved, apply_front_door, delete_front_door
from mlops_operator.backends.azureml.frontdoor_desired import (
    FrontDoorDesired,
    FrontDoorOrigin,
    FrontDoorProbe,
)
from mlops_operator.backends.base import DeletionRefusedError, FatalError, RetryableError
from mlops_operator.conditions import Reason

RG, PROFILE, ENDPOINT, GROUP, ROUTE = "rg-global", "fd-scoring", "scoring", "regions", "all"
EASTUS = FrontDoorOrigin("eastus", "eastus.scoring.example.net", priority=1, weight=600)
WESTUS = FrontDoorOrigin("westus", "westus.scoring.example.net", priority=2, weight=400)
DESIRED = FrontDoorDesired(
    resource_group=RG,
    profile=PROFILE,
    endpoint=ENDPOINT,
    origin_group=GROUP,
    route=ROUTE,
    origins=(EASTUS, WESTUS),
    probe=FrontDoorProbe(path="/healthz", method="HEAD", protocol="Https", interval_seconds=15),
    additional_latency_ms=80,
)
MAX_PASSES = 10
WRITES = ("PUT", "PATCH", "DELETE")


@pytest.fixture
def leave_nothing_behind() -> None:
    """Overrides the package's cleanup of Kubernetes objects: these tests create none."""


@dataclass
class Status:
    """What the GlobalEndpoint keeps on its status between passes."""

    applied: dict[str, str] = field(default_factory=dict)
    operations: dict[str, OperationRecord] = field(default_factory=dict)
    passes: int = 0

    def keep(self, observed: FrontDoorObserved) -> FrontDoorObserved:
        self.applied, self.operations = observed.applied, observed.operations
        self.passes += 1
        return observed


@pytest.fixture
def cdn(fake_arm: FakeArm):
    fake_arm.seed_resource_group(RG)
    cloud = Cloud(fake_arm.base_url, fake_arm.storage_suffix, fake_arm.ca_bundle, retries=0)
    return AzureClients(StaticTokenCredential(), fake_arm.subscription_id, cloud).cdn()


def converge(cdn, desired: FrontDoorDesired, status: Status, passes: int = MAX_PASSES) -> FrontDoorObserved:
    for _ in range(passes):
        observed = status.keep(apply_front_door(cdn, desired, status.applied, status.operations))
        if observed.settled:
            return observed
    raise AssertionError(f"not settled after {passes} passes: {observed.message}")


def remove(cdn, desired: FrontDoorDesired, status: Status) -> FrontDoorObserved:
    for _ in range(MAX_PASSES):
        observed = status.keep(delete_front_door(cdn, desired, status.operations))
        if observed.settled:
            return observed
    raise AssertionError(f"not deleted after {MAX_PASSES} passes: {observed.message}")


def writes(fake: FakeArm) -> list[str]:
    return [f"{r.method} {r.path.rsplit('/', 1)[-1]}" for r in fake.requests() if r.method in WRITES]


def front_door_ids(fake: FakeArm) -> list[str]:
    return sorted(r.id for r in fake.app.store.all() if "/providers/microsoft.cdn/" in r.id.lower())


def test_all_five_resources_are_created_parents_first_with_the_desired_settings(fake_arm, cdn):
    status = Status()
    observed = converge(cdn, DESIRED, status)
    assert writes(fake_arm) == [
        f"PUT {PROFILE}",
        f"PUT {ENDPOINT}",
        f"PUT {GROUP}",
        "PUT eastus",
        "PUT westus",
        f"PUT {ROUTE}",
    ]
    assert status.passes == 5  # profile; endpoint + group; both origins; route; all Succeeded
    endpoint = cdn.afd_endpoints.get(RG, PROFILE, ENDPOINT)
    assert observed.url == f"https://{endpoint.host_name}"
    assert (observed.writes, observed.operations, observed.message) == (0, {}, f"Front Door in place at {observed.url}")
    assert observed.origins == {"eastus": "Enabled", "westus": "Enabled"}
    profile = cdn.profiles.get(RG, PROFILE)
    assert (profile.sku.name, profile.location) == ("Standard_AzureFrontDoor", "Global")
    group = cdn.afd_origin_groups.get(RG, PROFILE, GROUP)
    assert group.health_probe_settings == cdn_models.HealthProbeParameters(
        probe_path="/healthz", probe_request_type="HEAD", probe_protocol="Https", probe_interval_in_seconds=15
    )
    balancing = group.load_balancing_settings
    assert (balancing.sample_size, balancing.successful_samples_required) == (4, 3)
    assert balancing.additional_latency_in_milliseconds == 80
    west = cdn.afd_origins.get(RG, PROFILE, GROUP, "westus")
    assert (west.host_name, west.origin_host_header, west.priority, west.weight) == (
        WESTUS.host_name,
        WESTUS.host_name,
        2,
        400,
    )
    route = cdn.routes.get(RG, PROFILE, ENDPOINT, ROUTE)
    assert (route.origin_group.id, route.patterns_to_match, route.forwarding_protocol) == (
        group.id,
        ["/*"],
        "HttpsOnly",
    )


def test_operations_in_flight_are_waited_for_across_passes_without_writing_again(fake_arm, cdn):
    fake_arm.slow_operations(polls=2)  # each operation is InProgress for the first two looks
    status = Status()
    first = status.keep(apply_front_door(cdn, DESIRED, status.applied, status.operations))
    assert (first.settled, first.writes, list(first.operations), first.message) == (
        False,
        1,
        ["frontdoor/profile"],
        f"creating profile {PROFILE}",
    )
    second = status.keep(apply_front_door(cdn, DESIRED, status.applied, status.operations))
    assert (second.writes, second.message) == (0, f"profile {PROFILE} is Creating")
    converge(cdn, DESIRED, status, passes=4 * MAX_PASSES)
    assert len(writes(fake_arm)) == 6  # one PUT per resource however many passes it took
    assert status.passes > 10


def test_an_idle_resync_reads_five_times_and_writes_nothing(fake_arm, cdn):
    status = Status()
    converge(cdn, DESIRED, status)
    fake_arm.reset_log()
    observed = status.keep(apply_front_door(cdn, DESIRED, status.applied, status.operations))
    assert (observed.settled, observed.writes, writes(fake_arm)) == (True, 0, [])
    assert len(fake_arm.requests("GET")) == 5  # profile, endpoint, origin group, the origins' list, route


def test_a_region_is_taken_out_and_put_back_by_its_origin_alone(fake_arm, cdn):
    status = Status()
    converge(cdn, DESIRED, status)
    drained = replace(DESIRED, origins=(EASTUS, replace(WESTUS, enabled=False)))
    fake_arm.reset_log()
    observed = converge(cdn, drained, status)
    assert (writes(fake_arm), observed.origins["westus"]) == (["PUT westus"], "Disabled")
    assert cdn.afd_origins.get(RG, PROFILE, GROUP, "westus").enabled_state == "Disabled"
    fake_arm.reset_log()
    observed = converge(cdn, DESIRED, status)
    assert (writes(fake_arm), observed.origins["westus"]) == (["PUT westus"], "Enabled")


def test_a_region_dropped_from_the_spec_loses_its_origin(fake_arm, cdn):
    status = Status()
    converge(cdn, DESIRED, status)
    fake_arm.reset_log()
    observed = converge(cdn, replace(DESIRED, origins=(EASTUS,)), status)
    assert writes(fake_arm) == ["DELETE westus"]
    assert [o.name for o in cdn.afd_origins.list_by_origin_group(RG, PROFILE, GROUP)] == ["eastus"]
    assert (observed.origins, sorted(status.applied)) == (
        {"eastus": "Enabled"},
        [
            "frontdoor/endpoint",
            "frontdoor/origin/eastus",
            "frontdoor/origingroup",
            "frontdoor/profile",
            "frontdoor/route",
        ],
    )


def test_a_change_to_the_probe_rewrites_the_origin_group_only(fake_arm, cdn):
    status = Status()
    converge(cdn, DESIRED, status)
    fake_arm.reset_log()
    converge(cdn, replace(DESIRED, probe=FrontDoorProbe(path="/ready")), status)
    assert writes(fake_arm) == [f"PUT {GROUP}"]
    assert cdn.afd_origin_groups.get(RG, PROFILE, GROUP).health_probe_settings.probe_path == "/ready"


@pytest.mark.parametrize(("http_status", "reason"), [(429, Reason.AZURE_THROTTLED), (503, Reason.AZURE_UNAVAILABLE)])
def test_throttling_or_an_outage_is_retryable_and_the_next_passes_converge(fake_arm, cdn, http_status, reason):
    status = Status()
    fake_arm.inject(method="PUT", path_regex="/origins/westus$", status=http_status, retry_after=7)
    with pytest.raises(RetryableError) as caught:
        converge(cdn, DESIRED, status)
    assert (caught.value.reason, caught.value.delay) == (reason, 7)
    observed = converge(cdn, DESIRED, status)
    assert observed.origins == {"eastus": "Enabled", "westus": "Enabled"}
    # The pass that raised lost its record of eastus's PUT, so eastus is PUT once more (the same body).
    origin_writes = [w for w in writes(fake_arm) if w.endswith("us")]
    assert origin_writes == ["PUT eastus", "PUT westus", "PUT eastus", "PUT westus"]  # the first westus got the error


def test_a_failed_operation_names_the_resource_and_arms_message(fake_arm, cdn):
    status = Status()
    fake_arm.fail_operations("/originGroups/regions$", code="BadRequest", message="Probe path is not allowed.")
    with pytest.raises(FatalError) as caught:
        converge(cdn, DESIRED, status)
    assert caught.value.reason == Reason.AZURE_OPERATION_FAILED
    assert str(caught.value) == f"Front Door origin group {GROUP}: ARM BadRequest: Probe path is not allowed."
    observed = converge(cdn, replace(DESIRED, probe=FrontDoorProbe(path="/other")), status)  # a new spec is PUT again
    assert observed.settled


def test_a_desired_state_front_door_would_refuse_makes_no_call(fake_arm, cdn):
    with pytest.raises(FatalError) as caught:
        apply_front_door(cdn, replace(DESIRED, origins=(replace(EASTUS, priority=6),)), {}, {})
    assert (caught.value.reason, fake_arm.requests()) == (Reason.INVALID_SPEC, [])


def test_deletion_goes_children_first_and_leaves_no_front_door_resource(fake_arm, cdn):
    status = Status()
    converge(cdn, DESIRED, status)
    fake_arm.reset_log()
    observed = remove(cdn, DESIRED, status)
    assert (observed.settled, observed.operations, front_door_ids(fake_arm)) == (True, {}, [])
    assert writes(fake_arm) == [
        f"DELETE {ROUTE}",
        "DELETE eastus",
        "DELETE westus",
        f"DELETE {GROUP}",
        f"DELETE {ENDPOINT}",
        f"DELETE {PROFILE}",
    ]


def test_a_profile_shared_with_another_endpoint_is_kept(fake_arm, cdn):
    status = Status()
    converge(cdn, DESIRED, status)
    cdn.afd_endpoints.begin_create(RG, PROFILE, "other", cdn_models.AFDEndpoint(location="Global")).result()
    observed = remove(cdn, DESIRED, status)
    assert observed.message == f"Front Door removed; profile {PROFILE} kept: it holds other endpoints or origin groups"
    assert [i.rsplit("/", 1)[-1] for i in front_door_ids(fake_arm)] == [PROFILE, "other"]


def test_a_failed_deletion_is_refused_with_arms_message(fake_arm, cdn):
    status = Status()
    converge(cdn, DESIRED, status)
    fake_arm.fail_operations(
        f"/afdEndpoints/{ENDPOINT}$", method="DELETE", code="Conflict", message="Endpoint is locked."
    )
    with pytest.raises(DeletionRefusedError) as caught:
        remove(cdn, DESIRED, status)
    assert (caught.value.resource, caught.value.detail) == (
        f"Front Door endpoint {ENDPOINT}",
        "ARM Conflict: Endpoint is locked.",
    )

"""spec.native.gateway.retry renders a Traefik retry Middleware per endpoint and an ExtensionRef filter on
every rule; without the Middleware CRD the route is applied without it and TrafficApplied says so."""

from __future__ import annotations

from typing import Any

from mlops_operator.api.v1alpha1.platform import GatewayParentRef, GatewayRetry, MLOpsPlatform
from mlops_operator.backends.native.endpoint import (
    MIDDLEWARE_CRD,
    EndpointReconciler,
    RetryState,
    with_retry_note,
)
from mlops_operator.conditions import ConditionType, Reason, Verdict
from mlops_operator.render.endpoint import Endpoint, EndpointMember, render_httproute, render_retry_middleware

ENDPOINT = Endpoint(
    "diabetes", "models", (EndpointMember("blue", "uid-b", 90, 0), EndpointMember("green", "uid-g", 10, 0))
)
RETRYING = GatewayParentRef(name="mlops-gateway", namespace="mlops-system", retry=GatewayRetry(attempts=4))
APPLIED = Verdict(ConditionType.TRAFFIC_APPLIED, "True", Reason.TRAFFIC_APPLIED, "HTTPRoute diabetes-endpoint: blue=90")


def test_every_rule_references_the_endpoint_middleware_after_the_rewrite() -> None:
    route = render_httproute(ENDPOINT, RETRYING, retry=True)
    ref = {"group": "traefik.io", "kind": "Middleware", "name": "diabetes-endpoint-retry"}
    assert len(route["spec"]["rules"]) == 3  # the split and one pin per deployment
    for rule in route["spec"]["rules"]:
        assert [f["type"] for f in rule["filters"]] == ["URLRewrite", "ExtensionRef"]
        assert rule["filters"][1]["extensionRef"] == ref


def test_the_parent_ref_carries_no_retry_and_no_filter_without_it() -> None:
    route = render_httproute(ENDPOINT, RETRYING, retry=False)
    assert route["spec"]["parentRefs"] == [{"name": "mlops-gateway", "namespace": "mlops-system"}]
    assert all(f["type"] != "ExtensionRef" for rule in route["spec"]["rules"] for f in rule["filters"])


def test_the_middleware_is_owned_by_every_member_and_retries_the_asked_number_of_times() -> None:
    middleware = render_retry_middleware(ENDPOINT, GatewayRetry(attempts=4))
    assert middleware["apiVersion"] == "traefik.io/v1alpha1"
    assert middleware["metadata"]["namespace"] == "models"
    assert {o["uid"] for o in middleware["metadata"]["ownerReferences"]} == {"uid-b", "uid-g"}
    assert middleware["spec"] == {"retry": {"attempts": 4}}


def test_a_missing_middleware_crd_is_said_on_traffic_applied_which_stays_true() -> None:
    noted = with_retry_note(APPLIED, RetryState(asked=True, applied=False))
    assert noted.status == "True"
    assert MIDDLEWARE_CRD in noted.message
    assert "spec.native.gateway.retry" in noted.message
    assert with_retry_note(APPLIED, RetryState(asked=True, applied=True)) == APPLIED
    assert with_retry_note(APPLIED, RetryState(asked=False, applied=False)) == APPLIED


class FakeKube:
    """Answers CRD lookups and records applied objects."""

    def __init__(self, crds: set[str]) -> None:
        self.crds, self.applied = crds, []

    def crd_established(self, name: str) -> bool:
        return name in self.crds

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        return None

    def apply(self, body: dict[str, Any], manager: str) -> dict[str, Any]:
        self.applied.append(body)
        return body


def test_the_reconciler_applies_the_middleware_before_the_route_only_when_traefik_has_the_crd() -> None:
    gateway_api = "httproutes.gateway.networking.k8s.io"
    with_crd = FakeKube({gateway_api, MIDDLEWARE_CRD})
    EndpointReconciler(with_crd).reconcile(ENDPOINT, RETRYING, with_keys=False)  # type: ignore[arg-type]
    kinds = [o["kind"] for o in with_crd.applied]
    assert kinds.index("Middleware") < kinds.index("HTTPRoute")

    without = FakeKube({gateway_api})
    state = EndpointReconciler(without).reconcile(ENDPOINT, RETRYING, with_keys=False)  # type: ignore[arg-type]
    assert "Middleware" not in [o["kind"] for o in without.applied]
    assert MIDDLEWARE_CRD in state.verdict.message


def test_the_platform_field_is_validated_and_defaults_to_ten_tries_through_traefik() -> None:
    platform = MLOpsPlatform.model_validate({
        "apiVersion": "mlops.dev/v1alpha1", "kind": "MLOpsPlatform", "metadata": {"name": "p"},
        "spec": {"backend": "native", "native": {"gateway": {"name": "g", "retry": {}}}},
    })  # fmt: skip
    assert platform.spec.native is not None
    assert platform.spec.native.gateway is not None
    assert platform.spec.native.gateway.retry == GatewayRetry(attempts=10, via="TraefikMiddleware")

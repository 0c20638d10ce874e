"""The online endpoint an azureml ModelDeployment serves behind: create it, copy its keys, set its traffic.

Azure ML refuses traffic at endpoint creation and needs traffic to sum to 0 or 100, so traffic is set last,
from every live ModelDeployment of the endpoint, and only once each deployment that gets traffic is
provisioned. One PUT moves all of it (blue 100 -> green 100 is atomic).
"""

from __future__ import annotations

from typing import Any

from azure.ai.ml.entities import KubernetesOnlineEndpoint, OnlineEndpoint

from mlops_operator import naming
from mlops_operator.api.v1alpha1 import ModelDeployment, ModelDeploymentStatus
from mlops_operator.backends.azureml.operations import Ledger, azure_errors, get_or_none, state_name, state_of
from mlops_operator.backends.azureml.steps import StepResult, failed, ready, waiting
from mlops_operator.backends.base import ObjectKey
from mlops_operator.backends.shared.endpoint import endpoint_members, ensure_keys_secret, siblings_to_wake
from mlops_operator.conditions import ConditionType, Reason, Verdict
from mlops_operator.kube import Kube
from mlops_operator.render.azureml import desired_traffic, traffic_problem
from mlops_operator.render.endpoint import Endpoint

AML_AUTH_MODES = {"key": "key", "aml_token": "aml_token"}


def endpoint_alone(ml: Any, name: str) -> Any:
    """The online endpoint, read with one ARM call. azure-ai-ml's public `online_endpoints.get` also lists
    every deployment of the endpoint to add zero entries to its traffic map, which `live_traffic` drops
    anyway: a second read on every pass of every member (bench/scale_azureml.py). This goes through the
    same generated REST operation `get` itself uses (azure-ai-ml is pinned by constraints.txt), and falls
    back to the public call should a later azure-ai-ml move it."""
    operations = ml.online_endpoints
    rest = getattr(operations, "_online_operation", None)
    if rest is None or not hasattr(operations, "_init_kwargs"):
        return operations.get(name)
    raw = rest.get(
        resource_group_name=operations._resource_group_name,
        workspace_name=operations._workspace_name,
        endpoint_name=name,
        **operations._init_kwargs,
    )
    return OnlineEndpoint._from_rest_object(raw)


def live_traffic(endpoint: Any) -> dict[str, int]:
    return {str(k).lower(): int(v) for k, v in (getattr(endpoint, "traffic", None) or {}).items() if v}


class EndpointSteps:
    """Endpoint, keys and traffic of one ModelDeployment's endpoint, for one pass."""

    def __init__(self, kube: Kube, ml: Any, md: ModelDeployment, compute: str, ledger: Ledger, poll: float) -> None:
        self.kube, self.ml, self.md, self.compute, self.ledger, self.poll = kube, ml, md, compute, ledger, poll
        self.name = md.spec.endpoint.name
        self.namespace = str(md.metadata.namespace)
        self.live: Any = None
        self.in_force: tuple[Endpoint, dict[str, int]] | None = None

    def endpoint(self) -> StepResult:
        live = get_or_none(endpoint_alone, self.ml, self.name)
        mode = AML_AUTH_MODES[self.md.spec.endpoint.auth_mode]
        if live is None:
            entity = KubernetesOnlineEndpoint(
                name=self.name, compute=self.compute, auth_mode=mode, tags={naming.LABEL_MANAGED_BY: naming.MANAGED_BY}
            )
            self.ledger.begin("endpoint", lambda: self.ml.online_endpoints.begin_create_or_update(entity))
            return waiting(ConditionType.ENDPOINT_READY, f"creating endpoint {self.name}", self.poll)
        state = state_of(live.provisioning_state)
        if state == "in-progress":
            return waiting(
                ConditionType.ENDPOINT_READY,
                f"endpoint {self.name} is {state_name(live.provisioning_state)}",
                self.poll,
            )
        if state == "failed":
            return failed(
                ConditionType.ENDPOINT_READY, Reason.AZURE_OPERATION_FAILED, f"endpoint {self.name} is in state Failed"
            )
        if not str(live.compute or "").lower().endswith(f"/computes/{self.compute.lower()}"):
            return failed(
                ConditionType.ENDPOINT_READY,
                Reason.COMPUTE_CONFLICT,
                f"endpoint {self.name} already exists on compute {live.compute}; Azure ML endpoint names are "
                "unique per workspace, so choose another endpoint name",
            )
        if str(live.auth_mode).lower() != mode:
            live.auth_mode = mode
            self.ledger.begin("endpoint", lambda: self.ml.online_endpoints.begin_create_or_update(live))
            return waiting(
                ConditionType.ENDPOINT_READY, f"endpoint {self.name}: switching auth mode to {mode}", self.poll
            )
        self.ledger.finish("endpoint")
        self.live = live
        return ready(ConditionType.ENDPOINT_READY, Reason.ENDPOINT_READY, f"endpoint {self.name}", **self._status(live))

    def _status(self, live: Any) -> dict[str, Any]:
        keys = self._ensure_keys() if self.md.spec.endpoint.auth_mode == "key" else None
        return {
            "scoringUri": live.scoring_uri,
            "swaggerUri": getattr(live, "openapi_uri", None),
            "keysSecretRef": {"name": keys} if keys else None,
        }

    def members(self) -> Endpoint:
        return endpoint_members(self.kube, self.namespace, self.name, me=self.md)

    def _ensure_keys(self) -> str:
        """The endpoint keys in a Secret: copied once from Azure, then only its owners are kept current."""
        return ensure_keys_secret(self.kube, self.members(), self._azure_keys)

    def _azure_keys(self) -> tuple[str, str]:
        with azure_errors():
            keys = self.ml.online_endpoints.get_keys(self.name)
        return str(keys.primary_key), str(keys.secondary_key)

    def traffic(self) -> StepResult:
        endpoint = self.members()
        desired = desired_traffic({m.name: m.traffic for m in endpoint.members})
        current = live_traffic(self.live)
        problem = traffic_problem(desired)
        if problem:
            verdict = Verdict(ConditionType.TRAFFIC_APPLIED, "False", Reason.TRAFFIC_SUM_INVALID, problem, "Warning")
            return StepResult(verdict, False, status={"traffic": current})
        if desired != current:
            pending = self._unprovisioned(desired)
            if pending:
                return waiting(
                    ConditionType.TRAFFIC_APPLIED,
                    f"waiting for {', '.join(pending)} to be provisioned before routing traffic to it",
                    self.poll,
                    Reason.TRAFFIC_PENDING,
                )
            self.live.traffic = desired
            self.ledger.begin("traffic", lambda: self.ml.online_endpoints.begin_create_or_update(self.live))
            return waiting(ConditionType.TRAFFIC_APPLIED, f"setting traffic {desired}", self.poll)
        self.ledger.finish("traffic")
        self.in_force = (endpoint, current)
        message = ", ".join(f"{k}={v}" for k, v in current.items()) or "no live traffic"
        return ready(ConditionType.TRAFFIC_APPLIED, Reason.TRAFFIC_APPLIED, message, traffic=current)

    def _unprovisioned(self, desired: dict[str, int]) -> list[str]:
        with azure_errors():
            states = {d.name.lower(): d.provisioning_state for d in self.ml.online_deployments.list(self.name)}
        return sorted(name for name in desired if state_of(states.get(name, "Creating")) != "succeeded")

    def siblings_to_wake(self, status: ModelDeploymentStatus) -> list[ObjectKey]:
        """After traffic was confirmed: the other members, if this pass saw a split its status does not show."""
        if self.in_force is None:
            return []
        endpoint, traffic = self.in_force
        return siblings_to_wake(endpoint, str(self.md.metadata.name), status.traffic, traffic)

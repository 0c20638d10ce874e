"""The online endpoint an azureml ModelDeployment serves behind: create it, copy its keys, set its traffic.

Azure ML refuses traffic at endpoint creation and needs traffic to sum to 0 or 100, so traffic is set last,
from every live ModelDeployment of the endpoint, and only once each deployment that gets traffic is
provisioned. One PUT moves all of it (blue 100 -> green 100 is atomic).

Every member of an endpoint looks at it on its own resync, so the endpoint is read once and the reading kept
for `KEEP_FRACTION` of the resync period (`Seen`): the members' passes within that time use it, and a
resync still reads the endpoint at least once per period, so a change or deletion in Azure is noticed as
before. A kept reading only ever concludes "nothing to change": any write is decided on a fresh read, and
every write forgets the kept one.
"""

from __future__ import annotations

from typing import Any

from azure.ai.ml.entities import KubernetesOnlineEndpoint, OnlineEndpoint

from mlops_operator import naming
from mlops_operator.api.v1alpha1 import ModelDeployment, ModelDeploymentStatus
from mlops_operator.backends.azureml.operations import Ledger, azure_errors, get_or_none, state_name, state_of
from mlops_operator.backends.azureml.seen import Seen
from mlops_operator.backends.azureml.steps import StepResult, failed, ready, waiting
from mlops_operator.backends.azureml.writes import begin_endpoint_put, workspace_location
from mlops_operator.backends.base import ObjectKey
from mlops_operator.backends.shared.endpoint import endpoint_members, ensure_keys_secret, siblings_to_wake
from mlops_operator.conditions import ConditionType, Reason, Verdict
from mlops_operator.kube import Kube
from mlops_operator.render.azureml import desired_traffic, traffic_problem
from mlops_operator.render.endpoint import Endpoint

AML_AUTH_MODES = {"key": "key", "aml_token": "aml_token"}
# Kept readings last between half and all of a resync period: then however the members' resyncs fall
# within the period, the first of them after expiry reads and the others use it (one read per period).
KEEP_FRACTION = 0.75


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


def endpoint_id(workspace_id: str, name: str) -> str:
    return f"{workspace_id}/onlineEndpoints/{name}"


def live_traffic(endpoint: Any) -> dict[str, int]:
    return {str(k).lower(): int(v) for k, v in (getattr(endpoint, "traffic", None) or {}).items() if v}


class EndpointSteps:
    """Endpoint, keys and traffic of one ModelDeployment's endpoint, for one pass."""

    def __init__(
        self,
        kube: Kube,
        ml: Any,
        md: ModelDeployment,
        ledger: Ledger,
        poll: float,
        *,
        workspace_id: str,
        compute: str,
        observed: Seen[Any] | None = None,
    ) -> None:
        self.kube, self.ml, self.md, self.ledger, self.poll = kube, ml, md, ledger, poll
        self.compute, self.compute_id = compute, f"{workspace_id}/computes/{compute}"
        self.observed: Seen[Any] = observed if observed is not None else Seen(0.0)
        self.name = md.spec.endpoint.name
        self.arm_id = endpoint_id(workspace_id, self.name)
        self.namespace = str(md.metadata.namespace)
        self.mode = AML_AUTH_MODES[md.spec.endpoint.auth_mode]
        self.live: Any = None
        self.kept = False  # `live` is a reading kept from an earlier pass, not this pass's own
        self.in_force: tuple[Endpoint, dict[str, int]] | None = None

    def endpoint(self) -> StepResult:
        kept = self.observed.get(self.arm_id)
        if kept is not None and self._blocker(kept) is None and self._mode_of(kept) == self.mode:
            self.kept = True
            return self._ready(kept)
        live = get_or_none(endpoint_alone, self.ml, self.name)
        if live is None:
            entity = KubernetesOnlineEndpoint(
                name=self.name,
                compute=self.compute_id,
                auth_mode=self.mode,
                tags={naming.LABEL_MANAGED_BY: naming.MANAGED_BY},
            )
            self._put("endpoint", entity)
            return waiting(ConditionType.ENDPOINT_READY, f"creating endpoint {self.name}", self.poll)
        blocker = self._blocker(live)
        if blocker is not None:
            return blocker
        if self._mode_of(live) != self.mode:
            self._put("endpoint", live, auth_mode=self.mode)
            return waiting(
                ConditionType.ENDPOINT_READY, f"endpoint {self.name}: switching auth mode to {self.mode}", self.poll
            )
        self.observed.remember(self.arm_id, live)
        return self._ready(live)

    def _blocker(self, live: Any) -> StepResult | None:
        """Why the endpoint as read is not ready for this deployment (None: it is)."""
        state = state_of(live.provisioning_state)
        if state == "in-progress":
            message = f"endpoint {self.name} is {state_name(live.provisioning_state)}"
            return waiting(ConditionType.ENDPOINT_READY, message, self.poll)
        if state == "failed":
            message = f"endpoint {self.name} is in state Failed"
            return failed(ConditionType.ENDPOINT_READY, Reason.AZURE_OPERATION_FAILED, message)
        if not str(live.compute or "").lower().endswith(f"/computes/{self.compute.lower()}"):
            return failed(
                ConditionType.ENDPOINT_READY,
                Reason.COMPUTE_CONFLICT,
                f"endpoint {self.name} already exists on compute {live.compute}; Azure ML endpoint names are "
                "unique per workspace, so choose another endpoint name",
            )
        return None

    @staticmethod
    def _mode_of(live: Any) -> str:
        return str(live.auth_mode).lower()

    def _ready(self, live: Any) -> StepResult:
        self.ledger.finish("endpoint")
        self.live = live
        return ready(ConditionType.ENDPOINT_READY, Reason.ENDPOINT_READY, f"endpoint {self.name}", **self._status(live))

    def _put(self, step: str, endpoint: Any, **changes: Any) -> None:
        """Every write of the endpoint. What was kept of it is forgotten first: `endpoint` may be that very
        object, and after the write it is stale anyway."""
        self.observed.forget(self.arm_id)
        for field, value in changes.items():
            setattr(endpoint, field, value)
        location = getattr(endpoint, "location", None) or workspace_location(self.ml)
        self.ledger.begin(step, lambda: begin_endpoint_put(self.ml, endpoint, location))

    def location(self) -> str:
        """The endpoint's region, which its deployments are created in; once `endpoint()` was ready."""
        return str(getattr(self.live, "location", None) or workspace_location(self.ml))

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
        problem = traffic_problem(desired)
        if problem:
            verdict = Verdict(ConditionType.TRAFFIC_APPLIED, "False", Reason.TRAFFIC_SUM_INVALID, problem, "Warning")
            return StepResult(verdict, False, status={"traffic": live_traffic(self.live)})
        if desired != live_traffic(self.live) and self.kept:
            changed = self._read_again()
            if changed is not None:
                return changed
        current = live_traffic(self.live)
        if desired != current:
            return self._set_traffic(desired)
        self.ledger.finish("traffic")
        self.in_force = (endpoint, current)
        message = ", ".join(f"{k}={v}" for k, v in current.items()) or "no live traffic"
        return ready(ConditionType.TRAFFIC_APPLIED, Reason.TRAFFIC_APPLIED, message, traffic=current)

    def _read_again(self) -> StepResult | None:
        """Before a write, the endpoint as ARM has it now rather than a reading kept from an earlier pass."""
        self.observed.forget(self.arm_id)
        live = get_or_none(endpoint_alone, self.ml, self.name)
        if live is None or self._blocker(live) is not None:
            message = f"endpoint {self.name} changed in Azure since it was last read; looking again"
            return waiting(ConditionType.TRAFFIC_APPLIED, message, self.poll)
        self.live, self.kept = live, False
        self.observed.remember(self.arm_id, live)
        return None

    def _set_traffic(self, desired: dict[str, int]) -> StepResult:
        pending = self._unprovisioned(desired)
        if pending:
            return waiting(
                ConditionType.TRAFFIC_APPLIED,
                f"waiting for {', '.join(pending)} to be provisioned before routing traffic to it",
                self.poll,
                Reason.TRAFFIC_PENDING,
            )
        self._put("traffic", self.live, traffic=desired)
        return waiting(ConditionType.TRAFFIC_APPLIED, f"setting traffic {desired}", self.poll)

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

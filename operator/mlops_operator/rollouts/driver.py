"""One rollout pass for a ModelDeployment: gather what the machine needs, run it, and say what to write."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import get_args

from mlops_operator import naming
from mlops_operator.api.v1alpha1 import API_VERSION, ModelDeployment, ModelDeploymentStatus
from mlops_operator.api.v1alpha1.rollout import GateResult, RolloutAction, RolloutStatus
from mlops_operator.conditions import Announcement, ConditionType, Verdict
from mlops_operator.kube import Kube
from mlops_operator.render.rollout_traffic import candidate_share, rollout_revision
from mlops_operator.rollouts.gates import Subjects, check
from mlops_operator.rollouts.machine import (
    RolloutInputs,
    advance,
    next_look,
    no_rollout_verdict,
)
from mlops_operator.rollouts.prometheus import MetricProvider, PrometheusProvider

ProviderFactory = Callable[[str], MetricProvider]


@dataclass
class RolloutPass:
    """What a pass adds to its outcome: the RolledOut verdict, status.rollout, Events, when to look again,
    and the action annotation it consumed (removed by the caller)."""

    verdict: Verdict
    status: RolloutStatus | None
    events: list[Announcement]
    requeue_after: float | None
    consumed_action: bool


class RolloutDriver:
    """Runs the rollout machine of candidates; reads the baseline and the metrics provider."""

    def __init__(
        self, kube: Kube, default_prometheus: str | None, providers: ProviderFactory = PrometheusProvider
    ) -> None:
        self._kube = kube
        self._default_prometheus = default_prometheus
        self._providers = providers

    def run(self, md: ModelDeployment, now: datetime | None = None) -> RolloutPass:
        spec = md.spec.rollout
        if spec is None:
            return RolloutPass(no_rollout_verdict(), None, [], None, False)
        now = now or datetime.now(UTC)
        action = _action(md)
        decision = advance(self._inputs(md, action, now), lambda: self._check(md))
        return RolloutPass(
            decision.verdict,
            decision.status,
            decision.events,
            next_look(spec, decision.status, now),
            action is not None,
        )

    def _inputs(self, md: ModelDeployment, action: RolloutAction | None, now: datetime) -> RolloutInputs:
        assert md.spec.rollout is not None
        status, name = md.status, str(md.metadata.name)
        previous = status.rollout if status else None
        recorded = (status.traffic.get(name, 0) if status else 0) or 0
        return RolloutInputs(
            name=name,
            spec=md.spec.rollout,
            target=md.spec.traffic,
            revision=rollout_revision(md.spec),
            previous=previous,
            start_share=candidate_share(md.spec, previous, recorded) if previous is None else 0,
            in_force=recorded if _condition_true(md, ConditionType.TRAFFIC_APPLIED) else None,
            candidate_ready=_condition_true(md, ConditionType.DEPLOYMENT_READY, current=True),
            baseline_problem=self._baseline_problem(md),
            action=action,
            now=now,
        )

    def _baseline_problem(self, md: ModelDeployment) -> str | None:
        assert md.spec.rollout is not None
        baseline, namespace = md.spec.rollout.baseline, str(md.metadata.namespace)
        if baseline == md.metadata.name:
            return f"spec.rollout.baseline names this deployment ({baseline}); name the one it takes traffic from"
        body = self._kube.get(API_VERSION, "ModelDeployment", baseline, namespace)
        if body is None or body["metadata"].get("deletionTimestamp"):
            return f"baseline ModelDeployment {namespace}/{baseline} does not exist; fix spec.rollout.baseline"
        if (body.get("spec") or {}).get("endpoint", {}).get("name") != md.spec.endpoint.name:
            return f"baseline {baseline} is not behind endpoint {md.spec.endpoint.name}; name a deployment of it"
        return None

    def _check(self, md: ModelDeployment) -> list[GateResult]:
        assert md.spec.rollout is not None
        analysis = md.spec.rollout.analysis
        address = analysis.prometheus.address if analysis.prometheus else self._default_prometheus
        if not address:
            missing = "no metrics provider: set spec.rollout.analysis.prometheus.address or MLOPS_PROMETHEUS_URL"
            return [GateResult(name=g.name, verdict="Error", message=missing) for g in analysis.gates]
        provider = self._providers(address)
        subjects = Subjects(
            namespace=str(md.metadata.namespace),
            endpoint=md.spec.endpoint.name,
            candidate=str(md.metadata.name),
            baseline=md.spec.rollout.baseline,
            window_seconds=analysis.window_seconds,
        )
        return [check(gate, provider, subjects) for gate in analysis.gates]


def _action(md: ModelDeployment) -> RolloutAction | None:
    value = (md.metadata.annotations or {}).get(naming.ANNOTATION_ROLLOUT_ACTION, "").strip()
    return value if value in get_args(RolloutAction) else None  # type: ignore[return-value]


def _condition_true(md: ModelDeployment, type_: ConditionType, current: bool = False) -> bool:
    """A condition of the last pass; `current`: and computed for this generation (not the previous spec's)."""
    conditions = md.status.conditions if md.status else []
    found = next((c for c in conditions if c.type == type_), None)
    if found is None or found.status != "True":
        return False
    return not current or found.observed_generation == md.metadata.generation


def with_rollout(md: ModelDeployment, status: RolloutStatus | None) -> ModelDeployment:
    """The deployment as this pass will leave it, so its own endpoint split uses the new rollout state."""
    if md.status is None:
        return md.model_copy(update={"status": ModelDeploymentStatus(rollout=status)})
    return md.model_copy(update={"status": md.status.model_copy(update={"rollout": status})})

"""One drift pass for a ModelDeployment: when a check is due, read the profile and the window's counts,
decide, run the episode's due actions, and say what to write and when to look again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from mlops_operator.api.v1alpha1 import API_VERSION, MLOpsPlatform, ModelDeployment
from mlops_operator.api.v1alpha1.monitoring import AzureMLJobAction, DriftMonitoring, DriftStatus
from mlops_operator.backends.base import FatalError, RetryableError
from mlops_operator.conditions import Announcement, ConditionType, Reason, Verdict
from mlops_operator.drift.profile import Profile, ProfileError, parse_profile
from mlops_operator.kube import Kube
from mlops_operator.metrics import OperatorMetrics
from mlops_operator.monitoring.drift_actions import ActionError, create_retraining_job, send_cloud_event
from mlops_operator.monitoring.drift_machine import (
    DriftCheck,
    DriftDecision,
    decide,
    not_monitored,
    rfc3339,
    unjudged,
)
from mlops_operator.render.drift_job import render_drift_job
from mlops_operator.rollouts.prometheus import PrometheusProvider, ProviderError

# Counters of the scoring server (scoring/drift.py), labelled per pod by the scrape (render/prometheus.py).
COUNTS_QUERY = (
    'sum by (feature, bin) (increase(mlops_drift_observations_total{{namespace="{namespace}", '
    'deployment="{deployment}"}}[{window}s]))'
)

# An azureml platform -> its SDK clients (the azureml backend's, which hold its credentials); None: no Azure ML.
AzureMLClients = Callable[[MLOpsPlatform], Any]


@dataclass
class DriftPass:
    """What a pass adds to its outcome: the DataDrift verdict, status.drift (None: leave it), Events, and
    when to look again. `clear`: spec.monitoring.drift was removed, so status.drift goes."""

    verdict: Verdict
    status: DriftStatus | None = None
    events: list[Announcement] = field(default_factory=list)
    requeue_after: float | None = None
    clear: bool = False


class DriftMonitor:
    def __init__(
        self,
        kube: Kube,
        default_prometheus: str | None,
        providers: Callable[[str], PrometheusProvider] = PrometheusProvider,
        metrics: OperatorMetrics | None = None,
        azureml_clients: AzureMLClients | None = None,
    ) -> None:
        self._kube = kube
        self._default_prometheus = default_prometheus
        self._providers = providers
        self._metrics = metrics
        self._azureml_clients = azureml_clients
        self._profiles: dict[tuple[str, str, str], Profile] = {}  # by namespace, name, resourceVersion

    def run(self, md: ModelDeployment, now: datetime | None = None) -> DriftPass:
        spec = md.spec.monitoring.drift
        if spec is None:
            return DriftPass(not_monitored(), clear=bool(md.status and md.status.drift))
        now = now or datetime.now(UTC)
        wait = _seconds_until_due(md, spec, now)
        if wait > 0:
            return DriftPass(_carried_verdict(md), requeue_after=wait)
        decision = self._check(md, spec, now)
        events = [*decision.events, *self._act(md, spec, decision, now)]
        self._record(md, decision.status)
        return DriftPass(decision.verdict, decision.status, events, float(spec.check_interval_seconds))

    def _check(self, md: ModelDeployment, spec: DriftMonitoring, now: datetime) -> DriftDecision:
        previous = md.status.drift if md.status else None
        profile = self._profile(md, spec)
        if isinstance(profile, str):
            return unjudged(previous, now, Reason.DRIFT_BASELINE_INVALID, profile, "Warning")
        address = spec.prometheus.address if spec.prometheus else self._default_prometheus
        if not address:
            missing = "no metrics provider: set spec.monitoring.drift.prometheus.address or MLOPS_PROMETHEUS_URL"
            return unjudged(previous, now, Reason.DRIFT_CHECK_FAILED, missing, "Warning")
        try:
            counts = self._counts(md, spec, profile, address)
        except ProviderError as exc:
            return unjudged(previous, now, Reason.DRIFT_CHECK_FAILED, str(exc), "Warning")
        return decide(DriftCheck(spec, profile, counts, previous, now, _configured_actions(spec)))

    def _profile(self, md: ModelDeployment, spec: DriftMonitoring) -> Profile | str:
        ref, namespace = spec.baseline.config_map_key_ref, str(md.metadata.namespace)
        found = self._kube.get("v1", "ConfigMap", ref.name, namespace)
        if found is None:
            return (
                f"ConfigMap {ref.name} (spec.monitoring.drift.baseline) does not exist in {namespace}; "
                f"create it with `mlopsctl profile DATA --configmap {ref.name}`"
            )
        key = (namespace, ref.name, str(found["metadata"].get("resourceVersion")))
        if key in self._profiles:
            return self._profiles[key]
        text = (found.get("data") or {}).get(ref.key)
        if text is None:
            return f"ConfigMap {ref.name} has no key {ref.key!r} (spec.monitoring.drift.baseline.configMapKeyRef.key)"
        try:
            profile = parse_profile(text)
        except ProfileError as exc:
            return f"ConfigMap {ref.name} key {ref.key}: {exc}"
        self._profiles = {k: v for k, v in self._profiles.items() if k[:2] != key[:2]}
        self._profiles[key] = profile
        return profile

    def _counts(
        self, md: ModelDeployment, spec: DriftMonitoring, profile: Profile, address: str
    ) -> dict[str, list[float]]:
        query = COUNTS_QUERY.format(
            namespace=md.metadata.namespace, deployment=md.metadata.name, window=spec.window_seconds
        )
        counts = {feature.name: [0.0] * feature.bins for feature in profile.features}
        labels = {feature.name: feature.bin_labels() for feature in profile.features}
        for series, value in self._providers(address).series(query):
            name, bin_label = series.get("feature", ""), series.get("bin", "")
            if name in labels and bin_label in labels[name]:
                counts[name][labels[name].index(bin_label)] += value
        return counts

    def _act(
        self, md: ModelDeployment, spec: DriftMonitoring, decision: DriftDecision, now: datetime
    ) -> list[Announcement]:
        """Run the due actions, recording each result on the episode (the status written after this pass)."""
        episode = decision.status.episode
        if episode is None or not decision.due_actions:
            return []
        done, failed = [], []
        for action in decision.due_actions:
            try:
                result = self._run_action(md, spec, action, decision.status)
            except ActionError as exc:
                result = f"Failed: {exc}"
                failed.append(f"{action}: {exc}")
            else:
                done.append(f"{action}: {result}")
            episode.actions[action] = result
        if done:
            decision.status.last_actions_time = rfc3339(now)
        return _action_events(episode.number, done, failed)

    def _run_action(self, md: ModelDeployment, spec: DriftMonitoring, action: str, status: DriftStatus) -> str:
        if action == "cloudEvent" and spec.actions.cloud_event is not None:
            return send_cloud_event(self._kube, md, spec.actions.cloud_event, status)
        if action == "job" and spec.actions.job is not None:
            return create_retraining_job(self._kube, md, spec.actions.job, status)
        if action == "azureMLJob" and spec.actions.azure_ml_job is not None:
            return self._submit_azureml_job(md, spec.actions.azure_ml_job, status)
        raise ActionError(f"unknown action {action}")

    def _submit_azureml_job(self, md: ModelDeployment, action: AzureMLJobAction, status: DriftStatus) -> str:
        platform = self._azureml_platform(action.platform_ref.name)
        if self._azureml_clients is None:
            raise ActionError("this operator runs without the azureml backend")
        assert platform.spec.azure is not None
        # Imported here: an operator whose drift actions never reach Azure ML never loads the Azure SDKs.
        from mlops_operator.backends.azureml.jobs import submit_drift_job

        try:
            return submit_drift_job(
                self._azureml_clients(platform), platform.spec.azure, render_drift_job(md, action, status)
            )
        except (RetryableError, FatalError) as exc:
            raise ActionError(f"{exc.reason}: {exc}") from exc

    def _azureml_platform(self, name: str) -> MLOpsPlatform:
        where = "monitoring.drift.actions.azureMLJob.platformRef"
        body = self._kube.get(API_VERSION, "MLOpsPlatform", name)
        if body is None:
            raise ActionError(f"MLOpsPlatform {name} ({where}) does not exist")
        try:
            platform = MLOpsPlatform.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            problem = f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
            raise ActionError(f"MLOpsPlatform {name} ({where}) is invalid: {problem}") from exc
        if platform.spec.backend != "azureml" or platform.spec.azure is None:
            raise ActionError(f"MLOpsPlatform {name} ({where}) has backend {platform.spec.backend}, not azureml")
        return platform

    def _record(self, md: ModelDeployment, status: DriftStatus) -> None:
        if self._metrics is None:
            return
        values = [(f.name, f.statistic, f.value, f.threshold) for f in status.features if f.value is not None]
        self._metrics.drift.record(str(md.metadata.namespace), str(md.metadata.name), values)


def _configured_actions(spec: DriftMonitoring) -> tuple[str, ...]:
    actions = spec.actions
    configured = (("cloudEvent", actions.cloud_event), ("job", actions.job), ("azureMLJob", actions.azure_ml_job))
    return tuple(name for name, value in configured if value)


def _action_events(episode: int, done: list[str], failed: list[str]) -> list[Announcement]:
    events = []
    if done:
        events.append(Announcement("Normal", Reason.DRIFT_ACTIONS_RUN, f"drift episode {episode}: " + "; ".join(done)))
    if failed:
        message = f"drift episode {episode}: " + "; ".join(failed) + " (retried at the next check)"
        events.append(Announcement("Warning", Reason.DRIFT_ACTION_FAILED, message))
    return events


def _seconds_until_due(md: ModelDeployment, spec: DriftMonitoring, now: datetime) -> float:
    """0 when a check is due: never checked, the spec changed since, or the interval has passed."""
    previous = md.status.drift if md.status else None
    condition = _drift_condition(md)
    if previous is None or previous.last_check_time is None or condition is None:
        return 0.0
    if condition.observed_generation != md.metadata.generation:
        return 0.0
    last = datetime.strptime(previous.last_check_time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return max(0.0, spec.check_interval_seconds - (now - last).total_seconds())


def _carried_verdict(md: ModelDeployment) -> Verdict:
    """Between checks, DataDrift keeps what the last check found."""
    condition = _drift_condition(md)
    assert condition is not None  # a check is due without one
    reason = condition.reason
    return Verdict(ConditionType.DATA_DRIFT, condition.status, reason, condition.message, condition.severity)


def _drift_condition(md: ModelDeployment):  # type: ignore[no-untyped-def]
    conditions = md.status.conditions if md.status else []
    return next((c for c in conditions if c.type == ConditionType.DATA_DRIFT), None)

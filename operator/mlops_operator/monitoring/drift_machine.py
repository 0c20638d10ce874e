"""The drift decision, pure: from the window's bin counts and the last status to the DataDrift verdict,
the episode, and which actions are due.

An episode starts at the first check that finds drift and ends at the first check with enough samples
that finds none. Its actions run once: each action's result is recorded on the episode in status, so a
restarted operator sees them done; a failed action is retried at the next check while the episode lasts.
A new episode inside the cooldown (counted from the last actions) records its actions as skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mlops_operator.api.v1alpha1.common import Severity
from mlops_operator.api.v1alpha1.monitoring import (
    DriftEpisode,
    DriftMonitoring,
    DriftStatus,
    FeatureDriftStatus,
)
from mlops_operator.conditions import Announcement, ConditionType, Reason, Verdict
from mlops_operator.drift.profile import FeatureProfile, Profile
from mlops_operator.drift.statistics import DEFAULT_THRESHOLDS, FeatureDrift, StatisticError, measure

T = ConditionType.DATA_DRIFT
SKIPPED = "Skipped (cooldown)"


@dataclass(frozen=True)
class DriftCheck:
    """A check's inputs: the window's counts per feature (one per bin), or why they could not be read."""

    spec: DriftMonitoring
    profile: Profile
    counts: Mapping[str, Sequence[float]]
    previous: DriftStatus | None
    now: datetime
    actions: tuple[str, ...]  # the configured actions, by status key (`cloudEvent`, `job`, `azureMLJob`)


@dataclass
class DriftDecision:
    verdict: Verdict
    status: DriftStatus
    due_actions: list[str] = field(default_factory=list)
    events: list[Announcement] = field(default_factory=list)


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def not_monitored() -> Verdict:
    return Verdict(T, "Unknown", Reason.NOT_MONITORED, "spec.monitoring.drift is not set")


def watched_features(spec: DriftMonitoring, profile: Profile) -> list[FeatureProfile] | str:
    """The profile's features to judge, or which named ones the profile lacks."""
    if not spec.features:
        return list(profile.features)
    missing = [f.name for f in spec.features if profile.feature(f.name) is None]
    if missing:
        known = [f.name for f in profile.features]
        return f"spec.monitoring.drift.features names {missing}, which the profile lacks; it has {known}"
    return [f for f in (profile.feature(s.name) for s in spec.features) if f is not None]


def decide(check: DriftCheck) -> DriftDecision:
    """Judge every watched feature with enough samples; the deployment drifts when any of them does."""
    features = watched_features(check.spec, check.profile)
    if isinstance(features, str):
        return unjudged(check.previous, check.now, Reason.DRIFT_BASELINE_INVALID, features, "Warning")
    try:
        judged = [_judge(check, feature) for feature in features]
    except StatisticError as exc:
        message = f"spec.monitoring.drift: {exc}"
        return unjudged(check.previous, check.now, Reason.DRIFT_BASELINE_INVALID, message, "Warning")
    rows = [row for row, _ in judged]
    measured = [drift for _, drift in judged if drift is not None]
    samples = min((row.samples for row in rows), default=0)
    if not measured:
        message = f"{samples} rows in the last {check.spec.window_seconds}s; {check.spec.min_samples} needed"
        return unjudged(check.previous, check.now, Reason.INSUFFICIENT_SAMPLES, message, "", rows)
    drifted = [drift for drift in measured if drift.drifted]
    status = DriftStatus(last_check_time=rfc3339(check.now), samples=samples, features=rows)
    status.episode, status.last_actions_time = _episode(check, drifted)
    if drifted:
        verdict = Verdict(T, "True", Reason.DRIFT_DETECTED, _describe(drifted), "Warning")
    else:
        verdict = Verdict(T, "False", Reason.NO_DRIFT, "no drift: " + _describe(measured))
    return _with_actions(check, verdict, status)


def _judge(check: DriftCheck, feature: FeatureProfile) -> tuple[FeatureDriftStatus, FeatureDrift | None]:
    settings = next((f for f in check.spec.features if f.name == feature.name), None)
    statistic = (settings.statistic if settings else None) or check.spec.statistic
    threshold = settings.threshold if settings and settings.threshold is not None else check.spec.threshold
    threshold = DEFAULT_THRESHOLDS[statistic] if threshold is None else threshold
    counts = list(check.counts.get(feature.name) or [0.0] * feature.bins)
    samples = round(sum(counts))
    row = FeatureDriftStatus(name=feature.name, statistic=statistic, threshold=threshold, samples=samples)
    if samples < check.spec.min_samples:
        return row, None
    drift = measure(feature, counts, statistic, threshold)
    row.value, row.drifted = round(drift.value, 6), drift.drifted
    return row, drift


def _describe(drifts: Sequence[FeatureDrift]) -> str:
    def one(d: FeatureDrift) -> str:
        relation = (">" if d.drifted else "<=") if d.statistic != "chiSquared" else ("<" if d.drifted else ">=")
        return f"{d.feature} {d.statistic} {d.value:.4g} {relation} {d.threshold:g}"

    return "; ".join(one(d) for d in drifts)


def _episode(check: DriftCheck, drifted: list[FeatureDrift]) -> tuple[DriftEpisode | None, str | None]:
    previous = check.previous or DriftStatus()
    episode, now = previous.episode, rfc3339(check.now)
    open_episode = episode is not None and episode.ended_at is None
    if drifted and not open_episode:
        number = (episode.number if episode else 0) + 1
        episode = DriftEpisode(number=number, started_at=now, features=[d.feature for d in drifted])
        if _in_cooldown(check):
            episode.actions = dict.fromkeys(check.actions, SKIPPED)
    elif not drifted and open_episode:
        assert episode is not None
        episode = episode.model_copy(update={"ended_at": now})
    return episode, previous.last_actions_time


def _in_cooldown(check: DriftCheck) -> bool:
    last = check.previous.last_actions_time if check.previous else None
    if not last or not check.spec.cooldown_seconds:
        return False
    since = datetime.strptime(last, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=check.now.tzinfo)
    return check.now - since < timedelta(seconds=check.spec.cooldown_seconds)


def _with_actions(check: DriftCheck, verdict: Verdict, status: DriftStatus) -> DriftDecision:
    """Actions the open episode has not run (or whose last attempt failed)."""
    episode = status.episode
    if episode is None or episode.ended_at is not None:
        return DriftDecision(verdict, status)
    due = [a for a in check.actions if a not in episode.actions or episode.actions[a].startswith("Failed")]
    events = []
    if (
        episode.actions
        and all(v == SKIPPED for v in episode.actions.values())
        and episode.started_at == (status.last_check_time)
    ):
        message = (
            f"drift episode {episode.number}: actions skipped, within the cooldown after {status.last_actions_time}"
        )
        events.append(Announcement("Normal", Reason.DRIFT_ACTIONS_SKIPPED, message))
    return DriftDecision(verdict, status, due, events)


def unjudged(
    previous: DriftStatus | None,
    now: datetime,
    reason: Reason,
    message: str,
    severity: Severity = "",
    rows: list[FeatureDriftStatus] | None = None,
) -> DriftDecision:
    """No verdict on drift this time: the episode (if any) stays as it was, and nothing is run."""
    previous = previous or DriftStatus()
    status = DriftStatus(
        last_check_time=rfc3339(now),
        samples=min((row.samples for row in rows or []), default=0),
        features=rows or [],
        episode=previous.episode,
        last_actions_time=previous.last_actions_time,
        message=message,
    )
    return DriftDecision(Verdict(T, "Unknown", reason, message, severity), status)

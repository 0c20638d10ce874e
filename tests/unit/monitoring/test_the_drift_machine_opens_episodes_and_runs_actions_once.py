"""Episodes, actions and cooldown of the pure drift decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from drift_fixtures import PROFILE, deployment, window
from mlops_operator.api.v1alpha1.monitoring import DriftStatus
from mlops_operator.monitoring.drift_machine import SKIPPED, DriftCheck, DriftDecision, decide

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ACTIONS = ("cloudEvent", "job")


def check(counts, previous: DriftStatus | None, minutes: float = 0, **drift) -> DriftDecision:
    spec = deployment(drift).spec.monitoring.drift
    assert spec is not None
    return decide(DriftCheck(spec, PROFILE, counts, previous, T0 + timedelta(minutes=minutes), ACTIONS))


def ran(decision: DriftDecision, minutes: float = 0) -> DriftStatus:
    """What the driver records after running the due actions successfully."""
    status = decision.status.model_copy(deep=True)
    if decision.due_actions:
        assert status.episode is not None
        status.episode.actions.update(dict.fromkeys(decision.due_actions, "Sent"))
        status.last_actions_time = (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return status


def test_too_few_rows_is_unknown_and_the_training_distribution_is_no_drift() -> None:
    few = check(window(rows=50), None)
    assert (few.verdict.status, few.verdict.reason) == ("Unknown", "InsufficientSamples")
    assert "50 rows in the last 60s; 100 needed" in few.verdict.message
    calm = check(window(), few.status)
    assert (calm.verdict.status, calm.verdict.reason, calm.due_actions) == ("False", "NoDrift", [])
    assert [f.name for f in calm.status.features] == ["x", "kind"]
    assert all(f.value is not None and not f.drifted for f in calm.status.features)


def test_a_shift_opens_one_episode_whose_actions_are_due_once() -> None:
    first = check(window(shift=1.5), None)
    assert (first.verdict.status, first.verdict.reason) == ("True", "DriftDetected")
    assert first.verdict.message.startswith("x jensenShannon")
    assert first.status.episode is not None
    assert first.status.episode.number == 1
    assert first.status.episode.features == ["x"]
    assert first.due_actions == list(ACTIONS)
    again = check(window(shift=1.5), ran(first), minutes=1)
    assert again.status.episode is not None
    assert (again.status.episode.number, again.status.episode.actions) == (1, dict.fromkeys(ACTIONS, "Sent"))
    assert again.due_actions == []


def test_a_failed_action_is_retried_while_the_episode_lasts() -> None:
    first = check(window(shift=1.5), None)
    status = first.status.model_copy(deep=True)
    assert status.episode is not None
    status.episode.actions = {"cloudEvent": "Sent", "job": "Failed: forbidden"}
    assert check(window(shift=1.5), status, minutes=1).due_actions == ["job"]


def test_the_episode_ends_when_drift_goes_and_a_new_one_in_the_cooldown_skips_its_actions() -> None:
    first = ran(check(window(shift=1.5), None))
    ended = check(window(), first, minutes=1)
    assert ended.verdict.status == "False"
    assert ended.status.episode is not None
    assert ended.status.episode.ended_at is not None
    second = check(window(shift=1.5), ended.status, minutes=2)
    assert second.status.episode is not None
    assert second.status.episode.number == 2
    assert second.status.episode.actions == dict.fromkeys(ACTIONS, SKIPPED)
    assert second.due_actions == []
    assert [e.reason for e in second.events] == ["DriftActionsSkipped"]
    third = check(window(), second.status, minutes=3)
    fourth = check(window(shift=1.5), third.status, minutes=20)  # past the 10-minute cooldown
    assert fourth.status.episode is not None
    assert fourth.status.episode.number == 3
    assert fourth.due_actions == list(ACTIONS)


def test_per_feature_statistics_and_thresholds_and_unknown_features() -> None:
    categorical_shift = window(kind_a=0.2)
    decision = check(categorical_shift, None, features=[{"name": "kind", "statistic": "psi", "threshold": 0.5}])
    [kind] = decision.status.features
    assert (kind.name, kind.statistic, kind.threshold, kind.drifted) == ("kind", "psi", 0.5, True)
    wrong = check(window(), None, features=[{"name": "income"}])
    assert (wrong.verdict.status, wrong.verdict.reason) == ("Unknown", "DriftBaselineInvalid")
    assert "['income'], which the profile lacks" in wrong.verdict.message
    categories = check(window(), None, statistic="wasserstein")
    assert categories.verdict.reason == "DriftBaselineInvalid"
    assert "kind is categorical" in categories.verdict.message

"""Conditions keep their transition time unless the status changes, and Ready summarises the rest."""

from mlops_operator.conditions import Verdict, apply_verdicts, set_condition, summarize, transitions, worth_an_event

T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z"


def test_a_new_condition_gets_the_current_time_and_generation():
    [condition] = set_condition([], Verdict("Ready", "False", "RollingOut", "0/1"), 4, T0)
    assert (condition.last_transition_time, condition.observed_generation) == (T0, 4)
    assert condition.severity == "Info"


def test_the_transition_time_stays_when_only_the_message_changes():
    first = set_condition([], Verdict("Ready", "False", "RollingOut", "0/2"), 1, T0)
    second = set_condition(first, Verdict("Ready", "False", "RollingOut", "1/2"), 2, T1)
    assert second[0].last_transition_time == T0
    assert second[0].message == "1/2"
    assert second[0].observed_generation == 2


def test_the_transition_time_moves_when_the_status_changes():
    first = set_condition([], Verdict("Ready", "False", "RollingOut"), 1, T0)
    second = set_condition(first, Verdict("Ready", "True", "Ready"), 1, T1)
    assert second[0].last_transition_time == T1
    assert second[0].severity == ""


def test_ready_is_true_only_when_every_other_verdict_is_healthy():
    healthy = [
        Verdict("ModelReady", "True", "ModelAvailable"),
        Verdict("Progressing", "False", "Stable"),
        Verdict("Degraded", "False", "Healthy"),
    ]
    assert summarize(healthy, "serving").status == "True"
    sick = [*healthy[:2], Verdict("Degraded", "True", "CrashLoopBackOff", "pod x", "Error")]
    ready = summarize(sick, "serving")
    assert (ready.status, ready.reason, ready.message) == ("False", "CrashLoopBackOff", "pod x")


def test_ready_takes_the_most_severe_problem():
    verdicts = [
        Verdict("Progressing", "True", "RollingOut", "", "Info"),
        Verdict("TrafficApplied", "False", "TrafficSumInvalid", "sums to 90", "Error"),
    ]
    assert summarize(verdicts, "x").reason == "TrafficSumInvalid"


def test_transitions_list_only_changed_statuses_or_reasons():
    before = apply_verdicts([], [Verdict("Ready", "False", "RollingOut"), Verdict("ModelReady", "True", "M")], 1, T0)
    after = apply_verdicts(before, [Verdict("Ready", "True", "Ready"), Verdict("ModelReady", "True", "M")], 1, T1)
    assert [c.type for c in transitions(before, after)] == ["Ready"]


def test_a_degraded_condition_keeps_its_severity_because_true_is_the_bad_state():
    [degraded] = set_condition([], Verdict("Degraded", "True", "CrashLoopBackOff", "pod p", "Error"), 1, T0)
    [stable] = set_condition([], Verdict("Progressing", "False", "Stable"), 1, T0)
    assert degraded.severity == "Error"
    assert stable.severity == ""


def test_events_announce_ready_and_problems_coming_and_going_not_the_routine_settling():
    before = apply_verdicts(
        [],
        [Verdict("Ready", "False", "RollingOut"), Verdict("ModelReady", "False", "ModelNotFound", "", "Error")],
        1,
        T0,
    )
    settled = [
        Verdict("Ready", "True", "Ready"),
        Verdict("ModelReady", "True", "M"),
        Verdict("EndpointReady", "True", "E"),
    ]
    after = apply_verdicts(before, settled, 1, T1)
    announced = worth_an_event(before, transitions(before, after))
    # Ready changed; ModelReady recovered from an Error; EndpointReady merely appeared healthy
    assert [c.type for c in announced] == ["Ready", "ModelReady"]

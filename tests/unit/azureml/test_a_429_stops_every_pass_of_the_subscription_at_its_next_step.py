"""After a 429 no pass of the subscription calls ARM until Retry-After has passed, even one already under way.

Passes run in parallel (the waker's pool); the throttle used to be noted when the pass that met the 429 ended
and checked when a pass began, so a pass already under way went on calling ARM inside the window (found by
the churn-with-faults test, tests/integration/faults). Now each step checks it, and a 429 is noted at once.
"""

from __future__ import annotations

from typing import Any

from mlops_operator.backends.azureml.backend import AzureMLBackend
from mlops_operator.backends.azureml.steps import StepResult, ready, run_chain
from mlops_operator.backends.base import RetryableError
from mlops_operator.conditions import ConditionType, Reason
from mlops_operator.config import OperatorSettings

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
RETRY_AFTER_S = 30.0


def _backend() -> AzureMLBackend:
    no_cluster: Any = None  # these steps never read Kubernetes
    return AzureMLBackend(no_cluster, OperatorSettings())


def _throttled_by_arm() -> StepResult:
    raise RetryableError("ARM TooManyRequests: slow down", delay=RETRY_AFTER_S, reason=Reason.AZURE_THROTTLED)


def test_a_pass_under_way_stops_at_its_next_step_when_another_meets_a_429() -> None:
    backend, called = _backend(), []

    def first_step_while_another_pass_meets_a_429() -> StepResult:
        other = backend._throttle_aware(SUBSCRIPTION, [(ConditionType.MODEL_READY, _throttled_by_arm)])
        run_chain(other)
        return ready(ConditionType.MODEL_READY, Reason.MODEL_REGISTERED, "registered")

    def second_step() -> StepResult:
        called.append("ARM")
        return ready(ConditionType.ENDPOINT_READY, Reason.ENDPOINT_READY, "ready")

    steps = [
        (ConditionType.MODEL_READY, first_step_while_another_pass_meets_a_429),
        (ConditionType.ENDPOINT_READY, second_step),
    ]
    verdicts, _, requeue = run_chain(backend._throttle_aware(SUBSCRIPTION, steps))

    assert called == []
    assert (verdicts[1].status, verdicts[1].reason) == ("False", Reason.AZURE_THROTTLED)
    assert requeue is not None
    assert 0 < requeue <= RETRY_AFTER_S


def test_other_subscriptions_are_not_held_back() -> None:
    backend = _backend()
    run_chain(backend._throttle_aware(SUBSCRIPTION, [(ConditionType.MODEL_READY, _throttled_by_arm)]))

    other = [(ConditionType.MODEL_READY, lambda: ready(ConditionType.MODEL_READY, Reason.MODEL_REGISTERED, "ok"))]
    verdicts, _, _ = run_chain(backend._throttle_aware("another-subscription", other))

    assert verdicts[0].status == "True"

"""One table turns ARM error codes (falling back to HTTP status) into retryable-with-delay or fatal-with-reason."""

from __future__ import annotations

import email.utils

import pytest

from mlops_operator.backends.azureml.errors import classify, retry_after_seconds, to_backend_error
from mlops_operator.backends.base import FatalError, RetryableError
from mlops_operator.conditions import Reason

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("code", "status", "retryable", "reason"),
    [
        ("TooManyRequests", 429, True, Reason.AZURE_THROTTLED),
        ("RetryableErrorDueToAnotherOperation", 429, True, Reason.AZURE_CONFLICT),
        ("OperationNotAllowed", 409, True, Reason.AZURE_CONFLICT),
        ("InternalServerError", 500, True, Reason.AZURE_UNAVAILABLE),
        ("AuthorizationFailed", 403, False, Reason.AZURE_AUTH_FAILED),
        ("ResourceGroupNotFound", 404, False, Reason.AZURE_NOT_FOUND),
        ("BadArgument", 400, False, Reason.AZURE_BAD_REQUEST),
        ("QuotaExceeded", 400, False, Reason.AZURE_QUOTA_EXCEEDED),
        ("DeploymentFailed", None, False, Reason.AZURE_OPERATION_FAILED),
        ("badargument", 400, False, Reason.AZURE_BAD_REQUEST),
    ],
)
def test_known_arm_codes_decide_by_themselves(code: str, status: int | None, retryable: bool, reason: Reason) -> None:
    rule = classify(code, status)
    assert (rule.retryable, rule.reason) == (retryable, reason)


@pytest.mark.parametrize(
    ("status", "retryable", "reason"),
    [
        (429, True, Reason.AZURE_THROTTLED),
        (503, True, Reason.AZURE_UNAVAILABLE),
        (507, True, Reason.AZURE_UNAVAILABLE),
        (409, True, Reason.AZURE_CONFLICT),
        (401, False, Reason.AZURE_AUTH_FAILED),
        (404, False, Reason.AZURE_NOT_FOUND),
        (422, False, Reason.AZURE_BAD_REQUEST),
        (None, True, Reason.AZURE_UNAVAILABLE),
    ],
)
def test_unknown_codes_fall_back_to_the_http_status(status: int | None, retryable: bool, reason: Reason) -> None:
    rule = classify("SomethingNew", status)
    assert (rule.retryable, rule.reason) == (retryable, reason)


def test_retry_after_in_seconds_wins_over_the_tables_delay() -> None:
    error = to_backend_error("TooManyRequests", 429, "slow down", {"Retry-After": "5"})
    assert isinstance(error, RetryableError)
    assert (error.delay, error.reason) == (5.0, Reason.AZURE_THROTTLED)
    assert str(error) == "ARM TooManyRequests: slow down"


def test_without_retry_after_the_tables_delay_applies() -> None:
    error = to_backend_error("TooManyRequests", 429, "slow down")
    assert isinstance(error, RetryableError)
    assert error.delay == 30


def test_retry_after_may_be_an_http_date_or_milliseconds() -> None:
    date = email.utils.formatdate(NOW + 12, usegmt=True)
    assert retry_after_seconds({"Retry-After": date}, now=NOW) == pytest.approx(12, abs=1)
    assert retry_after_seconds({"retry-after-ms": "1500"}) == 1.5
    assert retry_after_seconds({"x-ms-retry-after-ms": "250"}) == 0.25
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_fatal_errors_carry_their_reason_and_the_arm_message() -> None:
    error = to_backend_error("AuthorizationFailed", 403, "no role assignment on rg1")
    assert isinstance(error, FatalError)
    assert error.reason == Reason.AZURE_AUTH_FAILED
    assert "no role assignment on rg1" in str(error)

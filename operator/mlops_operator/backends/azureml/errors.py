"""Azure errors classified once: retryable (with a delay) or fatal (with a reason), from the ARM error code.

The table is keyed by the ARM error code (`error.code` in the response body, or in the status document of a
failed long-running operation). Codes the table does not know fall back to the HTTP status. `Retry-After`
(seconds or an HTTP date, or `retry-after-ms`) always wins over the table's default delay.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass

from mlops_operator.backends.base import FatalError, RetryableError
from mlops_operator.conditions import Reason


@dataclass(frozen=True)
class Rule:
    """What to do about one ARM error code: retry after `delay` seconds, or stop with `reason`."""

    retryable: bool
    reason: Reason
    delay: float = 0.0


def _retry(reason: Reason, delay: float) -> Rule:
    return Rule(True, reason, delay)


def _fatal(reason: Reason) -> Rule:
    return Rule(False, reason)


# ARM error code (lowercase) -> rule. Codes seen from ARM itself, Microsoft.MachineLearningServices,
# Microsoft.ContainerService and Microsoft.KubernetesConfiguration.
ARM_CODES: dict[str, Rule] = {
    "toomanyrequests": _retry(Reason.AZURE_THROTTLED, 30),
    "retryableerrorduetoanotheroperation": _retry(Reason.AZURE_CONFLICT, 30),
    "anotheroperationinprogress": _retry(Reason.AZURE_CONFLICT, 30),
    "operationnotallowed": _retry(Reason.AZURE_CONFLICT, 30),  # AKS: another operation is running
    "conflict": _retry(Reason.AZURE_CONFLICT, 30),
    "operationpreempted": _retry(Reason.AZURE_CONFLICT, 30),
    "internalservererror": _retry(Reason.AZURE_UNAVAILABLE, 15),
    "serviceunavailable": _retry(Reason.AZURE_UNAVAILABLE, 15),
    "badgateway": _retry(Reason.AZURE_UNAVAILABLE, 15),
    "gatewaytimeout": _retry(Reason.AZURE_UNAVAILABLE, 15),
    "requesttimeout": _retry(Reason.AZURE_UNAVAILABLE, 15),
    "servertimeout": _retry(Reason.AZURE_UNAVAILABLE, 15),
    "authorizationfailed": _fatal(Reason.AZURE_AUTH_FAILED),
    "linkedauthorizationfailed": _fatal(Reason.AZURE_AUTH_FAILED),
    "authenticationfailed": _fatal(Reason.AZURE_AUTH_FAILED),
    "invalidauthenticationtoken": _fatal(Reason.AZURE_AUTH_FAILED),
    "expiredauthenticationtoken": _retry(Reason.AZURE_AUTH_FAILED, 5),
    "resourcenotfound": _fatal(Reason.AZURE_NOT_FOUND),
    "resourcegroupnotfound": _fatal(Reason.AZURE_NOT_FOUND),
    "parentresourcenotfound": _fatal(Reason.AZURE_NOT_FOUND),
    "subscriptionnotfound": _fatal(Reason.AZURE_NOT_FOUND),
    "missingsubscriptionregistration": _fatal(Reason.AZURE_BAD_REQUEST),
    "invalidparameter": _fatal(Reason.AZURE_BAD_REQUEST),
    "badargument": _fatal(Reason.AZURE_BAD_REQUEST),
    "badrequest": _fatal(Reason.AZURE_BAD_REQUEST),
    "usererror": _fatal(Reason.AZURE_BAD_REQUEST),
    "validationerror": _fatal(Reason.AZURE_BAD_REQUEST),
    "invalidrequestcontent": _fatal(Reason.AZURE_BAD_REQUEST),
    "invalidtemplate": _fatal(Reason.AZURE_BAD_REQUEST),
    "skunotavailable": _fatal(Reason.AZURE_QUOTA_EXCEEDED),
    "quotaexceeded": _fatal(Reason.AZURE_QUOTA_EXCEEDED),
    "operationnotallowedquota": _fatal(Reason.AZURE_QUOTA_EXCEEDED),
    "scopelocked": _fatal(Reason.AZURE_RESOURCE_LOCKED),  # a CanNotDelete or ReadOnly lock: a human removes it
    "deploymentfailed": _fatal(Reason.AZURE_OPERATION_FAILED),
    "extensionoperationfailed": _fatal(Reason.AZURE_OPERATION_FAILED),
}


_STATUS_RULES: dict[int, Rule] = {
    429: _retry(Reason.AZURE_THROTTLED, 30),
    409: _retry(Reason.AZURE_CONFLICT, 30),
    401: _fatal(Reason.AZURE_AUTH_FAILED),
    403: _fatal(Reason.AZURE_AUTH_FAILED),
    404: _fatal(Reason.AZURE_NOT_FOUND),
    **{code: _retry(Reason.AZURE_UNAVAILABLE, 15) for code in (408, 500, 502, 503, 504)},
}


def rule_for_status(status: int | None) -> Rule:
    """The fallback when the code is unknown (or absent): by HTTP status (None: no response at all)."""
    if status is None or status >= 506:
        return _retry(Reason.AZURE_UNAVAILABLE, 15)
    if status in _STATUS_RULES:
        return _STATUS_RULES[status]
    return _fatal(Reason.AZURE_BAD_REQUEST if 400 <= status < 500 else Reason.AZURE_REQUEST_FAILED)


def classify(code: str | None, status: int | None) -> Rule:
    """The rule for an ARM error: by code when the table knows it, else by HTTP status."""
    return ARM_CODES.get((code or "").lower()) or rule_for_status(status)


def retry_after_seconds(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds to wait from `Retry-After` (seconds or HTTP date) or `retry-after-ms`; None when absent."""
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        if lowered.get(name, "").strip().isdigit():
            return int(lowered[name]) / 1000.0
    value = lowered.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def to_backend_error(
    code: str | None, status: int | None, message: str, headers: Mapping[str, str] | None = None
) -> RetryableError | FatalError:
    """The one place an Azure failure becomes the backend's RetryableError or FatalError."""
    rule = classify(code, status)
    label = f"ARM {code or status or 'error'}: {message}".strip()
    if rule.retryable:
        delay = retry_after_seconds(headers)
        return RetryableError(label, delay=rule.delay if delay is None else max(delay, 1.0), reason=rule.reason)
    return FatalError(label, reason=rule.reason)


def arm_error_of(exc: Exception) -> tuple[str | None, int | None, str, dict[str, str]]:
    """(ARM code, HTTP status, message, response headers) of an azure-core exception."""
    response = getattr(exc, "response", None)
    status = getattr(exc, "status_code", None) or getattr(response, "status_code", None)
    headers = dict(getattr(response, "headers", None) or {})
    error = getattr(exc, "error", None)
    code, message = getattr(error, "code", None), getattr(error, "message", None)
    if code is None and response is not None:
        code, message = _error_from_body(response)
    text = message or getattr(exc, "message", None) or str(exc)
    return code, int(status) if status else None, str(text).splitlines()[0] if text else "", headers


def _error_from_body(response: object) -> tuple[str | None, str | None]:
    try:
        body = json.loads(response.text())  # type: ignore[attr-defined]
    except Exception:  # a body that is not JSON simply has no ARM code
        return None, None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return error.get("code"), error.get("message")
    return None, None

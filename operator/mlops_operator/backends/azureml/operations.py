"""Long-running operations without blocking: begin, record on the CR, requeue, observe on a later pass.

`status.operations` maps a step (`compute`, `deployment`, ...) to a typed record (started, tag, operation
URL). The URL is the `Azure-AsyncOperation` (or `Location`) header of the initial response, taken from the poller's
continuation token. Progress itself is observed level-based, by reading the resource's provisioningState;
the recorded URL is read only to surface the ARM error of a failed operation. An operator restart loses
nothing: the next pass reads the same status and the same resources.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from azure.ai.ml.exceptions import MlException
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
)

from mlops_operator.api.v1alpha1.common import OperationRecord
from mlops_operator.backends.azureml.clients import AzureClients
from mlops_operator.backends.azureml.errors import arm_error_of, to_backend_error
from mlops_operator.backends.base import FatalError, RetryableError
from mlops_operator.conditions import Reason, now_rfc3339

IN_PROGRESS = frozenset({"creating", "updating", "deleting", "scaling", "upgrading", "accepted", "running"})
FAILED = frozenset({"failed", "canceled"})


@contextmanager
def azure_errors() -> Iterator[None]:
    """Turn any Azure SDK exception raised inside into the backend's RetryableError or FatalError."""
    try:
        yield
    except (RetryableError, FatalError):
        raise
    except HttpResponseError as exc:
        raise to_backend_error(*arm_error_of(exc)) from exc
    except ClientAuthenticationError as exc:  # token acquisition failed before any response
        raise RetryableError(f"Azure credentials: {exc}", 60, Reason.AZURE_CREDENTIALS_UNAVAILABLE) from exc
    except AzureError as exc:  # connection, TLS, DNS
        raise RetryableError(f"Azure unreachable: {exc}", 15, Reason.AZURE_UNAVAILABLE) from exc
    except MlException as exc:
        raise FatalError(f"Azure ML: {exc}", Reason.AZURE_BAD_REQUEST) from exc


def get_or_none(getter: Any, *args: Any, **kwargs: Any) -> Any:
    """A resource, or None when ARM says 404 (other errors are classified)."""
    with azure_errors():
        try:
            return getter(*args, **kwargs)
        except ResourceNotFoundError:
            return None


def operation_url(poller: Any) -> str:
    """The status URL of a started operation, from the poller's continuation token ('' if unknown).

    `workspaces.begin_create` wraps the ARM template deployment's poller in one without a token; use the inner one.
    """
    poller = getattr(getattr(poller, "_polling_method", None), "poller", None) or poller
    try:
        token = json.loads(base64.b64decode(poller.continuation_token()))
    except Exception:  # an opaque token we cannot read just means no URL
        return ""
    state = token.get("data", token) if isinstance(token, dict) else {}
    headers = {k.lower(): v for k, v in (state.get("response", {}).get("headers") or {}).items()}
    return str(headers.get("azure-asyncoperation") or headers.get("location") or "")


def state_name(provisioning_state: object) -> str | None:
    """The provisioningState as ARM spells it; the SDKs hand out str-based enums or plain strings."""
    if provisioning_state is None:
        return None
    return str(getattr(provisioning_state, "value", provisioning_state))


def state_of(provisioning_state: object) -> str:
    """`in-progress`, `failed` or `succeeded` for any provider's provisioningState."""
    value = (state_name(provisioning_state) or "Succeeded").lower()
    if value in IN_PROGRESS:
        return "in-progress"
    return "failed" if value in FAILED else "succeeded"


class Ledger:
    """The operations recorded on one CR, changed during a pass and written back with the status."""

    def __init__(
        self, recorded: Mapping[str, OperationRecord] | None, observe: Callable[[str, float], None] | None = None
    ) -> None:
        self._ops = dict(recorded or {})
        self._observe = observe  # (step, seconds from begin to success), for the operation-duration metric

    def begin(self, step: str, start: Any, tag: str = "") -> Any:
        """Start an operation (`start()` returns a poller) and record it; never waits for it.

        `tag` is kept with the record, e.g. the spec generation the operation was started for.
        """
        with azure_errors():
            poller = start()
        self._ops[step] = OperationRecord(started=now_rfc3339(), tag=tag, url=operation_url(poller))
        return poller

    def url(self, step: str) -> str:
        record = self._ops.get(step)
        return record.url if record else ""

    def tag(self, step: str) -> str:
        record = self._ops.get(step)
        return record.tag if record else ""

    def __contains__(self, step: str) -> bool:
        return step in self._ops

    def finish(self, step: str) -> None:
        record = self._ops.pop(step, None)
        if record is not None and self._observe is not None:
            started = parse_rfc3339(record.started)
            if started is not None:
                self._observe(step, max(0.0, time.time() - started))

    def records(self) -> dict[str, OperationRecord]:
        """What is in flight after this pass; finished steps are gone (the status patch nulls them)."""
        return dict(self._ops)


def operation_error(clients: AzureClients, url: str) -> tuple[str, str] | None:
    """(code, message) from a failed operation's status document, when ARM still has it."""
    if not url:
        return None
    with azure_errors():
        status, body = clients.arm_get(url)
    error = body.get("error") if status == 200 else None
    if isinstance(error, dict) and error.get("code"):
        return str(error["code"]), str(error.get("message") or "")
    return None


def parse_rfc3339(value: str) -> float | None:
    """Epoch seconds of an RFC 3339 timestamp as written by `now_rfc3339`; None when unreadable."""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None

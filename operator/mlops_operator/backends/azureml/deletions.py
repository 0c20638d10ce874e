"""One delete at a time, told apart: in progress (look again soon) or refused by Azure (a human must act).

A refusal is a DELETE (or the traffic move before it) that Azure answers with an error that needs a human
(403 AuthorizationFailed, 409 ScopeLocked, 400...), or a delete this process began whose operation ended
Failed. Both raise `DeletionRefusedError`, naming the resource and Azure's error, which the handler shows as
`DeletionBlocked`. A resource that was Failed before any delete of ours is simply deleted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

from mlops_operator.backends.azureml.clients import AzureClients
from mlops_operator.backends.azureml.operations import azure_errors, operation_error, operation_url, state_of
from mlops_operator.backends.base import DeletionRefusedError, FatalError, RetryableError
from mlops_operator.conditions import Reason


def again(message: str, delay: float) -> RetryableError:
    return RetryableError(message, delay=delay, reason=Reason.AZURE_OPERATION_IN_PROGRESS)


@contextmanager
def refusals(resource: str) -> Iterator[None]:
    """Azure errors inside, classified; those that need a human become a refusal to delete `resource`."""
    try:
        with azure_errors():
            yield
    except DeletionRefusedError:
        raise
    except FatalError as exc:
        raise DeletionRefusedError(resource, str(exc), exc.reason) from exc


class BegunDeletes:
    """The deletes this process began (resource -> operation URL), shared by every finalizer of a backend.

    Kept in memory only: after a restart a Failed resource is deleted once more, and a second failure is
    reported then."""

    def __init__(self) -> None:
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def record(self, resource: str, url: str) -> None:
        with self._lock:
            self._urls[resource] = url

    def take(self, resource: str) -> str | None:
        with self._lock:
            return self._urls.pop(resource, None)


class Deleter:
    """Deletes for one finalizer pass: begin unless under way, and always raise (look again, or refused)."""

    def __init__(self, begun: BegunDeletes, clients: AzureClients, poll: float) -> None:
        self._begun = begun
        self.clients = clients
        self.poll = poll

    def delete(self, provisioning_state: Any, resource: str, begin: Callable[[], Any]) -> NoReturn:
        """Begin deleting `resource` unless that is under way; raise `again`, or `DeletionRefusedError`."""
        state = state_of(provisioning_state)
        if state == "in-progress":
            raise again(f"deleting {resource}", self.poll)
        url = self._begun.take(resource)
        if state == "failed" and url is not None:
            raise self._failed(resource, url)
        with refusals(resource):
            poller = begin()
        self._begun.record(resource, operation_url(poller))
        raise again(f"deleting {resource}", self.poll)

    def _failed(self, resource: str, url: str) -> DeletionRefusedError:
        """Our delete's operation ended Failed: Azure's error from its status document, when ARM has it."""
        found = operation_error(self.clients, url) if url else None
        code, message = found or ("Failed", "the delete operation ended Failed (no error recorded)")
        return DeletionRefusedError(resource, f"ARM {code}: {message}", Reason.AZURE_OPERATION_FAILED)

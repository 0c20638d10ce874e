"""The transport-free core of the fake: state, routes, faults and request handling.

``FakeArmApp.handle`` takes a parsed :class:`~.routing.Request` and returns a :class:`~.routing.Response`;
the HTTPS server in :mod:`.transport` only moves bytes. Seeding uses the same path without logging.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass

from . import routes_aks, routes_cdn, routes_core, routes_deployments, routes_k8s, routes_ml
from .errors import ArmError
from .faults import Fault, FaultPlan
from .lro import Operations
from .routing import Request, Response, Router
from .state import RequestLog, RequestRecord, Store


@dataclass
class Settings:
    """Knobs that shape behaviour for a whole server instance."""

    location: str = "eastus"
    reject_unknown_fields: bool = True


class FakeArmApp:
    """Holds the store, the operation registry, the fault plan and the request log."""

    def __init__(
        self, settings: Settings | None = None, *, operation_polls: int = 1, operation_seconds: float = 0.0
    ) -> None:
        self.settings = settings or Settings()
        self.store = Store()
        self.ops = Operations(self.store.lock)
        self.plan = FaultPlan(default_polls=operation_polls, default_seconds=operation_seconds)
        self.log = RequestLog()
        self.router = Router()
        for module in (routes_core, routes_deployments, routes_ml, routes_aks, routes_k8s, routes_cdn):
            module.register(self.router, self.settings)

    @property
    def location(self) -> str:
        return self.settings.location

    @staticmethod
    def clock_iso() -> str:
        return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def handle(self, request: Request, *, record: bool = True) -> Response:
        """Route one request, turning ArmError into an ARM error body; logs it unless ``record`` is off."""
        try:
            response = self.router.dispatch(self, request)
        except ArmError as err:
            response = Response(err.status, err.body(), dict(err.headers))
        if record:
            self.record(request, response.status)
        return response

    def fault_response(self, fault: Fault) -> Response:
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        message = fault.message or f"Injected fault: HTTP {fault.status}."
        err = ArmError(fault.status, fault.error_code, message, headers=headers)
        return Response(fault.status, err.body(), headers)

    def record(self, request: Request, status: int) -> None:
        resource_type = self.router.resource_type_of(request.method, request.path)
        self.log.add(
            RequestRecord(
                request.method,
                request.path,
                dict(request.query),
                resource_type,
                status,
                request.body,
                dict(request.headers),
                time.time(),
            )
        )

    def complete_all(self) -> None:
        """Finish every running operation now (used by seeding)."""
        with self.store.lock:
            for op in self.ops.all():
                op.polls, op.seconds = 0, 0.0
                op.observe()

"""Operator log lines: one JSON object per line in-cluster, human text for `mlopsctl dev`.

Every line written during a reconcile pass names the object (kind, namespace, name) and carries the pass's
reconcile id, so one pass can be followed across threads (the waker copies the context into its pool).
kopf's own per-object lines carry `k8s_ref`; those name the object too. Nothing here ever logs an object's
data: keys live in Secrets the operator writes but never logs (tests/integration/native_backend asserts it).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

OBJECT_FIELDS = ("kind", "namespace", "name", "reconcile_id")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(object)s%(message)s"
_scope: ContextVar[dict[str, str] | None] = ContextVar("mlops_reconcile_scope", default=None)


@contextmanager
def reconcile_scope(kind: str, namespace: str | None, name: str) -> Iterator[str]:
    """Tag every log line of one pass with the object and a fresh reconcile id (yielded)."""
    reconcile_id = uuid.uuid4().hex[:12]
    token = _scope.set({"kind": kind, "namespace": namespace or "", "name": name, "reconcile_id": reconcile_id})
    try:
        yield reconcile_id
    finally:
        _scope.reset(token)


def object_fields(record: logging.LogRecord) -> dict[str, str]:
    """The object a line is about: the reconcile scope, else kopf's `k8s_ref`, else nothing."""
    scope = _scope.get()
    if scope is not None:
        return dict(scope)
    ref: Any = getattr(record, "k8s_ref", None)
    if isinstance(ref, dict):
        return {key: str(ref.get(key) or "") for key in ("kind", "namespace", "name")}
    return {}


class JsonFormatter(logging.Formatter):
    """{"time", "level", "logger", "message", kind, namespace, name, reconcile_id, "exception"?} per line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **object_fields(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    """Human lines, the object as a `[kind ns/name #id] ` prefix when there is one."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        fields = object_fields(record)
        where = "/".join(p for p in (fields.get("namespace"), fields.get("name")) if p)
        rid = f" #{fields['reconcile_id']}" if fields.get("reconcile_id") else ""
        record.object = f"[{fields.get('kind', '')} {where}{rid}] " if fields else ""
        return super().format(record)


def configure_logging(log_format: str, verbose: bool = False) -> logging.Handler:
    """Replace the root handlers with one writing `json` or `text` lines to stderr; returns it."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    return handler

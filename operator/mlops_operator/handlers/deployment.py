"""ModelDeployment handlers: one reconcile for create, update, resume and drift; a finalizer on delete."""

from __future__ import annotations

from typing import Any

import kopf

from mlops_operator.api.v1alpha1 import GROUP, VERSION
from mlops_operator.config import OperatorSettings
from mlops_operator.handlers.flows import finalize_deployment_body, reconcile_deployment_by_name

PLURAL = "modeldeployments"
# kopf reads timer intervals when the decorator runs, so this one setting is read at import time.
DRIFT_SECONDS = OperatorSettings().drift_interval_seconds


@kopf.on.resume(GROUP, VERSION, PLURAL, backoff=5)
@kopf.on.create(GROUP, VERSION, PLURAL, backoff=5)
@kopf.on.update(GROUP, VERSION, PLURAL, backoff=5)
def modeldeployment_changed(name: str, namespace: str | None, memo: Any, **_: Any) -> None:
    reconcile_deployment_by_name(memo["ctx"], str(namespace), name)


@kopf.timer(GROUP, VERSION, PLURAL, interval=DRIFT_SECONDS, initial_delay=DRIFT_SECONDS, idle=DRIFT_SECONDS)
def modeldeployment_drift(name: str, namespace: str | None, memo: Any, **_: Any) -> None:
    reconcile_deployment_by_name(memo["ctx"], str(namespace), name)


@kopf.on.delete(GROUP, VERSION, PLURAL, backoff=5)
def modeldeployment_deleted(body: kopf.Body, memo: Any, **_: Any) -> None:
    finalize_deployment_body(memo["ctx"], dict(body))

"""MLOpsPlatform handlers: validate instance types, report Ready, wake the deployments that use it."""

from __future__ import annotations

from typing import Any

import kopf

from mlops_operator.api.v1alpha1 import GROUP, VERSION
from mlops_operator.config import OperatorSettings
from mlops_operator.handlers.flows import finalize_platform_body, reconcile_platform_by_name

PLURAL = "mlopsplatforms"
# kopf reads timer intervals when the decorator runs, so this one setting is read at import time.
DRIFT_SECONDS = 2 * OperatorSettings().drift_interval_seconds


@kopf.on.resume(GROUP, VERSION, PLURAL, backoff=5)
@kopf.on.create(GROUP, VERSION, PLURAL, backoff=5)
@kopf.on.update(GROUP, VERSION, PLURAL, backoff=5)
def mlopsplatform_changed(name: str, memo: Any, **_: Any) -> None:
    reconcile_platform_by_name(memo["ctx"], name)


@kopf.timer(GROUP, VERSION, PLURAL, interval=DRIFT_SECONDS, initial_delay=DRIFT_SECONDS, idle=DRIFT_SECONDS)
def mlopsplatform_drift(name: str, memo: Any, **_: Any) -> None:
    reconcile_platform_by_name(memo["ctx"], name)


# Only azureml platforms hold anything outside Kubernetes, so only they get a finalizer.
@kopf.on.delete(GROUP, VERSION, PLURAL, field="spec.backend", value="azureml", backoff=5)
def mlopsplatform_deleted(body: kopf.Body, memo: Any, **_: Any) -> None:
    finalize_platform_body(memo["ctx"], dict(body))

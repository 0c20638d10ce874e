"""MLOpsPlatform handlers: validate instance types, report Ready, wake the deployments that use it."""

from __future__ import annotations

from typing import Any

import kopf

from mlops_operator.api.v1alpha1 import GROUP, VERSION
from mlops_operator.handlers.flows import reconcile_platform_body

PLURAL = "mlopsplatforms"
DRIFT_SECONDS = 120.0


@kopf.on.resume(GROUP, VERSION, PLURAL, backoff=5)
@kopf.on.create(GROUP, VERSION, PLURAL, backoff=5)
@kopf.on.update(GROUP, VERSION, PLURAL, backoff=5)
def mlopsplatform_changed(name: str, memo: Any, **_: Any) -> None:
    ctx = memo["ctx"]
    body = ctx.kube.get(f"{GROUP}/{VERSION}", "MLOpsPlatform", name)
    if body is not None:
        reconcile_platform_body(ctx, body)


@kopf.timer(GROUP, VERSION, PLURAL, interval=DRIFT_SECONDS, initial_delay=DRIFT_SECONDS, idle=DRIFT_SECONDS)
def mlopsplatform_drift(body: kopf.Body, memo: Any, **_: Any) -> None:
    reconcile_platform_body(memo["ctx"], dict(body))

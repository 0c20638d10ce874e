"""ModelDeployment handlers: one pass for create, update and resume; a finalizer on delete.

Resyncs are not kopf timers: each pass asks the waker to look again after the resync period (flows.look).
"""

from __future__ import annotations

from typing import Any

import kopf

from mlops_operator.api.v1alpha1 import GROUP, VERSION
from mlops_operator.backends.watched import watched_by_deployment
from mlops_operator.handlers.flows import deployment_key, finalize_deployment_body, look_now
from mlops_operator.handlers.references import index_entries

PLURAL = "modeldeployments"


@kopf.on.resume(GROUP, VERSION, PLURAL, backoff=5)
@kopf.on.create(GROUP, VERSION, PLURAL, backoff=5)
@kopf.on.update(GROUP, VERSION, PLURAL, backoff=5)
def modeldeployment_changed(name: str, namespace: str | None, memo: Any, **_: Any) -> None:
    look_now(memo["ctx"], deployment_key(namespace, name))


@kopf.on.delete(GROUP, VERSION, PLURAL, backoff=5)
def modeldeployment_deleted(body: kopf.Body, memo: Any, **_: Any) -> None:
    finalize_deployment_body(memo["ctx"], dict(body))


@kopf.index(GROUP, VERSION, PLURAL)
def modeldeployment_references(body: kopf.Body, namespace: str | None, name: str, **_: Any) -> dict[Any, Any]:
    """What this deployment references -> (namespace, name): a change there wakes it."""
    return index_entries(dict(body), watched_by_deployment, (namespace, name))

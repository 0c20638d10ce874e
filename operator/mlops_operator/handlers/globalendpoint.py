"""GlobalEndpoint handlers: passes through the waker (which also re-probes every interval); a finalizer that
takes the endpoint off the global router and removes what it placed in each region."""

from __future__ import annotations

from typing import Any

import kopf

from mlops_operator.api.problems import InvalidResourceError, parse_resource
from mlops_operator.api.v1alpha1 import GROUP, VERSION, GlobalEndpoint
from mlops_operator.globalendpoint.finalize import finalize_global
from mlops_operator.handlers.flows import global_endpoint_key, wake

PLURAL = "globalendpoints"


@kopf.on.resume(GROUP, VERSION, PLURAL, backoff=5)
@kopf.on.create(GROUP, VERSION, PLURAL, backoff=5)
@kopf.on.update(GROUP, VERSION, PLURAL, backoff=5)
async def globalendpoint_changed(name: str, namespace: str | None, memo: Any, **_: Any) -> None:
    wake(memo["ctx"], global_endpoint_key(namespace, name), cause="changed")


@kopf.on.delete(GROUP, VERSION, PLURAL, backoff=5)
def globalendpoint_deleted(body: kopf.Body, memo: Any, **_: Any) -> None:
    try:
        ge = parse_resource(dict(body))
    except InvalidResourceError:
        return  # nothing was ever placed or routed for a spec that never parsed
    assert isinstance(ge, GlobalEndpoint)
    ctx = memo["ctx"]
    with ctx.waker.exclusive(global_endpoint_key(ge.metadata.namespace, str(ge.metadata.name))):
        left = finalize_global(ge, ctx.global_endpoints)
    if left:
        raise kopf.TemporaryError(f"still removing: {left}", delay=5)

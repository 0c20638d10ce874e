"""MLOpsPlatform handlers: report Ready, wake the deployments that use it, protect it while in use."""

from __future__ import annotations

from typing import Any

import kopf

from mlops_operator.api.v1alpha1 import GROUP, VERSION
from mlops_operator.backends.watched import watched_by_platform
from mlops_operator.handlers.deletion import finalize_platform_body, release_if_forced
from mlops_operator.handlers.flows import look_now, platform_key, wake_dependents
from mlops_operator.handlers.references import index_entries
from mlops_operator.naming import ANNOTATION_FORCE_DELETE

PLURAL = "mlopsplatforms"


@kopf.on.resume(GROUP, VERSION, PLURAL, backoff=5)
@kopf.on.create(GROUP, VERSION, PLURAL, backoff=5)
@kopf.on.update(GROUP, VERSION, PLURAL, backoff=5)
def mlopsplatform_changed(name: str, memo: Any, **_: Any) -> None:
    look_now(memo["ctx"], platform_key(name))
    wake_dependents(memo["ctx"], platform_key(name))  # instance types, gateway and backend come from here


# Every platform has a finalizer: it stays while ModelDeployments use it (unless forced with the
# annotation), then the backend releases what it holds outside Kubernetes (azureml only); if Azure refuses,
# the annotation releases it without that.
@kopf.on.delete(GROUP, VERSION, PLURAL, backoff=5)
def mlopsplatform_deleted(body: kopf.Body, memo: Any, **_: Any) -> None:
    finalize_platform_body(memo["ctx"], dict(body))


@kopf.on.event(GROUP, VERSION, PLURAL, annotations={ANNOTATION_FORCE_DELETE: "true"})
def mlopsplatform_forced(body: kopf.Body, memo: Any, **_: Any) -> None:
    """Every change wakes this, unlike a finalizer waiting out its retry: force-delete acts at once."""
    release_if_forced(memo["ctx"], dict(body))


@kopf.on.event(GROUP, VERSION, PLURAL)
async def mlopsplatform_gone(type: str | None, name: str, memo: Any, **_: Any) -> None:
    """Once a platform is really gone, its former dependents say PlatformNotFound rather than Terminating."""
    if type == "DELETED":
        wake_dependents(memo["ctx"], platform_key(name))


@kopf.index(GROUP, VERSION, PLURAL)
def mlopsplatform_references(body: kopf.Body, name: str, **_: Any) -> dict[Any, Any]:
    """The Gateway this platform's routes attach to -> the platform's name."""
    return index_entries(dict(body), watched_by_platform, name)

"""Long-running writes of online endpoints and deployments, begun without an SDK poller.

azure-ai-ml's `begin_create_or_update` and `begin_delete` return an LROPoller whose thread polls the
operation's status (a deployment's every 5 s, an endpoint's every Retry-After or 30 s) until the operation
ends, and then reads the resource once more; before each write the public calls also read the workspace
(for its location), and before a deployment's the endpoint. The operator never waits on those pollers: its
next pass reads provisioningState itself (operations.py). So they only added reads: after a create wave,
their status polls and final reads ran on into the idle resyncs (bench/scale_azureml.py), and in Azure, where
a deployment takes minutes, each deployment's poller would poll dozens of times beside the operator.

These calls go through the same generated REST operations the public calls use (azure-ai-ml is pinned by
constraints.txt) with `Begun`, a polling method that never polls, and fall back to the public calls should
a later azure-ai-ml move them. The platform's operations pass `Begun` to the management SDKs directly; only
the workspace's creation (an ARM template deployment) and the compute's detach keep azure-ai-ml's pollers,
once each in a platform's life.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from azure.core.polling import PollingMethod

FOLLOW = frozenset({"azure-asyncoperation", "location"})  # the headers an operation is followed by


class Begun(PollingMethod[None]):
    """Keeps where the operation can be followed and polls nothing: the LROPoller holding it is finished at
    once, so it starts no thread. Its continuation token has azure-core's shape, so `operation_url` reads
    the operation's URL from it as from any poller."""

    def __init__(self) -> None:
        self._headers: dict[str, str] = {}

    def initialize(self, client: Any, initial_response: Any, deserialization_callback: Any) -> None:
        headers = getattr(getattr(initial_response, "http_response", None), "headers", None) or {}
        self._headers = {k: v for k, v in headers.items() if k.lower() in FOLLOW}

    def run(self) -> None:
        """Nothing to wait for here: the operator's next pass reads the resource."""

    def status(self) -> str:
        return "InProgress"

    def finished(self) -> bool:
        return True

    def resource(self) -> None:
        return None

    def get_continuation_token(self) -> str:
        token = {"version": 1, "data": {"response": {"headers": self._headers}}}
        return base64.b64encode(json.dumps(token).encode()).decode()


def _generated(operations: Any, attribute: str) -> tuple[Any, dict[str, Any]] | None:
    """The generated REST operations behind a public azure-ai-ml one, with the workspace they are bound to."""
    rest = getattr(operations, attribute, None)
    names = ("_resource_group_name", "_workspace_name", "_init_kwargs")
    if rest is None or not all(hasattr(operations, n) for n in names):
        return None
    scope = {"resource_group_name": operations._resource_group_name, "workspace_name": operations._workspace_name}
    return rest, {**scope, **operations._init_kwargs, "polling": Begun()}


def begin_endpoint_put(ml: Any, endpoint: Any, location: str) -> Any:
    """Create or update an online endpoint. `endpoint.compute` is the compute's ARM id (as read back)."""
    endpoint.traffic = {k: v for k, v in (endpoint.traffic or {}).items() if v}  # as the public call sends it
    found = _generated(ml.online_endpoints, "_online_operation")
    if found is None:
        return ml.online_endpoints.begin_create_or_update(endpoint)
    rest, kwargs = found
    body = endpoint._to_rest_online_endpoint(location=location)
    return rest.begin_create_or_update(endpoint_name=endpoint.name, body=body, **kwargs)


def begin_deployment_put(ml: Any, deployment: Any, location: str) -> Any:
    """Create or update an online deployment whose model and environment are ARM ids."""
    found = _generated(ml.online_deployments, "_online_deployment")
    if found is None:
        return ml.online_deployments.begin_create_or_update(deployment)
    rest, kwargs = found
    body = deployment._to_rest_object(location=location)
    names = {"endpoint_name": deployment.endpoint_name, "deployment_name": deployment.name}
    return rest.begin_create_or_update(body=body, **names, **kwargs)


def begin_deployment_delete(ml: Any, name: str, endpoint: str) -> Any:
    found = _generated(ml.online_deployments, "_online_deployment")
    if found is None:
        return ml.online_deployments.begin_delete(name, endpoint)
    rest, kwargs = found
    return rest.begin_delete(endpoint_name=endpoint, deployment_name=name, **kwargs)


def begin_endpoint_delete(ml: Any, name: str) -> Any:
    found = _generated(ml.online_endpoints, "_online_operation")
    if found is None:
        return ml.online_endpoints.begin_delete(name)
    rest, kwargs = found
    return rest.begin_delete(endpoint_name=name, **kwargs)


def begin_compute_put(ml: Any, compute: Any) -> Any:
    """Attach (create) a compute; it lives in the workspace's region."""
    operations = ml.compute
    rest = getattr(operations, "_operation", None)
    if rest is None or not hasattr(operations, "_operation_scope"):
        return operations.begin_create_or_update(compute)
    compute.location = workspace_location(ml)
    scope = (operations._operation_scope.resource_group_name, ml.workspace_name)
    return rest.begin_create_or_update(
        *scope, compute_name=compute.name, parameters=compute._to_rest_object(), polling=Begun()
    )


def workspace_location(ml: Any) -> str:
    """The workspace's region, which a new endpoint is created in (an existing one carries its own)."""
    return str(ml.workspaces.get(ml.workspace_name).location)

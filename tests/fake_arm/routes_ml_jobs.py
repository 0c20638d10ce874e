"""Microsoft.MachineLearningServices jobs: PUT (submit, synchronous), GET and list.

Bodies are validated with ``arm_ml_service``'s ``JobBase`` (``properties.jobType`` picks ``CommandJob``,
``PipelineJob``, ...), the model azure-ai-ml serializes from. On top of that, what the service checks:

* assets a job names must exist in the workspace: ``computeId``, ``environmentId``, ``codeId`` and
  ``componentId`` when they are workspace ids (registry ids such as curated environments are not checked);
* a job name is taken for good: a PUT on an existing job may change only ``description``, ``tags``,
  ``displayName``, ``properties`` and ``isArchived`` (an identical resubmission is an update, 200); anything else
  is refused with the service's ``UserError`` ("A job with this name already exists...").

A new job answers 201 with ``status: NotStarted`` and a Studio service link. The status codes the service uses
for these refusals are in :data:`RULE_STATUS`, so they are easy to adjust.
"""

from __future__ import annotations

import copy
import functools
import re
from typing import TYPE_CHECKING, Any

from azure.ai.ml._restclient.arm_ml_service import models as ml_models

from .errors import ArmError
from .resources import Kind, ensure_parent, get_resource, list_resources, system_data
from .routing import Request, Response, Router
from .state import StoredResource
from .validation import raise_for_issues, validate_typespec

if TYPE_CHECKING:
    from .app import FakeArmApp, Settings

NS = "Microsoft.MachineLearningServices"
JOB_KIND = Kind("jobs", f"{NS}/workspaces/jobs", NS, put_lro=False, delete_lro=False)
MUTABLE = ("description", "tags", "displayName", "properties", "isArchived")
READ_ONLY = ("status", "services", "parameters")
REFERENCES = ("computeId", "environmentId", "codeId", "componentId")
RULE_STATUS = {"missing_reference": 400, "name_taken": 400}
_WORKSPACE_ASSET = re.compile(
    r"^(azureml:)?(/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices/"
    r"workspaces/[^/]+)/(computes|environments|codes|components)/.+$",
    re.IGNORECASE,
)
NAME_TAKEN = (
    "A job with this name already exists. If you are trying to create a new job, use a different name. If you are "
    "trying to update an existing job, the existing job's {fields} cannot be changed. Only description, tags, "
    "displayName, properties, and isArchived can be updated."
)


def _user_error(status: int, message: str, target: str) -> ArmError:
    return ArmError(status, "UserError", message, target=target)


def _check_references(app: FakeArmApp, workspace_id: str, props: dict[str, Any]) -> None:
    for field in REFERENCES:
        value = props.get(field)
        match = _WORKSPACE_ASSET.match(value) if isinstance(value, str) else None
        if value is None or match is None:
            continue
        target = value.removeprefix("azureml:")
        if match.group(2).lower() != workspace_id.lower():
            raise _user_error(
                RULE_STATUS["missing_reference"],
                f"{field} '{value}' is not in workspace '{workspace_id.rsplit('/', 1)[-1]}'.",
                f"properties.{field}",
            )
        if app.store.get(target) is None:
            asset = match.group(3).rstrip("s").capitalize().replace("Compute", "Compute target")
            raise _user_error(
                RULE_STATUS["missing_reference"],
                f"{asset} '{target.split('/' + match.group(3) + '/', 1)[-1]}' referenced by {field} was not found "
                "in the workspace.",
                f"properties.{field}",
            )


def _fixed_part(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k not in MUTABLE and k not in READ_ONLY and v is not None}


def _check_resubmission(existing: StoredResource, props: dict[str, Any]) -> None:
    before, after = existing.extras["fixed"], _fixed_part(props)
    changed = sorted(k for k in {*before, *after} if before.get(k) != after.get(k))
    if changed:
        fields = ", ".join(f[0].upper() + f[1:] for f in changed)
        raise _user_error(RULE_STATUS["name_taken"], NAME_TAKEN.format(fields=fields), f"properties.{changed[0]}")


def _put_job(app: FakeArmApp, req: Request, settings: Settings) -> Response:
    rid = req.resource_id
    ensure_parent(app, rid)
    workspace_id = rid.rsplit("/jobs/", 1)[0]
    with app.store.lock:
        raise_for_issues(validate_typespec(ml_models.JobBase, req.body, reject_unknown=settings.reject_unknown_fields))
        props = copy.deepcopy(req.body["properties"])
        _check_references(app, workspace_id, props)
        existing = app.store.get(rid)
        if existing is not None:
            _check_resubmission(existing, props)
            return _update(app, existing, props)
        name = rid.rsplit("/", 1)[-1]
        props.update(
            status="NotStarted",
            services={
                "Studio": {
                    "jobServiceType": "Studio",
                    "endpoint": f"https://ml.azure.com/runs/{name}?wsid={workspace_id}",
                }
            },
        )
        props.setdefault("experimentName", "Default")
        props.setdefault("displayName", name)
        props.setdefault("properties", {})
        props.setdefault("tags", {})
        props.setdefault("isArchived", False)
        body = {
            "id": rid,
            "name": name,
            "type": JOB_KIND.arm_type,
            "systemData": system_data(None, app.clock_iso()),
            "properties": props,
        }
        app.store.put(StoredResource(rid, JOB_KIND.name, body, extras={"fixed": _fixed_part(req.body["properties"])}))
        return Response(201, copy.deepcopy(body))


def _update(app: FakeArmApp, existing: StoredResource, props: dict[str, Any]) -> Response:
    stored = existing.body["properties"]
    for field in MUTABLE:
        if props.get(field) is not None:
            stored[field] = props[field]
    existing.body["systemData"] = system_data(existing, app.clock_iso())
    return Response(200, copy.deepcopy(existing.body))


def register(router: Router, settings: Settings, workspace: str) -> None:
    item = workspace + "/jobs/{name}"
    router.add("PUT", item, functools.partial(_put_job, settings=settings), JOB_KIND.name)
    router.add("GET", item, functools.partial(get_resource, kind=JOB_KIND), JOB_KIND.name)
    router.add("GET", workspace + "/jobs", functools.partial(list_resources, kind=JOB_KIND), JOB_KIND.name)

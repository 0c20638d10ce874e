"""Retraining in Azure ML after data drift: a registered command component submitted as a command job, once per
episode (`spec.monitoring.drift.actions.azureMLJob`, called from monitoring/drift_driver.py).

A command job rather than a one-node pipeline job: the component's command, environment and code are
resolved at submission (by reference: the job names the component version's registered environment and code,
nothing is uploaded), the body is one typed `CommandJob` the service validates as a whole, and it needs only
the ARM token. A pipeline submission also requires an Azure ML-audience token (`x-azureml-token`, checked by
azure-ai-ml before sending) and adds a parent run around the single step.

REST calls (azure-ai-ml 1.35, workspace-scoped, api-versions as the SDK pins them):
  GET  WS/jobs/{name}                                        2024-01-01-preview  (submitted already? 404: no)
  GET  WS/components/{name}/versions/{version}               2024-01-01-preview  (or, without a version, the
  GET  WS/components/{name}/versions?$orderBy=createdtime desc&$top=1             latest registered one)
  PUT  WS/jobs/{name}                                        2025-01-01-preview  (the CommandJob; 201)
Exactly once: the job name is fixed per deployment uid and episode (render/drift_job.py); an existing job of
that name (a crash between submission and the status write) is the same submission, so is the service's
"A job with this name already exists" when two submissions race.
"""

from __future__ import annotations

from typing import Any

from azure.ai.ml import Input
from azure.ai.ml.exceptions import MlException
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from mlops_operator.api.v1alpha1.platform import AzureSettings
from mlops_operator.backends.azureml.clients import AzureClients
from mlops_operator.backends.azureml.errors import arm_error_of
from mlops_operator.backends.azureml.operations import azure_errors, get_or_none
from mlops_operator.backends.azureml.platform import workspace_coordinates
from mlops_operator.backends.base import FatalError
from mlops_operator.conditions import Reason
from mlops_operator.render.drift_job import DriftJob, job_inputs

FIELD = "monitoring.drift.actions.azureMLJob"


def submit_drift_job(clients: AzureClients, azure: AzureSettings, job: DriftJob) -> str:
    """`Submitted <job name>`; raises the backend's RetryableError or FatalError (classified ARM errors)."""
    resource_group, workspace = workspace_coordinates(azure)
    ml = clients.ml(resource_group, workspace)
    if get_or_none(ml.jobs.get, job.name) is not None:
        return f"Submitted {job.name} (already existed)"
    component = registered_component(ml, job, workspace)
    node = command_node(component, job)
    with azure_errors():
        try:
            ml.jobs.create_or_update(node)
        except (HttpResponseError, ResourceExistsError) as exc:
            if not name_taken(exc):
                raise
            return f"Submitted {job.name} (already existed)"
    return f"Submitted {job.name}"


def component_label(job: DriftJob) -> str:
    return f"{job.component}:{job.version or 'latest'}"


def registered_component(ml: Any, job: DriftJob, workspace: str) -> Any:
    """The component version the job runs; one that is not registered is named in the error."""
    missing = FatalError(
        f"component {component_label(job)} is not registered in workspace {workspace} ({FIELD}.component)",
        Reason.AZURE_NOT_FOUND,
    )
    with azure_errors():
        try:
            if job.version:
                component = ml.components.get(job.component, version=job.version)
            else:
                component = ml.components.get(job.component, label="latest")
        except ResourceNotFoundError as exc:
            raise missing from exc
        except MlException as exc:  # `latest` of a name without versions: "Asset ... does not exist"
            if "does not exist" in str(exc):
                raise missing from exc
            raise
    if str(getattr(component, "type", "")).lower() != "command":
        raise FatalError(
            f"component {component_label(job)} is a {component.type} component; {FIELD} runs command components",
            Reason.AZURE_BAD_REQUEST,
        )
    return component


def command_node(component: Any, job: DriftJob) -> Any:
    """The component called with the action's inputs, named, tagged and placed for this episode."""
    declared = {name: str(getattr(value, "type", "string")) for name, value in (component.inputs or {}).items()}
    try:
        shaped = job_inputs(declared, job.inputs)
    except ValueError as exc:
        raise FatalError(f"component {component_label(job)} {exc} ({FIELD}.inputs)", Reason.AZURE_BAD_REQUEST) from exc
    values = {
        key: value if kind == "literal" else Input(type=kind, path=value) for key, (kind, value) in shaped.items()
    }
    node = component(**values)
    node.name = job.name
    node.display_name = job.display_name
    node.description = job.description
    node.experiment_name = job.experiment
    node.tags = dict(job.tags)
    node.compute = job.compute
    node.environment = component.environment  # a standalone command job does not inherit it from the component
    node.environment_variables = dict(job.environment_variables)
    return node


def name_taken(exc: Exception) -> bool:
    """The service's answer to a second job of the same name (400 UserError, or 409)."""
    _, status, message, _ = arm_error_of(exc)
    return status == 409 or (status == 400 and "already exists" in message.lower())

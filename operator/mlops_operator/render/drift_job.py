"""What a drift episode's retraining run is told, pure: the environment every retraining run gets (Kubernetes Job
or Azure ML job), and the Azure ML job's name, display name, tags and inputs.

The Azure ML job name is derived from the deployment's uid and the episode number: a submission repeated after
an operator crash (before the episode's status was written) names the same job, and a deployment deleted and
created again under the same name (whose episodes count from 1 again) never collides with its predecessor's jobs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mlops_operator import naming
from mlops_operator.api.v1alpha1 import ModelDeployment
from mlops_operator.api.v1alpha1.monitoring import AzureMLJobAction, DriftStatus

TAG_NAMESPACE = f"{naming.GROUP}/namespace"
TAG_COMPONENT = f"{naming.GROUP}/component"
# Component input types passed as literal values; every other type (uri_folder, uri_file, mltable, models) is a
# path or an `azureml:` asset.
LITERAL_INPUT_TYPES = frozenset({"string", "number", "integer", "boolean"})


@dataclass(frozen=True)
class DriftJob:
    """An Azure ML command job for one episode: the component by reference plus what this episode adds."""

    name: str
    display_name: str
    component: str
    version: str | None  # None: the latest registered version
    compute: str
    experiment: str
    inputs: dict[str, str]
    tags: dict[str, str]
    environment_variables: dict[str, str]
    description: str
    platform: str  # the MLOpsPlatform whose workspace and credentials are used


def drift_environment(md: ModelDeployment, status: DriftStatus) -> dict[str, str]:
    """What every retraining run learns about the episode that started it."""
    assert status.episode is not None
    return {
        "MLOPS_DRIFT_EPISODE": str(status.episode.number),
        "MLOPS_DRIFT_FEATURES": ",".join(status.episode.features),
        "MLOPS_MODEL_NAME": md.spec.model.name,
        "MLOPS_MODEL_VERSION": md.spec.model.version,
        "MLOPS_DEPLOYMENT": str(md.metadata.name),
    }


def drift_job_name(md: ModelDeployment, episode: int) -> str:
    """`<deployment>-drift-<episode>-<uid hash>`: letters, digits and `-`, as Azure ML job names allow."""
    return f"{md.metadata.name}-drift-{episode}-{naming.short_hash(str(md.metadata.uid), length=8)}"


def render_drift_job(md: ModelDeployment, action: AzureMLJobAction, status: DriftStatus) -> DriftJob:
    assert status.episode is not None
    episode = status.episode
    name, namespace = str(md.metadata.name), str(md.metadata.namespace)
    component, version = action.component_name_and_version()
    tags = {
        naming.LABEL_DEPLOYMENT: name,
        TAG_NAMESPACE: namespace,
        naming.LABEL_ENDPOINT: md.spec.endpoint.name,
        naming.LABEL_MODEL: md.spec.model.name,
        naming.LABEL_MODEL_VERSION: md.spec.model.version,
        naming.LABEL_DRIFT_EPISODE: str(episode.number),
        TAG_COMPONENT: f"{component}:{version or 'latest'}",
        naming.LABEL_MANAGED_BY: naming.MANAGED_BY,
    }
    return DriftJob(
        name=drift_job_name(md, episode.number),
        display_name=f"{namespace}/{name} drift episode {episode.number}",
        component=component,
        version=version,
        compute=action.compute_name,
        experiment=action.experiment_name or name,
        inputs=dict(action.inputs),
        tags=tags,
        environment_variables=drift_environment(md, status),
        description=(
            f"Retraining after data drift on {', '.join(episode.features) or 'the inputs'} of ModelDeployment "
            f"{namespace}/{name} (model {md.spec.model.name}:{md.spec.model.version}), episode {episode.number} "
            f"started {episode.started_at}."
        ),
        platform=action.platform_ref.name,
    )


def job_inputs(declared: Mapping[str, str], values: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """Each value with the type the component declares for it: `("literal", v)` or `(<asset type>, path)`.

    Raises ValueError naming the inputs the component does not declare (and those it does).
    """
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise ValueError(
            f"declares no input {', '.join(unknown)} (its inputs: {', '.join(sorted(declared)) or 'none'})"
        )
    return {
        key: ("literal", value) if declared[key].lower() in LITERAL_INPUT_TYPES else (declared[key], value)
        for key, value in values.items()
    }

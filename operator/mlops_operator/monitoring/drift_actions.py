"""What a drift episode sets off: a CloudEvent POSTed to a webhook, and a retraining Job. (The third action, an
Azure ML job, is submitted by backends/azureml/jobs.py.)

Both are idempotent per episode: the CloudEvent's `id` is the deployment's uid and the episode number
(receivers such as Event Grid subscribers deduplicate on it), and the Job's name is derived from the episode,
so a second create is a conflict, not a second Job.
"""

from __future__ import annotations

import base64
import copy
import json
import urllib.error
import urllib.request
from typing import Any

from mlops_operator import naming
from mlops_operator.api.v1alpha1 import ModelDeployment
from mlops_operator.api.v1alpha1.monitoring import CloudEventAction, DriftStatus, JobAction
from mlops_operator.kube import Kube, KubeError
from mlops_operator.render.drift_job import drift_environment
from mlops_operator.render.workload import owner_reference

CLOUDEVENTS_JSON = "application/cloudevents+json; charset=utf-8"


class ActionError(Exception):
    """The action could not be carried out; the message is recorded on the episode and in an Event."""


def drift_event(md: ModelDeployment, status: DriftStatus, event_type: str) -> dict[str, Any]:
    """A CloudEvents 1.0 event (structured mode) for the open episode, in the shape Event Grid topics accept."""
    assert status.episode is not None
    episode = status.episode
    name, namespace = str(md.metadata.name), str(md.metadata.namespace)
    return {
        "specversion": "1.0",
        "type": event_type,
        "source": f"/apis/mlops.dev/v1alpha1/namespaces/{namespace}/modeldeployments/{name}",
        "id": f"{md.metadata.uid}-drift-{episode.number}",
        "time": episode.started_at,
        "subject": f"endpoints/{md.spec.endpoint.name}/deployments/{name}",
        "datacontenttype": "application/json",
        "data": {
            "namespace": namespace,
            "deployment": name,
            "endpoint": md.spec.endpoint.name,
            "model": {"name": md.spec.model.name, "version": md.spec.model.version},
            "episode": episode.number,
            "startedAt": episode.started_at,
            "driftedFeatures": episode.features,
            "features": [f.model_dump(by_alias=True, mode="json") for f in status.features],
        },
    }


def send_cloud_event(kube: Kube, md: ModelDeployment, action: CloudEventAction, status: DriftStatus) -> str:
    body = json.dumps(drift_event(md, status, action.type)).encode()
    headers = {"Content-Type": CLOUDEVENTS_JSON}
    if action.key_secret_ref is not None:
        headers[action.key_secret_ref.header] = _secret_value(
            kube, md, action.key_secret_ref.name, action.key_secret_ref.key
        )
    request = urllib.request.Request(action.url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return f"Sent ({response.status})"
    except urllib.error.HTTPError as exc:
        raise ActionError(f"{action.url} answered {exc.code} {exc.reason}") from exc
    except OSError as exc:
        raise ActionError(f"{action.url} unreachable: {exc}") from exc


def _secret_value(kube: Kube, md: ModelDeployment, name: str, key: str) -> str:
    secret = kube.get("v1", "Secret", name, str(md.metadata.namespace))
    if secret is None:
        raise ActionError(f"Secret {name} (monitoring.drift.actions.cloudEvent.keySecretRef) does not exist")
    encoded = (secret.get("data") or {}).get(key)
    if encoded is None:
        raise ActionError(f"Secret {name} has no key {key!r} (monitoring.drift.actions.cloudEvent.keySecretRef.key)")
    return base64.b64decode(encoded).decode().strip()


def render_retraining_job(md: ModelDeployment, action: JobAction, status: DriftStatus) -> dict[str, Any]:
    """The user's Job template, named and labelled for the episode, owned by the deployment (deleted with
    it), with the episode in every container's environment."""
    assert status.episode is not None
    episode = status.episode
    template = copy.deepcopy(action.template)
    metadata = template.get("metadata") or {}
    labels = {
        **(metadata.get("labels") or {}),
        naming.LABEL_DEPLOYMENT: str(md.metadata.name),
        naming.LABEL_ENDPOINT: md.spec.endpoint.name,
        naming.LABEL_MODEL: md.spec.model.name,
        naming.LABEL_MODEL_VERSION: md.spec.model.version,
        naming.LABEL_DRIFT_EPISODE: str(episode.number),
        naming.LABEL_MANAGED_BY: naming.MANAGED_BY,
    }
    env = [{"name": key, "value": value} for key, value in drift_environment(md, status).items()]
    pod_spec = template["spec"]["template"].setdefault("spec", {})
    for container in pod_spec.get("containers") or []:
        container["env"] = [*(container.get("env") or []), *env]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            **{k: v for k, v in metadata.items() if k in ("annotations",)},
            "name": retraining_job_name(md, episode.number),
            "namespace": md.metadata.namespace,
            "labels": labels,
            "ownerReferences": [owner_reference(md, controller=False)],
        },
        "spec": template["spec"],
    }


def retraining_job_name(md: ModelDeployment, episode: int) -> str:
    return f"{md.metadata.name}-drift-{episode}"


def create_retraining_job(kube: Kube, md: ModelDeployment, action: JobAction, status: DriftStatus) -> str:
    job = render_retraining_job(md, action, status)
    name = job["metadata"]["name"]
    try:
        created = kube.create(job)
    except KubeError as exc:
        raise ActionError(f"Job {name}: {exc} (check monitoring.drift.actions.job.template)") from exc
    return f"Created {name}" if created is not None else f"Created {name} (already existed)"

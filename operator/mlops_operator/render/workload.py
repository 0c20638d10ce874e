"""Per-ModelDeployment objects of the native backend: Deployment, Service, PodDisruptionBudget, HPA."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from mlops_operator import naming
from mlops_operator.api.quantity import parse_quantity
from mlops_operator.api.v1alpha1 import InstanceType, ModelDeployment
from mlops_operator.api.v1alpha1.common import ResourceRequirements
from mlops_operator.api.v1alpha1.deployment import ProbeSettings
from mlops_operator.api.v1alpha1.gpu import GpuScheduling
from mlops_operator.render.model_source import ModelSource, parse_model_uri
from mlops_operator.render.placement import placement

APP_ROOT = "/var/azureml-app"
DRAIN_SECONDS = 5
"""How long a terminating pod keeps serving before SIGTERM: Gateways and Services drop it from their
backends when its EndpointSlice changes, which takes a moment to reach every watcher."""
MODELS_ROOT = f"{APP_ROOT}/azureml-models"


@dataclass(frozen=True)
class WorkloadInputs:
    """Everything a workload render needs besides the ModelDeployment itself."""

    instance_type: InstanceType
    image: str
    fetcher_image: str
    scoring_uid: int = 1000
    progress_deadline_seconds: int = 600
    # Hash of the code and model ConfigMaps the pods mount: in the pod template, so editing them rolls out.
    content_revision: str = ""
    # The platform's `spec.gpu`: what pods asking for `nvidia.com/gpu` get added to their placement.
    gpu: GpuScheduling = field(default_factory=GpuScheduling)


def owner_reference(md: ModelDeployment, controller: bool = True) -> dict[str, Any]:
    """Owner reference to a ModelDeployment, so Kubernetes garbage-collects what it owns."""
    return {
        "apiVersion": md.api_version,
        "kind": md.kind,
        "name": md.metadata.name,
        "uid": md.metadata.uid,
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def child_metadata(md: ModelDeployment, name: str) -> dict[str, Any]:
    """Metadata of a child of the deployment: its labels and the deployment as controller owner."""
    return _metadata(md, name)


def _metadata(md: ModelDeployment, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": md.metadata.namespace,
        "labels": naming.common_labels(str(md.metadata.name), md.spec.endpoint.name),
        "ownerReferences": [owner_reference(md)],
    }


def model_dir(md: ModelDeployment) -> str:
    """`AZUREML_MODEL_DIR`, laid out as Azure ML does: azureml-models/<name>/<version>."""
    return f"{MODELS_ROOT}/{md.spec.model.name}/{md.spec.model.version}"


def _probe(settings: ProbeSettings, path: str) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "initialDelaySeconds": settings.initial_delay,
        "periodSeconds": settings.period,
        "timeoutSeconds": settings.timeout,
        "successThreshold": settings.success_threshold,
        "failureThreshold": settings.failure_threshold,
    }


def _resources(md: ModelDeployment, inputs: WorkloadInputs) -> dict[str, Any]:
    chosen: ResourceRequirements = md.spec.resources or inputs.instance_type.resources
    out: dict[str, Any] = {}
    if chosen.requests:
        out["requests"] = chosen.requests.as_dict()
    if chosen.limits:
        out["limits"] = chosen.limits.as_dict()
    return out


def concurrency(md: ModelDeployment, inputs: WorkloadInputs) -> tuple[int, int]:
    """(worker processes, run() threads per worker) for `maxConcurrentRequestsPerInstance`.

    One process per CPU of the pod's limit (requests if no limit) keeps run() off a shared GIL; threads make
    up the rest, so the instance runs at most the requested number of run() calls at once.
    """
    wanted = md.spec.request_settings.max_concurrent_requests_per_instance
    chosen = md.spec.resources or inputs.instance_type.resources
    amounts = chosen.limits if chosen.limits and chosen.limits.cpu else chosen.requests
    cpus = max(1, math.ceil(parse_quantity(amounts.cpu))) if amounts and amounts.cpu else 1
    workers = min(wanted, cpus)
    return workers, math.ceil(wanted / workers)


def _environment(md: ModelDeployment, inputs: WorkloadInputs) -> list[dict[str, str]]:
    spec = md.spec
    workers, threads = concurrency(md, inputs)
    env = {
        "AZUREML_MODEL_DIR": model_dir(md),
        "AZUREML_ENTRY_SCRIPT": spec.code.scoring_script,
        "AML_APP_ROOT": naming.CODE_MOUNT_DIR,
        "AZUREML_SOURCE_DIRECTORY": naming.CODE_MOUNT_DIR,
        "SCORING_TIMEOUT_MS": str(spec.request_settings.request_timeout_ms),
        "WORKER_COUNT": str(workers),
        "MLOPS_SCORING_THREADS": str(threads),
        "AZUREML_DEPLOYMENT_NAME": str(md.metadata.name),
        "AZUREML_ENDPOINT_NAME": spec.endpoint.name,
    }
    if spec.endpoint.auth_mode == "key":
        env["MLOPS_KEYS_DIR"] = naming.KEYS_MOUNT_DIR
    if spec.monitoring.drift is not None:
        env["MLOPS_DRIFT_PROFILE"] = f"{naming.DRIFT_PROFILE_MOUNT_DIR}/{naming.DRIFT_PROFILE_FILE}"
    env.update(spec.environment_variables)
    return [{"name": k, "value": v} for k, v in env.items()]


def _model_volume(source: ModelSource) -> dict[str, Any]:
    if source.kind == "pvc":
        return {"name": "model", "persistentVolumeClaim": {"claimName": source.claim, "readOnly": True}}
    if source.kind == "configmap":
        return {"name": "model", "configMap": {"name": source.config_map}}
    return {"name": "model", "emptyDir": {}}


def _model_mount(md: ModelDeployment, source: ModelSource) -> dict[str, Any]:
    mount: dict[str, Any] = {"name": "model", "mountPath": model_dir(md), "readOnly": True}
    if source.kind == "pvc" and source.sub_path:
        mount["subPath"] = source.sub_path
    return mount


def _volumes(md: ModelDeployment, source: ModelSource) -> list[dict[str, Any]]:
    volumes = [_model_volume(source), {"name": "tmp", "emptyDir": {}}]
    if md.spec.code.config_map:
        volumes.append({"name": "code", "configMap": {"name": md.spec.code.config_map.name}})
    if md.spec.endpoint.auth_mode == "key":
        secret = naming.keys_secret_name(md.spec.endpoint.name)
        volumes.append({"name": "endpoint-keys", "secret": {"secretName": secret}})
    drift = md.spec.monitoring.drift
    if drift is not None:
        ref = drift.baseline.config_map_key_ref
        items = [{"key": ref.key, "path": naming.DRIFT_PROFILE_FILE}]
        volumes.append({"name": "drift-profile", "configMap": {"name": ref.name, "items": items, "optional": True}})
    return volumes


def _mounts(md: ModelDeployment, source: ModelSource) -> list[dict[str, Any]]:
    mounts = [_model_mount(md, source), {"name": "tmp", "mountPath": "/tmp"}]
    if md.spec.code.config_map:
        mounts.append({"name": "code", "mountPath": naming.CODE_MOUNT_DIR, "readOnly": True})
    if md.spec.endpoint.auth_mode == "key":
        mounts.append({"name": "endpoint-keys", "mountPath": naming.KEYS_MOUNT_DIR, "readOnly": True})
    if md.spec.monitoring.drift is not None:
        mounts.append({"name": "drift-profile", "mountPath": naming.DRIFT_PROFILE_MOUNT_DIR, "readOnly": True})
    return mounts


def _security_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }


def _fetch_container(md: ModelDeployment, source: ModelSource, inputs: WorkloadInputs) -> dict[str, Any]:
    """Downloads an `https://` model into the shared volume before the scoring server starts."""
    return {
        "name": "fetch-model",
        "image": inputs.fetcher_image,
        "command": ["python", "-m", "mlops_operator.modelfetch", "--uri", source.uri, "--dest", model_dir(md)],
        "volumeMounts": [{"name": "model", "mountPath": model_dir(md)}, {"name": "tmp", "mountPath": "/tmp"}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        "securityContext": _security_context(),
        # A failed fetch puts its last log lines into the pod status, and from there into ours.
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }


def _scoring_container(md: ModelDeployment, source: ModelSource, inputs: WorkloadInputs) -> dict[str, Any]:
    return {
        "name": "scoring",
        "image": md.spec.environment.image or inputs.image,
        "command": ["python", "-m", "mlops_operator.scoring"],
        "ports": [{"name": "http", "containerPort": naming.SCORING_PORT, "protocol": "TCP"}],
        "env": _environment(md, inputs),
        "resources": _resources(md, inputs),
        "livenessProbe": _probe(md.spec.liveness_probe, "/"),
        "readinessProbe": _probe(md.spec.readiness_probe, "/readiness"),
        "volumeMounts": _mounts(md, source),
        "securityContext": _security_context(),
        # A score.py whose init() raises puts its traceback into the pod status, and from there into ours.
        "terminationMessagePolicy": "FallbackToLogsOnError",
        # The kubelet's own sleep (no binary needed in the image), then SIGTERM lets requests finish.
        "lifecycle": {"preStop": {"sleep": {"seconds": DRAIN_SECONDS}}},
    }


def termination_grace_seconds(md: ModelDeployment) -> int:
    """Drain, then the longest request may still finish (requestTimeoutMs), then a margin for shutdown."""
    return DRAIN_SECONDS + math.ceil(md.spec.request_settings.request_timeout_ms / 1000) + 5


def _pod_spec(md: ModelDeployment, inputs: WorkloadInputs) -> dict[str, Any]:
    source = parse_model_uri(md.spec.model.uri)
    pod: dict[str, Any] = {
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": inputs.scoring_uid,
            "fsGroup": inputs.scoring_uid,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": termination_grace_seconds(md),
        "containers": [_scoring_container(md, source, inputs)],
        "volumes": _volumes(md, source),
    }
    if source.kind == "https":
        pod["initContainers"] = [_fetch_container(md, source, inputs)]
    if md.spec.environment.image_pull_secrets:
        pod["imagePullSecrets"] = [{"name": ref.name} for ref in md.spec.environment.image_pull_secrets]
    where = placement(inputs.instance_type, inputs.gpu, resources=md.spec.resources)
    if where.node_selector:
        pod["nodeSelector"] = where.node_selector
    if where.tolerations:
        pod["tolerations"] = where.tolerations_wire()
    return pod


def render_deployment(md: ModelDeployment, inputs: WorkloadInputs) -> dict[str, Any]:
    """The apps/v1 Deployment running the scoring server for one model version."""
    name = str(md.metadata.name)
    labels = naming.common_labels(name, md.spec.endpoint.name)
    template_labels = {
        **labels,
        naming.LABEL_MODEL: md.spec.model.name,
        naming.LABEL_MODEL_VERSION: md.spec.model.version,
    }
    spec: dict[str, Any] = {
        "selector": {"matchLabels": naming.selector_labels(name)},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        "progressDeadlineSeconds": inputs.progress_deadline_seconds,
        "revisionHistoryLimit": 3,
        "template": {"metadata": _template_metadata(template_labels, inputs), "spec": _pod_spec(md, inputs)},
    }
    if md.spec.scale_settings.type == "default":
        spec["replicas"] = md.spec.instance_count  # with autoscaling the HPA owns replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _metadata(md, name), "spec": spec}


def _template_metadata(labels: dict[str, str], inputs: WorkloadInputs) -> dict[str, Any]:
    if not inputs.content_revision:
        return {"labels": labels}
    return {"labels": labels, "annotations": {naming.ANNOTATION_CONTENT_REVISION: inputs.content_revision}}


def render_service(md: ModelDeployment) -> dict[str, Any]:
    """A ClusterIP Service in front of one deployment's pods (the HTTPRoute's backend)."""
    name = str(md.metadata.name)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(md, naming.deployment_name(name)),
        "spec": {
            "type": "ClusterIP",
            "selector": naming.selector_labels(name),
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def render_pdb(md: ModelDeployment) -> dict[str, Any] | None:
    """Keep all but one pod through voluntary disruptions, when there is more than one."""
    replicas = _planned_replicas(md)
    if replicas <= 1:
        return None
    name = str(md.metadata.name)
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _metadata(md, naming.deployment_name(name)),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": naming.selector_labels(name)}},
    }


def _planned_replicas(md: ModelDeployment) -> int:
    if md.spec.scale_settings.type != "default":
        return md.spec.scale_settings.min_instances
    return md.spec.instance_count


def render_hpa(md: ModelDeployment) -> dict[str, Any] | None:
    """CPU-utilisation autoscaling when `scaleSettings.type` is `targetUtilization`."""
    scale = md.spec.scale_settings
    if scale.type != "targetUtilization":
        return None
    name = str(md.metadata.name)
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _metadata(md, naming.deployment_name(name)),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": max(scale.min_instances, 1),
            "maxReplicas": scale.max_instances,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": scale.target_utilization_percentage},
                    },
                }
            ],
        },
    }

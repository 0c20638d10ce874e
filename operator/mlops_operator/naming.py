"""Names and labels of everything the operator creates, in one place."""

from __future__ import annotations

import hashlib

GROUP = "mlops.dev"
FIELD_MANAGER = "mlops-operator"
MANAGED_BY = "mlops-operator"

LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_NAME = "app.kubernetes.io/name"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_DEPLOYMENT = f"{GROUP}/deployment"
LABEL_ENDPOINT = f"{GROUP}/endpoint"
LABEL_MODEL = f"{GROUP}/model"
LABEL_MODEL_VERSION = f"{GROUP}/model-version"
ANNOTATION_RECONCILE_POLICY = f"{GROUP}/reconcile-policy"
FINALIZER = f"{GROUP}/finalizer"
# On every child we apply: the hash of its rendered form, so a removed field is seen as a change.
ANNOTATION_APPLIED_HASH = f"{GROUP}/applied-hash"
# On the pod template: the hash of the ConfigMaps the pods mount (code, model), shown as status.revision.
ANNOTATION_CONTENT_REVISION = f"{GROUP}/content-revision"
# On an MLOpsPlatform: delete it even while ModelDeployments use it (they become Ready=False), and without
# its Azure cleanup once Azure refused that; on a ModelDeployment: release it without any more Azure calls.
ANNOTATION_FORCE_DELETE = f"{GROUP}/force-delete"
# A command to a rollout (promote, resume, abort, retry); the operator removes it once acted on. Not under
# `mlops.dev/`: kopf leaves annotations under its own storage prefix out of the diff, so no update would fire.
ANNOTATION_ROLLOUT_ACTION = f"rollout.{GROUP}/action"

KEYS_MOUNT_DIR = "/var/run/secrets/mlops.dev/keys"
MODEL_MOUNT_DIR = "/var/azureml-app/model"
CODE_MOUNT_DIR = "/var/azureml-app/code"
# The drift profile (spec.monitoring.drift.baseline), where the scoring server bins inputs against it.
DRIFT_PROFILE_MOUNT_DIR = "/etc/mlops.dev/drift"
DRIFT_PROFILE_FILE = "profile.json"
LABEL_DRIFT_EPISODE = f"{GROUP}/drift-episode"
SCORING_PORT = 5001


def deployment_name(mdep_name: str) -> str:
    """Deployment, Service, PodDisruptionBudget and HPA of one ModelDeployment share its name."""
    return mdep_name


def endpoint_object_name(endpoint: str) -> str:
    """The endpoint's Service and HTTPRoute."""
    return f"{endpoint}-endpoint"


def keys_secret_name(endpoint: str) -> str:
    return f"{endpoint}-endpoint-keys"


def scoring_path(namespace: str, endpoint: str) -> str:
    """Path prefix of an endpoint on the shared Gateway; namespaced so endpoints never collide."""
    return f"/api/v1/namespaces/{namespace}/endpoints/{endpoint}"


def selector_labels(mdep_name: str) -> dict[str, str]:
    return {LABEL_DEPLOYMENT: mdep_name, LABEL_MANAGED_BY: MANAGED_BY}


def common_labels(mdep_name: str, endpoint: str) -> dict[str, str]:
    return {
        LABEL_NAME: "mlops-scoring",
        LABEL_COMPONENT: "model-deployment",
        LABEL_MANAGED_BY: MANAGED_BY,
        LABEL_DEPLOYMENT: mdep_name,
        LABEL_ENDPOINT: endpoint,
    }


def endpoint_labels(endpoint: str) -> dict[str, str]:
    return {LABEL_NAME: "mlops-endpoint", LABEL_MANAGED_BY: MANAGED_BY, LABEL_ENDPOINT: endpoint}


def short_hash(*parts: str, length: int = 10) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:length]

"""What each object depends on besides itself, as keys of the operator's index of references.

A change to any of these objects (deletion, return, an edit) must show on the objects that reference
them within seconds, so the handlers index references and wake the dependents of whatever changed,
instead of listing every ModelDeployment on every event.
"""

from __future__ import annotations

from mlops_operator import naming
from mlops_operator.api.v1alpha1 import MLOpsPlatform, ModelDeployment
from mlops_operator.backends.base import ObjectKey
from mlops_operator.render.model_source import parse_model_uri


def watched_by_deployment(md: ModelDeployment) -> list[ObjectKey]:
    """The platform, the endpoint (its other members), code, model and drift profile ConfigMaps, keys and Secrets."""
    namespace = str(md.metadata.namespace)
    keys = [
        ObjectKey("MLOpsPlatform", None, md.spec.platform_ref.name),
        ObjectKey("Endpoint", namespace, md.spec.endpoint.name),
    ]
    source = parse_model_uri(md.spec.model.uri)
    if source.kind == "configmap":
        keys.append(ObjectKey("ConfigMap", namespace, source.config_map))
    if md.spec.code.config_map is not None:
        keys.append(ObjectKey("ConfigMap", namespace, md.spec.code.config_map.name))
    drift = md.spec.monitoring.drift
    if drift is not None:
        keys.append(ObjectKey("ConfigMap", namespace, drift.baseline.config_map_key_ref.name))
        key_ref = drift.actions.cloud_event.key_secret_ref if drift.actions.cloud_event else None
        if key_ref is not None:
            keys.append(ObjectKey("Secret", namespace, key_ref.name))
    if md.spec.endpoint.auth_mode == "key":
        keys.append(ObjectKey("Secret", namespace, naming.keys_secret_name(md.spec.endpoint.name)))
    keys += [ObjectKey("Secret", namespace, ref.name) for ref in md.spec.environment.image_pull_secrets]
    return keys


def watched_by_platform(platform: MLOpsPlatform) -> list[ObjectKey]:
    """The Gateway endpoint routes attach to. Without a namespace it is in each route's namespace: any."""
    gateway = platform.spec.native.gateway
    return [] if gateway is None else [ObjectKey("Gateway", gateway.namespace, gateway.name)]

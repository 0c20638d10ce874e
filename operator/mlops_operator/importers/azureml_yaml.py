"""Convert Azure ML online endpoint / deployment YAML (CLI v2 schema) into ModelDeployment resources.

Pure: dicts in, dicts and notes out. Field by field, following Azure ML's documented schemas
(`kubernetesOnlineDeployment`, `managedOnlineDeployment`, `onlineEndpoint`): snake_case becomes
camelCase, `azureml:name:version` references are split, and anything with no equivalent is reported as a
note rather than silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mlops_operator.api.v1alpha1 import API_VERSION
from mlops_operator.api.v1alpha1.deployment import RESERVED_ENVIRONMENT_VARIABLES

# AML deployment keys we translate, and those we knowingly leave out (with the reason shown to the user).
_DROPPED = {
    "$schema": None,
    "type": None,
    "description": None,
    "tags": "kept as annotations",
    "app_insights_enabled": "Application Insights is Azure ML's; use /metrics of the scoring server",
    "data_collector": "data collection is not supported",
    "egress_public_network_access": "network isolation is a cluster (NetworkPolicy) concern",
    "model_mount_path": "the model is mounted at AZUREML_MODEL_DIR",
    "with_deployment_config": None,
}
_REQUEST_SETTINGS = ("request_timeout_ms", "max_concurrent_requests_per_instance", "max_queue_wait_ms")
_PROBE = ("initial_delay", "period", "timeout", "success_threshold", "failure_threshold")
_SCALE = {"min_instances", "max_instances", "polling_interval", "target_utilization_percentage"}
_ASSET_REF = re.compile(r"^azureml:(?P<name>[^:@/]+)(?::(?P<version>[^:@]+)|@(?P<label>[\w.-]+))?$")


@dataclass
class Conversion:
    """The resources produced, and what the user should know about the conversion."""

    documents: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def dns_label(name: str) -> str:
    """Azure ML names allow capitals and underscores; Kubernetes names do not."""
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")


def parse_asset_ref(ref: str) -> tuple[str, str] | None:
    """`azureml:name:version` or `azureml:name@latest` -> (name, version-or-label)."""
    match = _ASSET_REF.match(ref.strip())
    if not match:
        return None
    return match["name"], match["version"] or match["label"] or "latest"


def _model(value: Any, notes: list[str]) -> dict[str, Any]:
    if isinstance(value, str):
        parsed = parse_asset_ref(value)
        if parsed:
            return {"name": parsed[0], "version": parsed[1]}
        if value.startswith("azureml://"):
            return {
                "name": value.rstrip("/").split("/")[-3] if "/models/" in value else "model",
                "version": value.rstrip("/").split("/")[-1],
                "uri": value,
            }
        notes.append(f"model: {value!r} is not an azureml: reference; set spec.model.uri by hand")
        return {"name": "model", "version": "1"}
    model = {"name": str(value.get("name", "model")), "version": str(value.get("version", "1"))}
    if "name" not in value:
        notes.append("model: inline model without a name is registered as 'model' version '1'; name it")
    path = value.get("path")
    if path and re.match(r"^[a-z]+://", str(path)):
        model["uri"] = str(path)
    elif path:
        model["uri"] = f"file://{path}"
        notes.append(
            f"model.path {path!r} is local: the azureml backend registers it; for the native backend "
            "publish it (https://, pvc:// or configmap://) and set spec.model.uri"
        )
    return model


def _environment(value: Any, notes: list[str]) -> dict[str, Any]:
    if isinstance(value, str):
        parsed = parse_asset_ref(value)
        if parsed:
            return {"name": parsed[0], "version": parsed[1]}
        notes.append(f"environment: {value!r} is not an azureml: reference; set spec.environment by hand")
        return {}
    env = {k: str(value[k]) for k in ("name", "version", "image") if value.get(k) is not None}
    if value.get("conda_file"):
        notes.append("environment.conda_file: build an image with these dependencies and set environment.image")
    return env


def _probe(value: dict[str, Any]) -> dict[str, Any]:
    return {camel(k): value[k] for k in _PROBE if k in value}


def _scale(value: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    kind = str(value.get("type", "default")).lower()
    if kind in ("default", "defaultscalesettings"):
        return {"type": "default"}
    out: dict[str, Any] = {"type": "targetUtilization"}
    out.update({camel(k): value[k] for k in _SCALE if k in value})
    unknown = set(value) - _SCALE - {"type"}
    if unknown:
        notes.append(f"scale_settings: {sorted(unknown)} have no equivalent and were left out")
    return out


def is_endpoint(document: dict[str, Any]) -> bool:
    """Endpoint YAML has auth_mode/traffic and no model; deployment YAML names its endpoint and model."""
    return "model" not in document and "endpoint_name" not in document


def _code(document: dict[str, Any], name: str, conversion: Conversion) -> dict[str, Any]:
    config = document.get("code_configuration") or {}
    script = str(config.get("scoring_script", "score.py"))
    code = config.get("code")
    if not code:
        return {"scoringScript": script}
    configmap = f"{name}-code"
    if str(code).startswith("azureml:"):
        conversion.notes.append(
            f"code_configuration.code {code!r} is a registered asset: put its files in ConfigMap {configmap}"
        )
    else:
        conversion.notes.append(f"code_configuration.code {code!r} becomes ConfigMap {configmap}")
    return {"scoringScript": script, "configMap": {"name": configmap}}


def _request_settings(document: dict[str, Any]) -> dict[str, Any]:
    settings = document.get("request_settings") or {}
    return {camel(k): settings[k] for k in _REQUEST_SETTINGS if k in settings}


def _spec(
    document: dict[str, Any], name: str, platform: str, endpoint: dict[str, Any], conversion: Conversion
) -> dict[str, Any]:
    notes = conversion.notes
    spec: dict[str, Any] = {
        "platformRef": {"name": platform},
        "endpoint": {
            "name": dns_label(str(document["endpoint_name"])),
            "authMode": str(endpoint.get("auth_mode", "key")).lower(),
        },
        "model": _model(document.get("model"), notes),
        "code": _code(document, name, conversion),
    }
    optional = {
        "environment": _environment(document["environment"], notes) if document.get("environment") else None,
        "instanceType": _instance_type(document, notes),
        "instanceCount": document.get("instance_count"),
        "traffic": (endpoint.get("traffic") or {}).get(document.get("name")),
        "mirrorTraffic": (endpoint.get("mirror_traffic") or {}).get(document.get("name")),
        "requestSettings": _request_settings(document) or None,
        "livenessProbe": _probe(document["liveness_probe"]) if document.get("liveness_probe") else None,
        "readinessProbe": _probe(document["readiness_probe"]) if document.get("readiness_probe") else None,
        "scaleSettings": _scale(document["scale_settings"], notes) if document.get("scale_settings") else None,
        "resources": _resources(document.get("resources"), notes),
        "environmentVariables": _environment_variables(document, spec["code"], notes) or None,
    }
    spec.update({k: v for k, v in optional.items() if v is not None})
    return spec


def _environment_variables(document: dict[str, Any], code: dict[str, Any], notes: list[str]) -> dict[str, str]:
    """Azure ML sets its own variables over the user's; ours are set by fields, and the CRD refuses them as
    variables. An entry script given as a variable (custom containers do) becomes code.scoringScript."""
    env = {str(k): str(v) for k, v in (document.get("environment_variables") or {}).items()}
    script = env.pop("AZUREML_ENTRY_SCRIPT", None)
    if script is not None and "scoring_script" not in (document.get("code_configuration") or {}):
        code["scoringScript"] = script
        notes.append(f"environment_variables.AZUREML_ENTRY_SCRIPT {script!r} became code.scoringScript")
    elif script is not None:
        notes.append("environment_variables.AZUREML_ENTRY_SCRIPT dropped: code_configuration.scoring_script wins")
    for name in sorted(set(env) & set(RESERVED_ENVIRONMENT_VARIABLES)):
        del env[name]
        notes.append(
            f"environment_variables.{name} dropped: the operator sets it from {RESERVED_ENVIRONMENT_VARIABLES[name]}"
        )
    return env


GPU = "nvidia.com/gpu"


def _resources(value: Any, notes: list[str]) -> dict[str, Any] | None:
    """Azure ML accepts a GPU count under `requests` alone and runs it as the limit (Kubernetes takes GPUs
    as limits, with the request equal to it); the CRD refuses GPUs in requests, so move them, with a note."""
    if not isinstance(value, dict):
        return None
    requests, limits = dict(value.get("requests") or {}), dict(value.get("limits") or {})
    gpus = requests.pop(GPU, None)
    if gpus is None:
        return value
    if GPU not in limits:
        limits[GPU] = gpus
        notes.append(
            f"resources: {GPU} {gpus} given under requests only; Azure ML runs it as the limit, so it moved to limits"
        )
    elif str(limits[GPU]) != str(gpus):
        notes.append(
            f"resources: {GPU} requests {gpus} and limits {limits[GPU]} differ; Kubernetes needs them equal, "
            f"kept the limit {limits[GPU]}"
        )
    else:
        notes.append(f"resources: {GPU} dropped from requests (Kubernetes sets the request from the limit)")
    converted = {key: part for key, part in (("requests", requests), ("limits", limits)) if part}
    return converted or None


def _instance_type(document: dict[str, Any], notes: list[str]) -> str | None:
    value = document.get("instance_type")
    if value is None:
        return None
    label = dns_label(str(value))
    if str(value).lower().startswith("standard_"):
        notes.append(
            f"instance_type {value!r} is a managed-endpoint VM size; use one of your platform's "
            f"instanceTypes instead of {label!r}"
        )
    return label


def convert_deployment(
    document: dict[str, Any],
    endpoint: dict[str, Any] | None,
    platform: str,
    namespace: str | None,
    conversion: Conversion,
) -> None:
    """Append the ModelDeployment for one Azure ML deployment document."""
    if "endpoint_name" not in document:
        raise ValueError("endpoint_name: required in an Azure ML deployment; add it")
    original = str(document.get("name", ""))
    if not original:
        raise ValueError("name: required in an Azure ML deployment; add it")
    name = dns_label(original)
    if name != original:
        conversion.notes.append(f"name {original!r} became {name!r} (Kubernetes names are lowercase)")
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    annotations = {f"mlops.dev/tag.{dns_label(str(k))}": str(v) for k, v in (document.get("tags") or {}).items()}
    if document.get("description"):
        annotations["mlops.dev/description"] = str(document["description"])
    if annotations:
        metadata["annotations"] = annotations
    for key in sorted(set(document) - _KNOWN):
        reason = _DROPPED.get(key, "not a known Azure ML deployment field")
        if reason:
            conversion.notes.append(f"{key}: left out ({reason})")
    conversion.documents.append(
        {
            "apiVersion": API_VERSION,
            "kind": "ModelDeployment",
            "metadata": metadata,
            "spec": _spec(document, name, platform, endpoint or {}, conversion),
        }
    )


_KNOWN = {
    "name",
    "endpoint_name",
    "model",
    "code_configuration",
    "environment",
    "instance_type",
    "instance_count",
    "request_settings",
    "liveness_probe",
    "readiness_probe",
    "scale_settings",
    "resources",
    "environment_variables",
    "$schema",
    "type",
    "description",
    "tags",
}


def convert(documents: list[dict[str, Any]], platform: str, namespace: str | None) -> Conversion:
    """Convert endpoint and deployment documents together (traffic comes from the endpoint)."""
    conversion = Conversion()
    endpoints = {dns_label(str(d.get("name", ""))): d for d in documents if is_endpoint(d)}
    for document in documents:
        if is_endpoint(document):
            continue
        endpoint = endpoints.get(dns_label(str(document.get("endpoint_name", ""))))
        if endpoint is None and document.get("endpoint_name"):
            conversion.notes.append(f"no endpoint YAML for {document['endpoint_name']!r}: traffic defaults to 0")
        convert_deployment(document, endpoint, platform, namespace, conversion)
    for name, endpoint in endpoints.items():
        if str(endpoint.get("auth_mode", "key")).lower() == "aad_token":
            conversion.notes.append(f"endpoint {name}: aad_token is not supported on Kubernetes; use key")
        compute = endpoint.get("compute")
        if compute:
            conversion.notes.append(f"endpoint {name}: compute {compute!r} is set by the platform's azure.computeName")
    return conversion

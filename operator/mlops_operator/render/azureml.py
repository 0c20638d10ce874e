"""Pure renderers for the Azure ML backend: InstanceType objects, extension settings, node pools, deployments.

No I/O and no Azure SDK here: the shapes are plain dicts in ARM's camelCase, so golden tests can pin them and
the backend can compare them with what ARM returns before deciding to write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mlops_operator import naming
from mlops_operator.api.v1alpha1 import InstanceType, MLOpsPlatform, ModelDeployment
from mlops_operator.api.v1alpha1.platform import ExtensionSettings, NodePoolSettings
from mlops_operator.render.placement import placement

INSTANCE_TYPE_API_VERSION = "amlarc.azureml.com/v1alpha1"
EXTENSION_TYPE = "Microsoft.AzureML.Kubernetes"
LABEL_PLATFORM = f"{naming.GROUP}/platform"
HA_MIN_NODES = 3
_ROUTER_TYPES = {"LoadBalancer": "loadBalancer", "NodePort": "nodePort", "ClusterIP": "clusterIP"}


def instance_type_labels(platform_name: str) -> dict[str, str]:
    return {naming.LABEL_MANAGED_BY: naming.MANAGED_BY, LABEL_PLATFORM: platform_name}


def render_instance_type(instance_type: InstanceType, platform: MLOpsPlatform) -> dict[str, Any]:
    """An `amlarc.azureml.com/v1alpha1` InstanceType (cluster-scoped), owned by the platform.

    GPU instance types get the platform's GPU scheduling, and land on `azure.nodePool` when it is NVIDIA's.
    """
    resources = instance_type.resources
    spec: dict[str, Any] = {
        "resources": {
            "requests": resources.requests.as_dict() if resources.requests else {},
            "limits": resources.limits.as_dict() if resources.limits else {},
        }
    }
    pool = platform.spec.azure.node_pool if platform.spec.azure else None
    where = placement(instance_type, platform.spec.gpu, pool)
    if where.node_selector:
        spec["nodeSelector"] = dict(sorted(where.node_selector.items()))
    if where.tolerations:
        spec["tolerations"] = where.tolerations_wire()
    metadata: dict[str, Any] = {
        "name": instance_type.name,
        "labels": instance_type_labels(str(platform.metadata.name)),
    }
    if platform.metadata.uid:
        metadata["ownerReferences"] = [
            {
                "apiVersion": platform.api_version,
                "kind": platform.kind,
                "name": platform.metadata.name,
                "uid": platform.metadata.uid,
                "blockOwnerDeletion": False,
            }
        ]
    return {"apiVersion": INSTANCE_TYPE_API_VERSION, "kind": "InstanceType", "metadata": metadata, "spec": spec}


@dataclass(frozen=True)
class ExtensionPlan:
    """The extension's configuration settings, derived the way `az k8s-extension create` derives them."""

    settings: dict[str, str]
    notes: list[str] = field(default_factory=list)


def _flag(value: bool) -> str:
    return "True" if value else "False"


def extension_settings(ext: ExtensionSettings, node_count: int, ssl_secret: str | None) -> ExtensionPlan:
    """Settings for the AzureML extension; `ssl_secret` is the TLS Secret's name in the extension namespace."""
    notes: list[str] = []
    settings = {"enableInference": _flag(ext.enable_inference)}
    if not ext.enable_inference:
        settings["enableTraining"] = "True"  # the extension refuses to install with neither
        return ExtensionPlan(settings, ["inference disabled: installed for training only"])
    settings["inferenceRouterServiceType"] = _ROUTER_TYPES[ext.inference_router_service_type or "LoadBalancer"]
    settings["allowInsecureConnections"] = _flag(ext.allow_insecure_connections)
    ha = ext.inference_router_ha and node_count >= HA_MIN_NODES
    if ext.inference_router_ha and not ha:
        notes.append(f"inferenceRouterHA turned off: it needs {HA_MIN_NODES}+ nodes and the cluster has {node_count}")
    settings["inferenceRouterHA"] = _flag(ha)
    if ext.internal_load_balancer_provider:
        settings["internalLoadBalancerProvider"] = ext.internal_load_balancer_provider
    if ssl_secret and not ext.allow_insecure_connections:
        settings["sslSecret"] = ssl_secret
        if ext.ssl_cname:
            settings["sslCname"] = ext.ssl_cname
    return ExtensionPlan(settings, notes)


def render_agent_pool(pool: NodePoolSettings, platform_name: str) -> dict[str, Any]:
    """AgentPool properties (ARM camelCase) of the ML user node pool; tags mark it as the operator's."""
    return {
        "mode": "User",
        "vmSize": pool.vm_size,
        "osType": "Linux",
        "type": "VirtualMachineScaleSets",
        "enableAutoScaling": True,
        "minCount": pool.min_count,
        "maxCount": pool.max_count,
        "count": max(pool.min_count, 1) if pool.max_count >= 1 else 0,
        "nodeTaints": list(pool.taints),
        "nodeLabels": dict(sorted(pool.labels.items())),
        "tags": {LABEL_PLATFORM: platform_name},
    }


def agent_pool_drift(desired: dict[str, Any], live: dict[str, Any]) -> list[str]:
    """Fields of the pool to change; `count` is the autoscaler's business once the pool exists."""
    drift = []
    for key in ("mode", "vmSize", "enableAutoScaling", "minCount", "maxCount"):
        if desired[key] != live.get(key):
            drift.append(key)
    if sorted(desired["nodeTaints"]) != sorted(live.get("nodeTaints") or []):
        drift.append("nodeTaints")
    if desired["nodeLabels"] != (live.get("nodeLabels") or {}):
        drift.append("nodeLabels")
    return drift


def settings_drift(desired: dict[str, str], live: dict[str, str] | None) -> list[str]:
    """Extension settings whose live value differs (case-insensitively, as the extension reads them)."""
    live = {k: str(v) for k, v in (live or {}).items()}
    return sorted(k for k, v in desired.items() if live.get(k, "").lower() != v.lower())


def desired_traffic(md_traffic: dict[str, int]) -> dict[str, int]:
    """Traffic as ARM stores it: lowercase names, zero entries dropped."""
    return {name.lower(): pct for name, pct in sorted(md_traffic.items()) if pct}


def traffic_problem(traffic: dict[str, int]) -> str | None:
    total = sum(traffic.values())
    if total in (0, 100):
        return None
    parts = ", ".join(f"{k}={v}" for k, v in sorted(traffic.items()))
    return f"traffic of the endpoint's deployments sums to {total} ({parts}); Azure ML needs 0 or 100"


def redistribute(traffic: dict[str, int], leaving: str) -> dict[str, int]:
    """Traffic after `leaving` goes: its share moves to the others in proportion (largest remainder)."""
    rest = {k: v for k, v in traffic.items() if k != leaving and v}
    total = sum(rest.values())
    if not rest or total in (0, 100):
        return rest
    scaled = {k: v * 100 / total for k, v in rest.items()}
    result = {k: int(v) for k, v in scaled.items()}
    short = 100 - sum(result.values())
    for k in sorted(scaled, key=lambda k: (result[k] - scaled[k], k))[:short]:
        result[k] += 1
    return result


def iso_seconds(seconds: float) -> str:
    """ISO-8601 duration, as Azure ML stores timeouts and probe periods."""
    if seconds == int(seconds):
        return f"PT{int(seconds)}S"
    return f"PT{seconds:g}S"


def render_deployment_shape(md: ModelDeployment, model_id: str, environment_id: str) -> dict[str, Any]:
    """The online deployment's settings we own, in ARM's shape; what ARM returns is compared with this."""
    spec = md.spec
    scale = spec.scale_settings
    shape: dict[str, Any] = {
        "model": model_id,
        "environmentId": environment_id,
        "instanceType": spec.instance_type,
        "capacity": spec.instance_count if scale.type == "default" else max(1, scale.min_instances),
        "requestSettings": {
            "requestTimeout": iso_seconds(spec.request_settings.request_timeout_ms / 1000),
            "maxConcurrentRequestsPerInstance": spec.request_settings.max_concurrent_requests_per_instance,
            "maxQueueWait": iso_seconds(spec.request_settings.max_queue_wait_ms / 1000),
        },
        "livenessProbe": probe_shape(spec.liveness_probe),
        "readinessProbe": probe_shape(spec.readiness_probe),
        "scaleSettings": scale_shape(spec.scale_settings),
        "environmentVariables": dict(sorted(spec.environment_variables.items())),
    }
    if spec.resources is not None:
        shape["resources"] = {
            "requests": spec.resources.requests.as_dict() if spec.resources.requests else {},
            "limits": spec.resources.limits.as_dict() if spec.resources.limits else {},
        }
    return shape


def probe_shape(probe: Any) -> dict[str, Any]:
    """A probe in ARM's shape, from our spec or from what ARM returned (whose unset durations are None)."""
    return {
        "initialDelay": iso_seconds(probe.initial_delay or 0),
        "period": iso_seconds(probe.period or 0),
        "timeout": iso_seconds(probe.timeout or 0),
        "successThreshold": probe.success_threshold,
        "failureThreshold": probe.failure_threshold,
    }


def scale_shape(scale: Any) -> dict[str, Any]:
    """Scale settings in ARM's shape, from our spec or from what ARM returned (None meaning default)."""
    if scale is None or str(getattr(scale, "type", "default")).lower() == "default":
        return {"scaleType": "Default"}
    return {
        "scaleType": "TargetUtilization",
        "minInstances": scale.min_instances,
        "maxInstances": scale.max_instances,
        "targetUtilizationPercentage": scale.target_utilization_percentage,
        "pollingInterval": iso_seconds(scale.polling_interval or 0),
    }


def shape_drift(desired: dict[str, Any], live: dict[str, Any]) -> list[str]:
    """Top-level settings whose live value differs; ids compare case-insensitively, as ARM ids do.

    azure-ai-ml reads request durations back in whole seconds, so they are compared at that precision.
    """
    drift = []
    for key, want in desired.items():
        have = live.get(key)
        if key in ("model", "environmentId"):
            if str(want).lower() != str(have or "").lower():
                drift.append(key)
        elif key == "requestSettings":
            if _whole_seconds(want) != _whole_seconds(have or {}):
                drift.append(key)
        elif want != have:
            drift.append(key)
    return drift


def _whole_seconds(settings: dict[str, Any]) -> dict[str, Any]:
    def floor(value: Any) -> Any:
        match = re.fullmatch(r"PT([0-9.]+)S", str(value))
        return f"PT{int(float(match.group(1)))}S" if match else value

    return {k: floor(v) if k in ("requestTimeout", "maxQueueWait") else v for k, v in settings.items()}

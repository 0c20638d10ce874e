"""A ModelDeployment on Azure ML: model and environment versions, then the Kubernetes online deployment.

The deployment is compared with what ARM returns (model, environment, instance type and count, request
settings, probes, scaling, resources, environment variables) and PUT only on a difference. A deployment
that ARM reports Failed is not re-sent until its spec changes; its ARM error and the tail of its logs
are shown on the ModelDeployment instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from azure.ai.ml.entities import (
    DefaultScaleSettings,
    Environment,
    KubernetesOnlineDeployment,
    Model,
    OnlineRequestSettings,
    ProbeSettings,
    ResourceRequirementsSettings,
    ResourceSettings,
    TargetUtilizationScaleSettings,
)

from mlops_operator import naming
from mlops_operator.api.v1alpha1 import ModelDeployment
from mlops_operator.backends.azureml.assets import RegisteredAssets
from mlops_operator.backends.azureml.clients import AzureClients
from mlops_operator.backends.azureml.operations import (
    Ledger,
    azure_errors,
    get_or_none,
    operation_error,
    state_name,
    state_of,
)
from mlops_operator.backends.azureml.steps import StepResult, failed, ready, waiting
from mlops_operator.backends.azureml.writes import begin_deployment_put
from mlops_operator.conditions import ConditionType, Reason
from mlops_operator.render.azureml import iso_seconds, probe_shape, render_deployment_shape, scale_shape, shape_drift

REGISTERABLE = ("azureml://", "https://", "file://")


def asset_id(workspace_id: str, kind: str, name: str, version: str) -> str:
    return f"{workspace_id}/{kind}/{name}/versions/{version}"


def environment_ref(md: ModelDeployment) -> tuple[str, str] | None:
    """(name, version) of the Azure ML environment; an image alone gets a name derived from it."""
    env = md.spec.environment
    if env.name and env.version:
        return env.name, env.version
    if env.image:
        return f"mlops-{naming.short_hash(env.image)}", "1"
    return None


class DeploymentSteps:
    """Model, environment and online deployment of one ModelDeployment, for one pass."""

    def __init__(
        self,
        clients: AzureClients,
        ml: Any,
        md: ModelDeployment,
        workspace_id: str,
        ledger: Ledger,
        poll: float,
        assets: RegisteredAssets | None = None,
    ) -> None:
        self.clients, self.ml, self.md, self.ledger, self.poll = clients, ml, md, ledger, poll
        self.workspace_id = workspace_id
        self.assets = assets or RegisteredAssets()
        self.name, self.endpoint = str(md.metadata.name), md.spec.endpoint.name
        self.log_lines = 20

    def model(self) -> StepResult:
        spec = self.md.spec.model
        message = self._ensure_model(spec.name, spec.version, spec.uri)
        if isinstance(message, StepResult):
            return message
        env = self._ensure_environment()
        if isinstance(env, StepResult):
            return env
        return ready(ConditionType.MODEL_READY, Reason.MODEL_REGISTERED, f"{message}; environment {env}")

    def _ensure_model(self, name: str, version: str, uri: str | None) -> str | StepResult:
        model_id = asset_id(self.workspace_id, "models", name, version)
        if self.assets.known(model_id) or get_or_none(self.ml.models.get, name, version) is not None:
            self.assets.remember(model_id)
            return f"model {name}:{version} registered"
        if uri is None:
            return failed(
                ConditionType.MODEL_READY,
                Reason.MODEL_NOT_FOUND,
                f"model {name}:{version} is not registered in the workspace; register it or set spec.model.uri",
            )
        if not uri.startswith(REGISTERABLE):
            return failed(
                ConditionType.MODEL_READY,
                Reason.MODEL_SOURCE_UNSUPPORTED,
                f"spec.model.uri {uri!r}: the azureml backend registers azureml://, https:// and file:// (local path)",
            )
        path = uri.removeprefix("file://")  # a local path is uploaded through the workspace's default datastore
        with azure_errors():
            self.ml.models.create_or_update(Model(name=name, version=version, path=path, type="custom_model"))
        self.assets.remember(model_id)
        return f"model {name}:{version} registered from {uri}"

    def _ensure_environment(self) -> str | StepResult:
        ref = environment_ref(self.md)
        if ref is None:
            return failed(
                ConditionType.MODEL_READY,
                Reason.INVALID_SPEC,
                "spec.environment needs image, or name and version, on azureml",
            )
        name, version = ref
        env_id = asset_id(self.workspace_id, "environments", name, version)
        if not self.assets.known(env_id) and get_or_none(self.ml.environments.get, name, version) is None:
            image = self.md.spec.environment.image
            if not image:
                return failed(
                    ConditionType.MODEL_READY,
                    Reason.ENVIRONMENT_NOT_FOUND,
                    f"environment {name}:{version} is not registered; register it or set spec.environment.image",
                )
            with azure_errors():
                self.ml.environments.create_or_update(Environment(name=name, version=version, image=image))
        self.assets.remember(env_id)
        return f"{name}:{version}"

    def desired_shape(self, instance_type: str) -> dict[str, Any]:
        spec = self.md.spec
        env = environment_ref(self.md) or ("", "")
        model_id = asset_id(self.workspace_id, "models", spec.model.name, spec.model.version)
        shape = render_deployment_shape(self.md, model_id, asset_id(self.workspace_id, "environments", *env))
        shape["instanceType"] = instance_type
        return shape

    def deployment(self, instance_type: str, location: Callable[[], str]) -> StepResult:
        """`location()`: the region to create the deployment in (its endpoint's), asked only to write."""
        desired = self.desired_shape(instance_type)
        live = get_or_none(self.ml.online_deployments.get, self.name, self.endpoint)
        state = state_of(live.provisioning_state) if live is not None else "absent"
        status = {"provisioningState": state_name(getattr(live, "provisioning_state", None))}
        if state == "in-progress":
            return waiting(
                ConditionType.DEPLOYMENT_READY,
                f"deployment {self.name} is {state_name(live.provisioning_state)}",
                self.poll,
            )
        drift = shape_drift(desired, shape_of(live)) if live is not None else ["all"]
        if drift and (state != "failed" or self._spec_changed_since_failure()):
            entity = self.entity(desired)
            generation = str(self.md.metadata.generation)
            self.ledger.begin("deployment", lambda: begin_deployment_put(self.ml, entity, location()), generation)
            verb = "creating" if live is None else f"updating {', '.join(drift)} of"
            return waiting(ConditionType.DEPLOYMENT_READY, f"{verb} deployment {self.name}", self.poll)
        if state == "failed":
            result = failed(ConditionType.DEPLOYMENT_READY, Reason.DEPLOYMENT_FAILED, self._failure())
            result.status = status
            return result
        self.ledger.finish("deployment")
        return ready(
            ConditionType.DEPLOYMENT_READY, Reason.DEPLOYMENT_AVAILABLE, f"deployment {self.name} Succeeded", **status
        )

    def _spec_changed_since_failure(self) -> bool:
        return self.ledger.tag("deployment") != str(self.md.metadata.generation)

    def _failure(self) -> str:
        error = operation_error(self.clients, self.ledger.url("deployment"))
        head = f"ARM {error[0]}: {error[1]}" if error else f"deployment {self.name} is in state Failed"
        try:
            with azure_errors():
                logs = self.ml.online_deployments.get_logs(self.name, self.endpoint, lines=self.log_lines)
        except Exception:  # logs are a courtesy; the ARM error is the point
            logs = ""
        tail = "\n".join(str(logs).splitlines()[-self.log_lines :])
        return f"{head}\nlast log lines:\n{tail}"[:4000] if tail else head

    def entity(self, desired: dict[str, Any]) -> Any:
        """The deployment to send, its model and environment as the ARM ids `desired` has (what the public
        call would resolve `azureml:<name>:<version>` to, and what ARM reads back)."""
        spec = self.md.spec
        resources = None
        if spec.resources is not None:
            resources = ResourceRequirementsSettings(
                requests=_resource_settings(desired["resources"]["requests"]),
                limits=_resource_settings(desired["resources"]["limits"]),
            )
        return KubernetesOnlineDeployment(
            name=self.name,
            endpoint_name=self.endpoint,
            model=desired["model"],
            environment=desired["environmentId"],
            instance_type=desired["instanceType"],
            instance_count=desired["capacity"],
            request_settings=OnlineRequestSettings(
                request_timeout_ms=spec.request_settings.request_timeout_ms,
                max_concurrent_requests_per_instance=spec.request_settings.max_concurrent_requests_per_instance,
                max_queue_wait_ms=spec.request_settings.max_queue_wait_ms,
            ),
            liveness_probe=ProbeSettings(**_probe_kwargs(spec.liveness_probe)),
            readiness_probe=ProbeSettings(**_probe_kwargs(spec.readiness_probe)),
            scale_settings=_scale_entity(self.md),
            resources=resources,
            environment_variables=dict(spec.environment_variables),
            tags={naming.LABEL_MANAGED_BY: naming.MANAGED_BY},
        )


def _resource_settings(amounts: dict[str, str]) -> ResourceSettings:
    return ResourceSettings(cpu=amounts.get("cpu"), memory=amounts.get("memory"), gpu=amounts.get("nvidia.com/gpu"))


def _probe_kwargs(probe: Any) -> dict[str, int]:
    return {
        "initial_delay": probe.initial_delay,
        "period": probe.period,
        "timeout": probe.timeout,
        "success_threshold": probe.success_threshold,
        "failure_threshold": probe.failure_threshold,
    }


def _scale_entity(md: ModelDeployment) -> Any:
    scale = md.spec.scale_settings
    if scale.type == "default":
        return DefaultScaleSettings()
    return TargetUtilizationScaleSettings(
        min_instances=scale.min_instances,
        max_instances=scale.max_instances,
        polling_interval=scale.polling_interval,
        target_utilization_percentage=scale.target_utilization_percentage,
    )


def shape_of(live: Any) -> dict[str, Any]:
    """What ARM holds for a deployment, in the same shape as `render_deployment_shape`."""
    request = live.request_settings
    shape: dict[str, Any] = {
        "model": live.model if isinstance(live.model, str) else getattr(live.model, "id", None),
        "environmentId": live.environment
        if isinstance(live.environment, str)
        else getattr(live.environment, "id", None),
        "instanceType": live.instance_type,
        "capacity": live.instance_count,
        "requestSettings": {
            "requestTimeout": _ms(getattr(request, "request_timeout_ms", None)),
            "maxConcurrentRequestsPerInstance": getattr(request, "max_concurrent_requests_per_instance", None),
            "maxQueueWait": _ms(getattr(request, "max_queue_wait_ms", None)),
        },
        "livenessProbe": _live_probe(live.liveness_probe),
        "readinessProbe": _live_probe(live.readiness_probe),
        "scaleSettings": scale_shape(live.scale_settings),
        "environmentVariables": dict(sorted((live.environment_variables or {}).items())),
    }
    resources = getattr(live, "resources", None)
    if resources is not None and (resources.requests or resources.limits):
        shape["resources"] = {"requests": _amounts(resources.requests), "limits": _amounts(resources.limits)}
    return shape


def _ms(value: int | None) -> str | None:
    return None if value is None else iso_seconds(value / 1000)


def _live_probe(probe: Any) -> dict[str, Any] | None:
    return None if probe is None else probe_shape(probe)


def _amounts(settings: Any) -> dict[str, str]:
    if settings is None:
        return {}
    pairs = (("cpu", settings.cpu), ("memory", settings.memory), ("nvidia.com/gpu", settings.gpu))
    return {k: str(v) for k, v in pairs if v is not None}

"""The native backend: ModelDeployments become Deployments, Services, PDBs, HPAs and endpoint routes."""

from __future__ import annotations

from typing import Any

from mlops_operator import naming
from mlops_operator.api.v1alpha1 import MLOpsPlatform, ModelDeployment
from mlops_operator.backends.base import Outcome, RetryableError
from mlops_operator.backends.native.apply import apply_if_changed, delete_if_present
from mlops_operator.backends.native.endpoint import (
    EndpointReconciler,
    EndpointState,
    endpoint_members,
    nudge_members,
    revision,
)
from mlops_operator.backends.native.observe import replicas_of, rollout_complete, workload_verdicts
from mlops_operator.backends.resolve import blocked, blocked_outcome, resolve_instance_type
from mlops_operator.conditions import Reason, Verdict
from mlops_operator.config import OperatorSettings
from mlops_operator.kube import Kube, KubeError
from mlops_operator.render.model_source import parse_model_uri
from mlops_operator.render.workload import WorkloadInputs, render_deployment, render_hpa, render_pdb, render_service

_OPTIONAL_CHILDREN = (
    ("policy/v1", "PodDisruptionBudget", render_pdb),
    ("autoscaling/v2", "HorizontalPodAutoscaler", render_hpa),
)


class NativeBackend:
    """Serves models with our own scoring server; needs nothing but Kubernetes (Gateway API optional)."""

    def __init__(self, kube: Kube, settings: OperatorSettings) -> None:
        self._kube = kube
        self._settings = settings
        self._endpoints = EndpointReconciler(kube)

    def reconcile_platform(self, platform: MLOpsPlatform) -> Outcome:
        names = [it.name for it in platform.spec.instance_types]
        message = f"offers {', '.join(names)}" if names else "offers no instance types yet; add spec.instanceTypes"
        verdict = Verdict(
            "InstanceTypesReady",
            "True" if names else "False",
            Reason.INSTANCE_TYPES_VALID if names else Reason.INSTANCE_TYPE_NOT_FOUND,
            message,
            "Warning",
        )
        return Outcome([verdict], status={"instanceTypes": names})

    def reconcile_deployment(self, md: ModelDeployment, platform: MLOpsPlatform) -> Outcome:
        try:
            return self._reconcile(md, platform)
        except KubeError as exc:
            if exc.status in (409, 429) or exc.status >= 500:
                raise RetryableError(f"Kubernetes API: {exc}", delay=5, reason=Reason.KUBERNETES_API_ERROR) from exc
            raise

    def _reconcile(self, md: ModelDeployment, platform: MLOpsPlatform) -> Outcome:
        namespace = str(md.metadata.namespace)
        if md.spec.endpoint.auth_mode != "key":
            return blocked_outcome(
                blocked(
                    Reason.FEATURE_UNSUPPORTED,
                    f"spec.endpoint.authMode {md.spec.endpoint.auth_mode!r} is not supported by the native "
                    "backend; use key",
                )
            )
        model = self._model_verdict(md, namespace)
        if model.status == "False" and model.severity == "Error":
            return blocked_outcome(model)
        self._apply_workload(md, platform)
        state = self.reconcile_endpoint(md, platform)
        deployment = self._kube.get("apps/v1", "Deployment", naming.deployment_name(str(md.metadata.name)), namespace)
        pods = self._kube.list("v1", "Pod", namespace, f"{naming.LABEL_DEPLOYMENT}={md.metadata.name}")
        workload = workload_verdicts(deployment, pods)
        model = self._model_after_rollout(model, deployment)
        complete = rollout_complete(deployment)
        return Outcome(
            [model, *workload[:1], state.verdict, *workload[1:]],
            status=self._status_fields(md, state, deployment),
            requeue_after=None if complete else self._settings.progress_requeue_seconds,
        )

    def _apply_workload(self, md: ModelDeployment, platform: MLOpsPlatform) -> None:
        instance_type = resolve_instance_type(md, platform)
        assert not isinstance(instance_type, Verdict)  # reconcile.py resolved it before calling us
        image = platform.spec.native.scoring_image or self._settings.scoring_image
        inputs = WorkloadInputs(
            instance_type=instance_type,
            image=image,
            fetcher_image=platform.spec.native.model_fetcher_image or image,
            scoring_uid=self._settings.scoring_uid,
            progress_deadline_seconds=self._settings.progress_deadline_seconds,
        )
        apply_if_changed(self._kube, render_deployment(md, inputs))
        apply_if_changed(self._kube, render_service(md))
        name, namespace = str(md.metadata.name), str(md.metadata.namespace)
        for api_version, kind, render in _OPTIONAL_CHILDREN:
            desired = render(md)
            if desired is None:
                delete_if_present(self._kube, api_version, kind, name, namespace)
            else:
                apply_if_changed(self._kube, desired)

    def reconcile_endpoint(
        self, md: ModelDeployment, platform: MLOpsPlatform | None, leaving: bool = False
    ) -> EndpointState:
        """Apply the endpoint's shared objects and nudge the other members so their status follows."""
        namespace, name = str(md.metadata.namespace), str(md.metadata.name)
        endpoint = endpoint_members(self._kube, namespace, md.spec.endpoint.name, without=name if leaving else None)
        gateway = platform.spec.native.gateway if platform else None
        state = self._endpoints.reconcile(endpoint, gateway, with_keys=md.spec.endpoint.auth_mode == "key")
        nudge_members(self._kube, endpoint, skip=name, current=revision(endpoint))
        return state

    def finalize_deployment(self, md: ModelDeployment, platform: MLOpsPlatform | None) -> None:
        """Before a deployment goes: re-route its endpoint without it (its own children are GC'd)."""
        self.reconcile_endpoint(md, platform, leaving=True)

    def finalize_platform(self, platform: MLOpsPlatform) -> None:
        """Nothing outside Kubernetes to release: children are garbage-collected."""

    def _model_verdict(self, md: ModelDeployment, namespace: str) -> Verdict:
        source = parse_model_uri(md.spec.model.uri)
        if source.kind == "missing":
            return _model_problem(
                Reason.MODEL_SOURCE_MISSING,
                "spec.model.uri is required by the native backend; use https://, pvc:// or configmap://",
            )
        if source.kind == "unsupported":
            return _model_problem(
                Reason.MODEL_SOURCE_UNSUPPORTED,
                f"spec.model.uri {source.uri!r} needs the azureml backend; "
                "the native backend reads https://, pvc:// and configmap://",
            )
        missing = self._missing_reference(md, source.kind, source.claim or source.config_map, namespace)
        if missing:
            return _model_problem(Reason.MODEL_SOURCE_MISSING, missing)
        return Verdict("ModelReady", "False", Reason.MODEL_FETCHING, f"waiting for pods to load {source.uri}", "Info")

    def _missing_reference(self, md: ModelDeployment, kind: str, name: str, namespace: str) -> str | None:
        if kind == "configmap" and self._kube.get("v1", "ConfigMap", name, namespace) is None:
            return f"ConfigMap {name} named by spec.model.uri does not exist in {namespace}; create it"
        if kind == "pvc" and self._kube.get("v1", "PersistentVolumeClaim", name, namespace) is None:
            return f"PersistentVolumeClaim {name} named by spec.model.uri does not exist in {namespace}; create it"
        code = md.spec.code.config_map
        if code and self._kube.get("v1", "ConfigMap", code.name, namespace) is None:
            return f"ConfigMap {code.name} named by spec.code.configMap does not exist in {namespace}; create it"
        return None

    @staticmethod
    def _model_after_rollout(model: Verdict, deployment: dict[str, Any] | None) -> Verdict:
        if replicas_of(deployment).ready > 0:
            return Verdict(
                "ModelReady",
                "True",
                Reason.MODEL_AVAILABLE,
                model.message.replace("waiting for pods to load", "loaded from"),
            )
        return model

    def _status_fields(
        self, md: ModelDeployment, state: EndpointState, deployment: dict[str, Any] | None
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "scoringUri": state.scoring_uri,
            "swaggerUri": state.scoring_uri.removesuffix("/score") + "/swagger.json",
            "traffic": state.endpoint.traffic,
            "mirrorTraffic": state.endpoint.mirror_traffic,
            "replicas": replicas_of(deployment).to_wire(),
            "keysSecretRef": (
                {"name": naming.keys_secret_name(md.spec.endpoint.name)}
                if md.spec.endpoint.auth_mode == "key"
                else None
            ),
        }
        return fields


def _model_problem(reason: str, message: str) -> Verdict:
    return blocked(reason, message, "ModelReady")

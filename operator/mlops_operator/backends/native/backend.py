"""The native backend: ModelDeployments become Deployments, Services, PDBs, HPAs and endpoint routes."""

from __future__ import annotations

from typing import Any

from mlops_operator import naming
from mlops_operator.api.v1alpha1 import MLOpsPlatform, MLOpsPlatformStatus, ModelDeployment, ModelDeploymentStatus
from mlops_operator.backends.base import Outcome, RetryableError
from mlops_operator.backends.native.autoscaling import AutoscalingReconciler
from mlops_operator.backends.native.endpoint import EndpointReconciler, EndpointState, in_cluster_scoring_uri
from mlops_operator.backends.native.observe import replicas_of, rollout_complete, workload_verdicts
from mlops_operator.backends.native.references import read_references
from mlops_operator.backends.resolve import blocked, resolve_instance_type
from mlops_operator.backends.shared.apply import apply_if_changed, delete_if_present
from mlops_operator.backends.shared.endpoint import endpoint_members, siblings_to_wake
from mlops_operator.conditions import ConditionType, Reason, Verdict
from mlops_operator.config import OperatorSettings
from mlops_operator.kube import Kube, KubeError
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
        self._autoscaling = AutoscalingReconciler(kube, settings.prometheus_url)

    def reconcile_platform(self, platform: MLOpsPlatform) -> Outcome:
        names = [it.name for it in platform.spec.instance_types]
        message = f"offers {', '.join(names)}" if names else "offers no instance types yet; add spec.instanceTypes"
        verdict = Verdict(
            ConditionType.INSTANCE_TYPES_READY,
            "True" if names else "False",
            Reason.INSTANCE_TYPES_VALID if names else Reason.INSTANCE_TYPE_NOT_FOUND,
            message,
            "Warning",
        )
        return Outcome([verdict], status=MLOpsPlatformStatus(instance_types=names))

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
            message = (
                f"spec.endpoint.authMode {md.spec.endpoint.auth_mode!r} is not supported by the native backend; use key"
            )
            return Outcome([blocked(Reason.FEATURE_UNSUPPORTED, message)])
        references = read_references(self._kube, md)
        if references.verdict.severity == "Error":
            return Outcome([references.verdict])
        deployment: dict[str, Any] | None = self._apply_workload(md, platform, references.revision)
        scaling = self._autoscaling.reconcile(md)
        state = self.reconcile_endpoint(md, platform)
        pods = self._kube.list("v1", "Pod", namespace, f"{naming.LABEL_DEPLOYMENT}={md.metadata.name}")
        workload = workload_verdicts(deployment, pods)
        complete = rollout_complete(deployment)
        recorded = (md.status.traffic, md.status.mirror_traffic) if md.status else None
        in_force = (state.endpoint.traffic, state.endpoint.mirror_traffic)
        return Outcome(
            [
                _model_after_rollout(references.verdict, deployment),
                state.entry,
                *([scaling] if scaling else workload[:1]),
                state.verdict,
                *workload[1:],
            ],
            status=self._status_fields(md, state, deployment, complete),
            requeue_after=None if complete else self._settings.progress_requeue_seconds,
            wake=siblings_to_wake(state.endpoint, str(md.metadata.name), recorded, in_force),
        )

    def _apply_workload(self, md: ModelDeployment, platform: MLOpsPlatform, revision: str) -> dict[str, Any]:
        """Apply the deployment's own children; the live Deployment as the API server just returned it."""
        instance_type = resolve_instance_type(md, platform)
        assert not isinstance(instance_type, Verdict)  # reconcile.py resolved it before calling us
        image = platform.spec.native.scoring_image or self._settings.scoring_image
        inputs = WorkloadInputs(
            instance_type=instance_type,
            image=image,
            fetcher_image=platform.spec.native.model_fetcher_image or image,
            scoring_uid=self._settings.scoring_uid,
            progress_deadline_seconds=self._settings.progress_deadline_seconds,
            content_revision=revision,
            gpu=platform.spec.gpu,
        )
        deployment, _ = apply_if_changed(self._kube, render_deployment(md, inputs))
        apply_if_changed(self._kube, render_service(md))
        name, namespace = str(md.metadata.name), str(md.metadata.namespace)
        for api_version, kind, render in _OPTIONAL_CHILDREN:
            desired = render(md)
            if desired is None:
                delete_if_present(self._kube, api_version, kind, name, namespace)
            else:
                apply_if_changed(self._kube, desired)
        return deployment

    def reconcile_endpoint(
        self, md: ModelDeployment, platform: MLOpsPlatform | None, leaving: bool = False
    ) -> EndpointState:
        """Apply the endpoint's shared objects, rendered from all of its members."""
        namespace, name = str(md.metadata.namespace), str(md.metadata.name)
        endpoint = endpoint_members(
            self._kube, namespace, md.spec.endpoint.name, without=name if leaving else None, me=None if leaving else md
        )
        gateway = platform.spec.native.gateway if platform else None
        keys = md.spec.endpoint.auth_mode == "key"
        return self._endpoints.reconcile(endpoint, gateway, with_keys=keys, draining=leaving)

    def finalize_deployment(self, md: ModelDeployment, platform: MLOpsPlatform | None) -> None:
        """Before a deployment goes: re-route its endpoint without it (its own children are GC'd)."""
        self.reconcile_endpoint(md, platform, leaving=True)

    def finalize_platform(self, platform: MLOpsPlatform) -> None:
        """Nothing outside Kubernetes to release: children are garbage-collected."""

    def deployment_leftovers(self, md: ModelDeployment, platform: MLOpsPlatform | None) -> list[str]:
        """Everything a native deployment holds is in Kubernetes, garbage-collected with it."""
        return []

    def platform_leftovers(self, platform: MLOpsPlatform) -> list[str]:
        return []

    def _status_fields(
        self, md: ModelDeployment, state: EndpointState, deployment: dict[str, Any] | None, complete: bool
    ) -> ModelDeploymentStatus:
        keys = {"name": naming.keys_secret_name(md.spec.endpoint.name)} if md.spec.endpoint.auth_mode == "key" else None
        fields: dict[str, Any] = {
            "scoringUri": state.scoring_uri,
            "inClusterScoringUri": in_cluster_scoring_uri(state.endpoint) if state.scoring_uri else None,
            "swaggerUri": state.scoring_uri.removesuffix("/score") + "/swagger.json",
            "traffic": state.endpoint.traffic,
            "mirrorTraffic": state.endpoint.mirror_traffic,
            "replicas": replicas_of(deployment).to_wire(),
            "keysSecretRef": keys,
        }
        if complete and deployment is not None:
            # Only a finished rollout puts a revision in force; until then status keeps the previous one.
            template = deployment["spec"]["template"]["metadata"]
            fields["revision"] = (template.get("annotations") or {}).get(naming.ANNOTATION_CONTENT_REVISION)
        return ModelDeploymentStatus.model_validate(fields)


def _model_after_rollout(model: Verdict, deployment: dict[str, Any] | None) -> Verdict:
    if replicas_of(deployment).ready > 0:
        message = model.message.replace("waiting for pods to load", "loaded from")
        return Verdict(ConditionType.MODEL_READY, "True", Reason.MODEL_AVAILABLE, message)
    return model

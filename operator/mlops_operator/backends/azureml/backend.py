"""The azureml backend: platforms and ModelDeployments driven through the Azure SDKs.

One pass never waits for Azure: it begins what differs, records it in `status.operations` and returns
`requeue_after`; the handler layer looks again later. After a 429 the subscription is left alone until
`Retry-After` has passed, whatever triggers the next pass.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from mlops_operator import naming
from mlops_operator.api.v1alpha1 import MLOpsPlatform, MLOpsPlatformStatus, ModelDeployment, ModelDeploymentStatus
from mlops_operator.api.v1alpha1.common import Condition
from mlops_operator.backends.azureml.assets import RegisteredAssets
from mlops_operator.backends.azureml.clients import AzureClients, AzureMetricsPolicy, Cloud
from mlops_operator.backends.azureml.credentials import (
    CredentialFactory,
    default_credential_factory,
    read_credentials_secret,
)
from mlops_operator.backends.azureml.deletions import BegunDeletes, Deleter
from mlops_operator.backends.azureml.deployment import DeploymentSteps
from mlops_operator.backends.azureml.endpoint import KEEP_FRACTION, EndpointSteps, endpoint_id
from mlops_operator.backends.azureml.finalize import (
    deployment_leftovers,
    finalize_deployment,
    finalize_platform,
    platform_leftovers,
)
from mlops_operator.backends.azureml.operations import Ledger
from mlops_operator.backends.azureml.platform import PlatformSteps, workspace_coordinates
from mlops_operator.backends.azureml.seen import Seen
from mlops_operator.backends.azureml.steps import StepResult, guarded, run_chain
from mlops_operator.backends.base import Outcome, RetryableError
from mlops_operator.backends.resolve import blocked
from mlops_operator.conditions import INVERTED, SUMMARIES, ConditionType, Reason, Verdict, condition_set
from mlops_operator.config import OperatorSettings
from mlops_operator.kube import Kube
from mlops_operator.metrics import OperatorMetrics

T = TypeVar("T")


def reconcile_policy(annotations: dict[str, str]) -> str:
    return annotations.get(naming.ANNOTATION_RECONCILE_POLICY, "manage")


def workspace_id(subscription: str, resource_group: str, workspace: str) -> str:
    return (
        f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{workspace}"
    )


class AzureMLBackend:
    """Azure ML on AKS, through azure-ai-ml, azure-mgmt-containerservice and azure-mgmt-kubernetesconfiguration."""

    def __init__(
        self,
        kube: Kube,
        settings: OperatorSettings,
        credential_factory: CredentialFactory | None = None,
        metrics: OperatorMetrics | None = None,
    ):
        self._kube = kube
        self._settings = settings
        self._credentials = credential_factory or default_credential_factory(settings)
        self._metrics = metrics
        policies = (AzureMetricsPolicy(metrics),) if metrics is not None else ()
        self._cloud = Cloud.from_settings(settings, policies)
        self._lock = threading.Lock()
        self._clients: dict[str, AzureClients] = {}
        self._throttled: dict[str, tuple[float, str]] = {}
        self._endpoint_locks: dict[str, threading.Lock] = {}
        self._assets = RegisteredAssets()
        self._endpoints: Seen[Any] = Seen(KEEP_FRACTION * settings.drift_interval_seconds)
        self._deletes = BegunDeletes()

    def clients(self, platform: MLOpsPlatform) -> AzureClients:
        """SDK clients for a platform, rebuilt when its identity (or its credentials Secret) changes."""
        azure = platform.spec.azure
        assert azure is not None
        secret = read_credentials_secret(self._kube, azure, self._settings)
        key = naming.short_hash(json.dumps([azure.subscription_id, azure.identity.to_wire(), secret], sort_keys=True))
        with self._lock:
            if key not in self._clients:
                credential = self._credentials(azure, secret)
                self._clients[key] = AzureClients(credential, azure.subscription_id, self._cloud)
            return self._clients[key]

    def _observe_operation(self, step: str, seconds: float) -> None:
        if self._metrics is not None:
            self._metrics.azure_operation_duration.labels(step).observe(seconds)

    # ---- throttling -------------------------------------------------------------------------------
    def _throttle_left(self, subscription: str) -> tuple[float, str] | None:
        with self._lock:
            until, message = self._throttled.get(subscription, (0.0, ""))
        left = until - time.monotonic()
        return (left, message) if left > 0 else None

    def _note_throttling(self, subscription: str, delay: float, message: str) -> None:
        with self._lock:
            self._throttled[subscription] = (time.monotonic() + delay, message)
        if self._metrics is not None:
            self._metrics.azure_retry_after.observe(delay)

    def _unless_throttled(self, subscription: str, step: Callable[[], T]) -> T:
        """Run one step unless the subscription is throttled now, and note a 429 it meets at once.

        Checked per step, not per pass: passes run in parallel, and one already under way when another met a
        429 went on calling ARM inside the Retry-After window (found by the churn test, tests/integration/faults)."""
        found = self._throttle_left(subscription)
        if found is not None:
            raise RetryableError(found[1], delay=found[0], reason=Reason.AZURE_THROTTLED)
        try:
            return step()
        except RetryableError as exc:
            if exc.reason == Reason.AZURE_THROTTLED:
                self._note_throttling(subscription, exc.delay, str(exc))
            raise

    def _throttle_aware(
        self, subscription: str, steps: list[tuple[ConditionType, Callable[[], StepResult]]]
    ) -> list[tuple[ConditionType, Callable[[], StepResult]]]:
        return [(c, functools.partial(self._unless_throttled, subscription, step)) for c, step in steps]

    def _throttled_outcome(
        self, subscription: str, condition: ConditionType, current: list[Condition]
    ) -> Outcome | None:
        """While a subscription is throttled, report it without calling ARM (the conditions stay as they were)."""
        found = self._throttle_left(subscription)
        if found is None:
            return None
        left, message = found
        verdicts = carried_verdicts(current)
        if not any(v.reason == Reason.AZURE_THROTTLED for v in verdicts):
            # The first step says why; the others keep what they were. Replacing them all let a platform's
            # ComputeAttached turn Unknown, and every deployment on it waited (PlatformNotReady) for its next pass.
            throttled = Verdict(condition, "False", Reason.AZURE_THROTTLED, message, "Warning")
            verdicts = [throttled, *(v for v in verdicts if v.type != condition)]
        return Outcome(verdicts, requeue_after=left)

    # ---- platforms ------------------------------------------------------------------------------------
    def reconcile_platform(self, platform: MLOpsPlatform) -> Outcome:
        azure = platform.spec.azure
        assert azure is not None
        current = platform.status or MLOpsPlatformStatus()
        if reconcile_policy(platform.metadata.annotations) == "skip":
            return _skipped(condition_set(platform.kind, "azureml"))
        waiting = self._throttled_outcome(azure.subscription_id, ConditionType.WORKSPACE_READY, current.conditions)
        if waiting is not None:
            return waiting
        ledger = Ledger(current.operations, self._observe_operation)
        credentials = guarded(ConditionType.WORKSPACE_READY, lambda: self._clients_step(platform))
        if not credentials.done:
            return Outcome([credentials.verdict], requeue_after=credentials.requeue)
        steps = PlatformSteps(self._kube, self._settings, self.clients(platform), platform, ledger)
        verdicts, status, requeue = run_chain(
            self._throttle_aware(
                azure.subscription_id,
                [
                    (ConditionType.WORKSPACE_READY, steps.workspace),
                    (ConditionType.NODE_POOL_READY, steps.node_pool),
                    (ConditionType.EXTENSION_READY, steps.extension),
                    (ConditionType.COMPUTE_ATTACHED, steps.compute),
                    (ConditionType.INSTANCE_TYPES_READY, steps.instance_types),
                ],
            )
        )
        verdicts = kept_where_throttling_cut(verdicts, current.conditions)
        typed = MLOpsPlatformStatus.model_validate({**status, "operations": ledger.records()})
        return Outcome(verdicts, status=typed, requeue_after=requeue)

    def _clients_step(self, platform: MLOpsPlatform) -> StepResult:
        """Credentials come first: a missing or incomplete credentials Secret is reported, not raised."""
        self.clients(platform)
        return StepResult(Verdict(ConditionType.WORKSPACE_READY, "Unknown", Reason.RECONCILING), True)

    def finalize_platform(self, platform: MLOpsPlatform) -> None:
        """Release the platform's Azure side per its reconcile policy; raises RetryableError until done."""
        policy = reconcile_policy(platform.metadata.annotations)
        deleter = self._deleter(platform) if policy != "skip" else None
        finalize_platform(self._kube, self._settings, deleter, platform, policy)

    def platform_leftovers(self, platform: MLOpsPlatform) -> list[str]:
        return platform_leftovers(platform, reconcile_policy(platform.metadata.annotations))

    def _deleter(self, platform: MLOpsPlatform) -> Deleter:
        return Deleter(self._deletes, self.clients(platform), self._settings.azure_poll_seconds)

    # ---- model deployments ----------------------------------------------------------------------------
    def reconcile_deployment(self, md: ModelDeployment, platform: MLOpsPlatform) -> Outcome:
        azure = platform.spec.azure
        assert azure is not None
        current = md.status or ModelDeploymentStatus()
        refused = _refused(md)
        if refused is not None:
            return refused
        if reconcile_policy(md.metadata.annotations) == "skip":
            return _skipped(condition_set(md.kind, "azureml"))
        if not _compute_attached(platform):
            message = f"platform {platform.metadata.name} has no attached compute yet (ComputeAttached is not True)"
            verdict = Verdict(ConditionType.DEPLOYMENT_READY, "False", Reason.PLATFORM_NOT_READY, message, "Info")
            return Outcome([verdict], requeue_after=self._settings.azure_poll_seconds)
        waiting = self._throttled_outcome(azure.subscription_id, ConditionType.MODEL_READY, current.conditions)
        if waiting is not None:
            return waiting
        with self._endpoint_lock(azure.subscription_id, *workspace_coordinates(azure), md.spec.endpoint.name):
            return self._deployment_pass(md, platform, current)

    def _endpoint_lock(self, *endpoint: str) -> threading.Lock:
        """Deployments of one endpoint take turns: each pass reads the endpoint's traffic before it writes."""
        key = "/".join(endpoint).lower()
        with self._lock:
            return self._endpoint_locks.setdefault(key, threading.Lock())

    def _deployment_pass(self, md: ModelDeployment, platform: MLOpsPlatform, current: ModelDeploymentStatus) -> Outcome:
        azure = platform.spec.azure
        assert azure is not None
        credentials = guarded(ConditionType.MODEL_READY, lambda: self._clients_step(platform))
        if not credentials.done:
            return Outcome([credentials.verdict], requeue_after=credentials.requeue)
        ledger = Ledger(current.operations, self._observe_operation)
        model, endpoint = self._steps(md, platform, ledger)
        instance_type = str(md.spec.instance_type or platform.spec.default_instance_type)
        verdicts, status, requeue = run_chain(
            self._throttle_aware(
                azure.subscription_id,
                [
                    (ConditionType.MODEL_READY, model.model),
                    (ConditionType.ENDPOINT_READY, endpoint.endpoint),
                    (ConditionType.DEPLOYMENT_READY, lambda: model.deployment(instance_type, endpoint.location)),
                    (ConditionType.TRAFFIC_APPLIED, endpoint.traffic),
                ],
            )
        )
        typed = ModelDeploymentStatus.model_validate({**status, "operations": ledger.records()})
        return Outcome(verdicts, status=typed, requeue_after=requeue, wake=endpoint.siblings_to_wake(current))

    def _steps(
        self, md: ModelDeployment, platform: MLOpsPlatform, ledger: Ledger
    ) -> tuple[DeploymentSteps, EndpointSteps]:
        """The steps of one pass, sharing this backend's memory of asset versions and endpoints."""
        azure = platform.spec.azure
        assert azure is not None
        clients = self.clients(platform)
        rg, ws = workspace_coordinates(azure)
        ml = clients.ml(rg, ws)
        poll = self._settings.azure_poll_seconds
        workspace = workspace_id(azure.subscription_id, rg, ws)
        model = DeploymentSteps(clients, ml, md, workspace, ledger, poll, self._assets)
        model.log_lines = self._settings.azure_log_lines
        endpoint = EndpointSteps(
            self._kube,
            ml,
            md,
            ledger,
            poll,
            workspace_id=workspace,
            compute=azure.compute_name,
            observed=self._endpoints,
        )
        return model, endpoint

    def finalize_deployment(self, md: ModelDeployment, platform: MLOpsPlatform | None) -> None:
        """Take the deployment out of its endpoint's traffic, delete it (and the endpoint with its last one)."""
        policy = reconcile_policy(md.metadata.annotations)
        if platform is None or platform.spec.azure is None or policy in ("skip", "detach-on-delete"):
            return
        deleter = self._deleter(platform)
        rg, ws = workspace_coordinates(platform.spec.azure)
        # Each step may change the endpoint (its traffic, or delete it): no member may go on a kept reading.
        self._endpoints.forget(
            endpoint_id(workspace_id(platform.spec.azure.subscription_id, rg, ws), md.spec.endpoint.name)
        )
        ml = deleter.clients.ml(rg, ws)
        subscription = platform.spec.azure.subscription_id
        self._unless_throttled(subscription, lambda: finalize_deployment(self._kube, ml, md, deleter, f"{rg}/{ws}"))

    def deployment_leftovers(self, md: ModelDeployment, platform: MLOpsPlatform | None) -> list[str]:
        policy = reconcile_policy(md.metadata.annotations)
        if platform is None or platform.spec.azure is None or policy != "manage":
            return []
        return deployment_leftovers(self._kube, md, "/".join(workspace_coordinates(platform.spec.azure)))


def carried_verdicts(current: list[Condition]) -> list[Verdict]:
    """The step conditions an object carries, as verdicts for a pass that calls nothing (throttled).

    Summaries (Ready, Stalled) and the inverted conditions derived from the steps (Progressing, Degraded,
    DeletionBlocked) are left out: they are derived again from these, and a summary among a pass's verdicts
    is refused (conditions.derived_verdicts), which turned every throttled pass into a ReconcileError."""
    own = set(ConditionType) - SUMMARIES - INVERTED
    return [Verdict(ConditionType(c.type), c.status, c.reason, c.message, c.severity) for c in current if c.type in own]


def kept_where_throttling_cut(verdicts: list[Verdict], current: list[Condition]) -> list[Verdict]:
    """A platform pass stopped by throttling keeps what its later steps were, rather than Unknown: an Unknown
    ComputeAttached made every deployment on the platform wait (PlatformNotReady) for its next pass."""
    if not any(v.reason == Reason.AZURE_THROTTLED for v in verdicts):
        return verdicts
    carried = {v.type: v for v in carried_verdicts(current)}
    return [carried.get(v.type, v) if v.reason == Reason.WAITING_FOR_DEPENDENCY else v for v in verdicts]


def _compute_attached(platform: MLOpsPlatform) -> bool:
    conditions = platform.status.conditions if platform.status else []
    return any(c.type == ConditionType.COMPUTE_ATTACHED and c.status == "True" for c in conditions)


def _refused(md: ModelDeployment) -> Outcome | None:
    """What Azure ML's Kubernetes endpoints cannot do, said before anything is sent."""
    if md.spec.endpoint.auth_mode == "aad_token":
        message = (
            "spec.endpoint.authMode aad_token is not supported for Kubernetes online endpoints; use key or aml_token"
        )
    elif md.spec.mirror_traffic:
        message = "spec.mirrorTraffic is not supported for Kubernetes online endpoints on Azure ML; set it to 0"
    elif md.spec.scale_settings.type == "metric":
        message = (
            "spec.scaleSettings.type metric is native only: Azure ML online deployments scale with `default` "
            "(a fixed instanceCount) or `targetUtilization` (CPU, minInstances..maxInstances); use one of those"
        )
    elif md.spec.environment.image_pull_secrets:
        message = (
            "spec.environment.imagePullSecrets is native only; Azure ML pulls environment images with the "
            "workspace's registry credentials, so remove it"
        )
    elif md.spec.code.config_map is not None:
        message = (
            "spec.code.configMap is not uploaded by the azureml backend; use an environment image that serves the "
            "model (inference config) or register code in Azure ML"
        )
    else:
        return None
    return Outcome([blocked(Reason.FEATURE_UNSUPPORTED, message)])


def _skipped(conditions: tuple[ConditionType, ...]) -> Outcome:
    message = f"annotation {naming.ANNOTATION_RECONCILE_POLICY}=skip: Azure is left alone"
    return Outcome(
        [
            Verdict(c, "Unknown", Reason.RECONCILE_SKIPPED, message, "Info")
            for c in conditions
            if c not in SUMMARIES  # Ready and Stalled are derived from the others, never reported
        ]
    )


__all__ = ["AzureMLBackend"]

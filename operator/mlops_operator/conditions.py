"""Conditions done the Kubernetes way: pure helpers, stable PascalCase reasons, severity for humans.

`set_condition` keeps `lastTransitionTime` unless the status changes, and always records the generation the
condition was computed for, so `kubectl wait`, kstatus (Flux, Argo CD, Helm) and humans read the same truth.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from mlops_operator.api.v1alpha1.common import Condition, ConditionStatus, Severity


class ConditionType(StrEnum):
    """Every condition type the operator writes; each kind's set is `CONDITION_SETS` below."""

    READY = "Ready"
    MODEL_READY = "ModelReady"
    ENDPOINT_READY = "EndpointReady"
    DEPLOYMENT_READY = "DeploymentReady"
    TRAFFIC_APPLIED = "TrafficApplied"
    PROGRESSING = "Progressing"
    DEGRADED = "Degraded"
    WORKSPACE_READY = "WorkspaceReady"
    NODE_POOL_READY = "NodePoolReady"
    EXTENSION_READY = "ExtensionReady"
    COMPUTE_ATTACHED = "ComputeAttached"
    INSTANCE_TYPES_READY = "InstanceTypesReady"
    DELETION_BLOCKED = "DeletionBlocked"
    ROLLED_OUT = "RolledOut"
    DATA_DRIFT = "DataDrift"
    STALLED = "Stalled"
    PLACED = "Placed"
    ROUTED = "Routed"
    POLICY_SUPPORTED = "PolicySupported"


T = ConditionType
# Declared once per kind (and, for platforms, per backend: a native platform has no workspace). Every pass
# writes exactly these, `Ready` first; any other condition type found on the object is dropped.
CONDITION_SETS: dict[tuple[str, str], tuple[ConditionType, ...]] = {
    ("ModelDeployment", "native"): (
        T.READY,
        T.MODEL_READY,
        T.ENDPOINT_READY,
        T.DEPLOYMENT_READY,
        T.TRAFFIC_APPLIED,
        T.ROLLED_OUT,
        T.DATA_DRIFT,
        T.PROGRESSING,
        T.DEGRADED,
        T.DELETION_BLOCKED,
        T.STALLED,
    ),
    ("MLOpsPlatform", "native"): (T.READY, T.INSTANCE_TYPES_READY, T.DELETION_BLOCKED, T.STALLED),
    ("MLOpsPlatform", "azureml"): (
        T.READY,
        T.WORKSPACE_READY,
        T.NODE_POOL_READY,
        T.EXTENSION_READY,
        T.COMPUTE_ATTACHED,
        T.INSTANCE_TYPES_READY,
        T.DELETION_BLOCKED,
        T.STALLED,
    ),
}
# A GlobalEndpoint has the same conditions whichever router fronts it.
CONDITION_SETS[("GlobalEndpoint", "native")] = (
    T.READY,
    T.PLACED,
    T.ROUTED,
    T.POLICY_SUPPORTED,
    T.DEGRADED,
    T.DELETION_BLOCKED,
    T.STALLED,
)
# A ModelDeployment has the same conditions on either backend (azureml derives Progressing/Degraded).
CONDITION_SETS[("ModelDeployment", "azureml")] = CONDITION_SETS[("ModelDeployment", "native")]
# Polarity-inverted: True means "not steady", and a healthy object carries them as False.
INVERTED = frozenset({T.PROGRESSING, T.DEGRADED, T.DELETION_BLOCKED, T.STALLED})
# What the served model sees rather than whether it is served: True is news (drift), never a reason for
# `Ready`, `Progressing` or `Degraded` to change.
OBSERVATIONS = frozenset({T.DATA_DRIFT, T.POLICY_SUPPORTED})
# Written from `Ready` itself rather than from a backend's verdicts (see `stalled`).
SUMMARIES = frozenset({T.READY, T.STALLED})


def condition_set(kind: str, backend: str) -> tuple[ConditionType, ...]:
    """The conditions an object of `kind` carries; an unknown backend gets the native set of its kind."""
    return CONDITION_SETS.get((kind, backend)) or CONDITION_SETS[(kind, "native")]


class Reason(StrEnum):
    """Every reason the operator writes. Stable: tools and alerts key on these."""

    READY = "Ready"
    RECONCILING = "Reconciling"
    PLATFORM_NOT_FOUND = "PlatformNotFound"
    PLATFORM_NOT_READY = "PlatformNotReady"
    INSTANCE_TYPE_NOT_FOUND = "InstanceTypeNotFound"
    RESOURCES_EXCEED_INSTANCE_TYPE = "ResourcesExceedInstanceType"
    INVALID_SPEC = "InvalidSpec"
    BACKEND_UNSUPPORTED = "BackendUnsupported"
    FEATURE_UNSUPPORTED = "FeatureUnsupported"
    MODEL_SOURCE_MISSING = "ModelSourceMissing"
    MODEL_SOURCE_UNSUPPORTED = "ModelSourceUnsupported"
    MODEL_AVAILABLE = "ModelAvailable"
    MODEL_FETCHING = "ModelFetching"
    CODE_NOT_FOUND = "CodeNotFound"
    GATEWAY_NOT_FOUND = "GatewayNotFound"
    IMAGE_PULL_SECRET_NOT_FOUND = "ImagePullSecretNotFound"
    PLATFORM_TERMINATING = "PlatformTerminating"
    IN_USE = "InUse"
    NOT_DELETING = "NotDeleting"
    NOT_EVALUATED = "NotEvaluated"
    RECONCILE_ERROR = "ReconcileError"
    DEPLOYMENT_AVAILABLE = "DeploymentAvailable"
    ROLLING_OUT = "RollingOut"
    PROGRESS_DEADLINE_EXCEEDED = "ProgressDeadlineExceeded"
    CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"
    IMAGE_PULL_BACK_OFF = "ImagePullBackOff"
    POD_FAILING = "PodFailing"
    UNSCHEDULABLE = "Unschedulable"
    SCALED_TO_ZERO = "ScaledToZero"
    TRAFFIC_APPLIED = "TrafficApplied"
    TRAFFIC_SUM_INVALID = "TrafficSumInvalid"
    GATEWAY_API_MISSING = "GatewayAPIMissing"
    MIRRORING_UNSUPPORTED = "MirroringUnsupported"
    NO_TRAFFIC = "NoTraffic"
    STABLE = "Stable"
    HEALTHY = "Healthy"
    INSTANCE_TYPES_VALID = "InstanceTypesValid"
    KUBERNETES_API_ERROR = "KubernetesAPIError"
    # Azure ML backend: one per step outcome; ARM error codes go in the message.
    RECONCILE_SKIPPED = "ReconcileSkipped"
    WAITING_FOR_DEPENDENCY = "WaitingForDependency"
    AZURE_OPERATION_IN_PROGRESS = "AzureOperationInProgress"
    AZURE_OPERATION_FAILED = "AzureOperationFailed"
    AZURE_THROTTLED = "AzureThrottled"
    AZURE_UNAVAILABLE = "AzureUnavailable"
    AZURE_CONFLICT = "AzureConflict"
    AZURE_AUTH_FAILED = "AzureAuthFailed"
    AZURE_NOT_FOUND = "AzureNotFound"
    AZURE_BAD_REQUEST = "AzureBadRequest"
    AZURE_QUOTA_EXCEEDED = "AzureQuotaExceeded"
    AZURE_REQUEST_FAILED = "AzureRequestFailed"
    AZURE_CREDENTIALS_UNAVAILABLE = "AzureCredentialsUnavailable"
    AZURE_RESOURCE_LOCKED = "AzureResourceLocked"
    # Deletion: Azure refused to delete what the object holds (DeletionBlocked), or a human forced its release.
    AZURE_REFUSED_DELETION = "AzureRefusedDeletion"
    FORCE_DELETED = "ForceDeleted"
    WORKSPACE_READY = "WorkspaceReady"
    WORKSPACE_NOT_FOUND = "WorkspaceNotFound"
    CLUSTER_NOT_FOUND = "ClusterNotFound"
    NODE_POOL_READY = "NodePoolReady"
    NODE_POOL_NOT_MANAGED = "NodePoolNotManaged"
    EXTENSION_READY = "ExtensionReady"
    EXTENSION_NOT_FOUND = "ExtensionNotFound"
    EXTENSION_MISCONFIGURED = "ExtensionMisconfigured"
    COMPUTE_ATTACHED = "ComputeAttached"
    COMPUTE_CONFLICT = "ComputeConflict"
    INSTANCE_TYPE_CRD_MISSING = "InstanceTypeCRDMissing"
    MODEL_REGISTERED = "ModelRegistered"
    MODEL_NOT_FOUND = "ModelNotFound"
    ENVIRONMENT_NOT_FOUND = "EnvironmentNotFound"
    ENDPOINT_READY = "EndpointReady"
    DEPLOYMENT_FAILED = "DeploymentFailed"
    TRAFFIC_PENDING = "TrafficPending"
    AUTOSCALER_NOT_INSTALLED = "AutoscalerNotInstalled"
    METRICS_PROVIDER_MISSING = "MetricsProviderMissing"
    # Progressive rollouts (spec.rollout): one per phase, and the Events of its steps.
    NO_ROLLOUT = "NoRollout"
    ROLLOUT_PROGRESSING = "RolloutProgressing"
    ROLLOUT_PAUSED = "RolloutPaused"
    ROLLOUT_PROMOTING = "RolloutPromoting"
    ROLLOUT_SUCCEEDED = "RolloutSucceeded"
    ROLLED_BACK = "RolledBack"
    ROLLOUT_FAILED = "RolloutFailed"
    ROLLOUT_STEP = "RolloutStep"
    ROLLOUT_CHECK_FAILED = "RolloutCheckFailed"
    # Data drift (spec.monitoring.drift): the DataDrift condition and the Events of its episodes.
    NOT_MONITORED = "NotMonitored"
    NO_DRIFT = "NoDrift"
    DRIFT_DETECTED = "DriftDetected"
    INSUFFICIENT_SAMPLES = "InsufficientSamples"
    DRIFT_CHECK_FAILED = "DriftCheckFailed"
    DRIFT_BASELINE_INVALID = "DriftBaselineInvalid"
    DRIFT_ACTIONS_RUN = "DriftActionsRun"
    DRIFT_ACTION_FAILED = "DriftActionFailed"
    DRIFT_ACTIONS_SKIPPED = "DriftActionsSkipped"
    # GlobalEndpoint
    REGIONS_PLACED = "RegionsPlaced"
    REGION_UNREACHABLE = "RegionUnreachable"
    PLACEMENT_CONFLICT = "PlacementConflict"
    REGION_HEALTHY = "RegionHealthy"
    REGION_DISABLED = "RegionDisabled"
    DEPLOYMENTS_NOT_READY = "DeploymentsNotReady"
    PROBE_FAILED = "ProbeFailed"
    NO_HEALTHY_REGION = "NoHealthyRegion"
    ROUTER_CONFIGURED = "RouterConfigured"
    ROUTER_PENDING = "RouterPending"
    REGION_PATHS_DIFFER = "RegionPathsDiffer"
    POLICY_HONOURED = "PolicyHonoured"
    LATENCY_APPROXIMATED = "LatencyApproximated"


@dataclass(frozen=True)
class Announcement:
    """An Event a pass posts besides condition transitions (a rollout step entered, a check failed)."""

    type: str  # Normal or Warning
    reason: str
    message: str


@dataclass(frozen=True)
class Verdict:
    """One condition's desired value, before timestamps are attached."""

    type: ConditionType
    status: ConditionStatus
    reason: str
    message: str = ""
    severity: Severity = ""

    @property
    def is_true(self) -> bool:
        return self.status == "True"


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def set_condition(existing: Iterable[Condition], verdict: Verdict, generation: int | None, now: str) -> list[Condition]:
    """Return the conditions with `verdict` set; `lastTransitionTime` moves only when the status changes."""
    kept = [c for c in existing if c.type != verdict.type]
    previous = next((c for c in existing if c.type == verdict.type), None)
    changed = previous is None or previous.status != verdict.status
    condition = Condition(
        type=verdict.type,
        status=verdict.status,
        reason=verdict.reason,
        message=verdict.message,
        last_transition_time=now if changed or previous is None else previous.last_transition_time,
        observed_generation=generation,
        severity="" if _healthy(verdict) else (verdict.severity or "Info"),
    )
    return [*kept, condition]


def apply_verdicts(
    existing: Iterable[Condition], verdicts: Iterable[Verdict], generation: int | None, now: str
) -> list[Condition]:
    """Set several conditions at once, in a stable order (the verdicts' order, `Ready` first)."""
    conditions = list(existing)
    ordered = list(verdicts)
    for verdict in ordered:
        conditions = set_condition(conditions, verdict, generation, now)
    rank: dict[str, int] = {v.type: i for i, v in enumerate(ordered)}
    return sorted(conditions, key=lambda c: rank.get(c.type, len(rank)))


def transitions(before: Iterable[Condition], after: Iterable[Condition]) -> list[Condition]:
    """Conditions whose status or reason changed: each becomes a Kubernetes Event."""
    old = {c.type: (c.status, c.reason) for c in before}
    return [c for c in after if old.get(c.type) != (c.status, c.reason)]


def worth_an_event(before: Iterable[Condition], changed: Iterable[Condition]) -> list[Condition]:
    """The transitions users are told about with an Event: every change of `Ready`, and any condition going
    into or out of a problem (Warning or Error). The routine settling of the other conditions on every
    create would be ~9 Events per object, a write each (measured at 1,000 ModelDeployments)."""
    old = {c.type: c for c in before}

    def problem(c: Condition | None) -> bool:
        return c is not None and c.severity in ("Warning", "Error")

    return [c for c in changed if c.type == T.READY or problem(c) or problem(old.get(c.type))]


def find(conditions: Iterable[Condition], type_: ConditionType) -> Condition | None:
    return next((c for c in conditions if c.type == type_), None)


def summarize(verdicts: list[Verdict], ready_message: str) -> Verdict:
    """The `Ready` verdict: true when every other verdict is healthy, else the first problem's reason."""
    problems = [v for v in verdicts if v.type not in OBSERVATIONS and not _healthy(v)]
    if not problems:
        return Verdict(T.READY, "True", Reason.READY, ready_message)
    worst = max(problems, key=lambda v: ("", "Info", "Warning", "Error").index(v.severity or "Info"))
    return Verdict(T.READY, "False", worst.reason, worst.message, worst.severity or "Info")


def stalled(ready: Verdict) -> Verdict:
    """`Stalled`, kstatus's standard condition: True with `Ready`'s reason and message when `Ready` is False
    and needs a human (severity Error), False otherwise.

    kstatus (fluxcd/cli-utils `status.Compute`, used by Flux's health checks) reads a `Ready=False` as
    InProgress, which only ends at the Kustomization's timeout; `Stalled=True` is what it reports as Failed.
    Retries (Warning) and progress (Info) are not stalled.
    """
    if ready.status == "False" and ready.severity == "Error":
        return Verdict(T.STALLED, "True", ready.reason, ready.message, "Error")
    return Verdict(T.STALLED, "False", Reason.HEALTHY, "nothing needs attention")


def derived_verdicts(wanted: tuple[ConditionType, ...], reported: list[Verdict]) -> list[Verdict]:
    """One verdict per condition of the kind's set (`Ready` and `Stalled` aside), in the set's order.

    What a pass did not report is derived rather than left stale: `Progressing` is True while something is
    waiting or retrying, `Degraded` while something needs a human, and anything else is Unknown, naming what
    stopped the pass. A verdict outside the set is a bug in the backend, so it raises.
    """
    stray = [v.type for v in reported if v.type not in wanted or v.type in SUMMARIES]
    if stray:
        raise ValueError(f"conditions {stray} are not reported by backends of this kind; its set is {list(wanted)}")
    given: dict[ConditionType, Verdict] = {}
    for verdict in reported:
        given.setdefault(verdict.type, verdict)
    problems = [v for v in reported if v.type not in OBSERVATIONS and not _healthy(v)]
    return [given.get(t) or _derived(t, problems) for t in wanted if t not in SUMMARIES]


def _derived(type_: ConditionType, problems: list[Verdict]) -> Verdict:
    failing = next((v for v in problems if v.severity == "Error"), None)
    pending = next((v for v in problems if v.severity != "Error"), None)
    if type_ == T.DEGRADED:
        if failing is None:
            return Verdict(type_, "False", Reason.HEALTHY, "nothing needs attention")
        return Verdict(type_, "True", failing.reason, failing.message, "Error")
    if type_ == T.DELETION_BLOCKED:
        return Verdict(type_, "False", Reason.NOT_DELETING, "deletion has not been requested")
    if type_ == T.PROGRESSING:
        if pending is None:
            return Verdict(type_, "False", Reason.STABLE, "nothing in progress")
        return Verdict(type_, "True", pending.reason, pending.message)
    blocker = failing or pending
    why = f"not evaluated: {blocker.type} is {blocker.reason}" if blocker else "not evaluated in this pass"
    return Verdict(type_, "Unknown", Reason.NOT_EVALUATED, why, "Info")


def _healthy(verdict: Verdict) -> bool:
    if verdict.type in OBSERVATIONS:
        return verdict.status != "True"
    if verdict.type in INVERTED:
        return verdict.status == "False"
    return verdict.status == "True"

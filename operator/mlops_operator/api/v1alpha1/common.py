"""Building blocks shared by both kinds: the camelCase base model, conditions, resources, tolerations."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.config import JsonDict

from mlops_operator.api.quantity import QUANTITY_PATTERN, parse_quantity

GROUP = "mlops.dev"
VERSION = "v1alpha1"
API_VERSION: Final = "mlops.dev/v1alpha1"
GPU_RESOURCE = "nvidia.com/gpu"

DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


def cel(rule: str, message: str, field_path: str | None = None, reason: str | None = None) -> JsonDict:
    """One `x-kubernetes-validations` entry; the API server reports `message` at `field_path`."""
    entry: JsonDict = {"rule": rule, "message": message}
    if field_path:
        entry["fieldPath"] = field_path
    if reason:
        entry["reason"] = reason
    return entry


class CamelModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields are errors, as in the CRD schema."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        validate_default=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """The object as it appears in YAML and on the API server (camelCase, no unset fields)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


def _quantity_to_str(value: object) -> object:
    """YAML turns `cpu: 2` into an int; Kubernetes accepts both, so normalise to the string form."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(value)
    return value


def _check_quantity(value: str) -> str:
    parse_quantity(value)  # raises ValueError with examples of valid quantities
    return value


Quantity = Annotated[
    str,
    BeforeValidator(_quantity_to_str),
    AfterValidator(_check_quantity),
    Field(json_schema_extra={"x-kubernetes-int-or-string": True, "pattern": QUANTITY_PATTERN, "maxLength": 32}),
]
DnsLabel = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=DNS_LABEL_PATTERN)]


class ObjectMeta(BaseModel):
    """The part of Kubernetes object metadata the operator reads; everything else passes through."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, alias_generator=to_camel)

    name: str | None = Field(None, description="Object name.")
    namespace: str | None = Field(None, description="Namespace, for namespaced kinds.")
    uid: str | None = Field(None, description="Unique id assigned by the API server.")
    generation: int | None = Field(None, description="Spec generation assigned by the API server.")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels.")
    annotations: dict[str, str] = Field(default_factory=dict, description="Annotations.")
    deletion_timestamp: str | None = Field(None, description="Set by the API server when deletion was requested.")


class ResourceList(CamelModel):
    """Amounts of compute resources, as in a Kubernetes container's `resources`."""

    cpu: Quantity | None = Field(None, description="CPU cores, e.g. `500m` or `2`.")
    memory: Quantity | None = Field(None, description="Memory in bytes, e.g. `512Mi` or `4Gi`.")
    gpu: Quantity | None = Field(
        None,
        alias=GPU_RESOURCE,
        description="NVIDIA GPUs (`nvidia.com/gpu`). Allowed in `limits` only, as Kubernetes requires.",
    )

    def as_dict(self) -> dict[str, str]:
        """The Kubernetes `ResourceList` form."""
        return {k: v for k, v in self.to_wire().items() if v is not None}


def _le(field: str) -> str:
    lhs, rhs = f"self.requests.{field}", f"self.limits.{field}"
    return (
        f"!has(self.requests) || !has(self.limits) || !has({lhs}) || !has({rhs}) || "
        f"quantity(string({lhs})).compareTo(quantity(string({rhs}))) <= 0"
    )


# CEL escapes '.' and '/' in property names (Kubernetes CEL property-name escaping).
_CEL_GPU = "nvidia__dot__com__slash__gpu"


class ResourceRequirements(CamelModel):
    """Requests and limits. Requests must not exceed limits; GPUs go in limits only."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    f"!has(self.requests) || !has(self.requests.{_CEL_GPU})",
                    "GPUs go in limits only: move nvidia.com/gpu from requests to limits",
                    ".requests",
                ),
                cel(
                    _le("cpu"),
                    "requests.cpu must not exceed limits.cpu; lower the request or raise the limit",
                ),
                cel(
                    _le("memory"),
                    "requests.memory must not exceed limits.memory; lower the request or raise the limit",
                ),
            ]
        }
    )

    requests: ResourceList | None = Field(None, description="Minimum resources the scheduler reserves.")
    limits: ResourceList | None = Field(None, description="Maximum resources the container may use.")

    @model_validator(mode="after")
    def _requests_within_limits(self) -> ResourceRequirements:
        if self.requests is not None and self.requests.gpu is not None:
            raise ValueError("GPUs go in limits only: move nvidia.com/gpu from requests to limits")
        if self.requests is None or self.limits is None:
            return self
        for name in ("cpu", "memory"):
            req, lim = getattr(self.requests, name), getattr(self.limits, name)
            if req is not None and lim is not None and parse_quantity(req) > parse_quantity(lim):
                raise ValueError(
                    f"requests.{name} ({req}) must not exceed limits.{name} ({lim}); "
                    "lower the request or raise the limit"
                )
        return self


class Toleration(CamelModel):
    """A pod toleration, as in Kubernetes."""

    key: str | None = Field(None, description="Taint key the toleration applies to; empty matches all keys.")
    operator: Literal["Equal", "Exists"] = Field("Equal", description="`Equal` (default) or `Exists`.")
    value: str | None = Field(None, description="Taint value to match when operator is `Equal`.")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        None, description="Taint effect to match; empty matches all effects."
    )
    toleration_seconds: int | None = Field(
        None, description="For `NoExecute`: how long the pod stays bound after the taint appears."
    )


class LocalObjectReference(CamelModel):
    """A reference to an object by name, in the same namespace (or cluster-scoped)."""

    name: DnsLabel = Field(description="Name of the referenced object.")


class SecretReference(CamelModel):
    """A reference to a Secret, optionally in another namespace (for cluster-scoped owners)."""

    name: str = Field(min_length=1, max_length=253, description="Name of the Secret.")
    namespace: str | None = Field(
        None, description="Namespace of the Secret; defaults to the operator's namespace for platforms."
    )


ConditionStatus = Literal["True", "False", "Unknown"]
Severity = Literal["Info", "Warning", "Error", ""]


class Condition(CamelModel):
    """A standard Kubernetes condition (metav1.Condition) plus a severity for humans."""

    type: str = Field(description="Condition type in PascalCase, e.g. `Ready`.")
    status: ConditionStatus = Field(description="`True`, `False` or `Unknown`.")
    reason: str = Field(description="PascalCase machine-readable reason; stable across releases.")
    message: str = Field("", description="Human-readable details, including how to fix problems.")
    last_transition_time: str = Field(description="When `status` last changed (RFC 3339).")
    observed_generation: int | None = Field(None, description="Generation of the spec this reflects.")
    severity: Severity = Field(
        "", description="`Info` progressing, `Warning` retrying, `Error` needs you; empty when True."
    )


def _legacy_operation(value: object) -> object:
    """Operations were once stored as `<started>|<tag>|<url>` strings; read them as records."""
    if isinstance(value, str):
        started, tag, url = ([*value.split("|", 2), "", ""])[:3]
        return {"started": started, "tag": tag, "url": url}
    return value


class OperationRecord(CamelModel):
    """An Azure long-running operation the operator started and observes on later passes."""

    started: str = Field(description="When the operation was started (RFC 3339).")
    tag: str = Field("", description="What it was started for, e.g. the spec generation or desired state hash.")
    url: str = Field("", description="ARM status URL of the operation (Azure-AsyncOperation or Location).")


Operation = Annotated[OperationRecord, BeforeValidator(_legacy_operation)]


class FailureRecord(CamelModel):
    """The last failure a reconcile ran into, kept until the next success."""

    reason: str = Field(description="Stable PascalCase reason, e.g. `ImagePullBackOff` or `ArmConflict`.")
    message: str = Field(description="What went wrong, and how to fix it when known.")
    time: str = Field(description="When the failure was observed (RFC 3339).")

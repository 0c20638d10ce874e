"""Generate CustomResourceDefinitions from the pydantic models (the models are the source of truth).

The OpenAPI schema pydantic emits is made structural for Kubernetes: `$ref`s inlined, titles and defaults
dropped (defaults are applied by the models, not the API server; the one exception is `UNOBSERVED_STATUS`),
`Optional` unions collapsed, quantities
marked int-or-string, and the models' CEL rules kept as `x-kubernetes-validations`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from mlops_operator.api.v1alpha1 import GROUP, VERSION, GlobalEndpoint, MLOpsPlatform, ModelDeployment

CATEGORY = "mlops"
# The one server-side default, on purpose: kstatus (Flux's health checks, cli-utils) calls an object with no
# status at all Current, so a ModelDeployment applied while the operator is down or busy would count as
# healthy. The API server fills this in on every read until the operator writes status, and kstatus reads
# `observedGeneration` 0 < `metadata.generation` as InProgress ("latest generation not observed").
UNOBSERVED_STATUS = {"observedGeneration": 0}
_READY = '.status.conditions[?(@.type=="Ready")]'


@dataclass(frozen=True)
class KindSpec:
    """What the CRD needs beyond the schema: names, scope and printer columns."""

    model: type[BaseModel]
    kind: str
    plural: str
    short_name: str
    scope: str
    columns: list[dict[str, Any]] = field(default_factory=list)
    selectable_fields: tuple[str, ...] = ()
    """JSON paths a list may filter on server-side (`--field-selector`), e.g. an endpoint's members."""

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"


def _column(name: str, path: str, type_: str = "string", priority: int = 0, description: str = "") -> dict[str, Any]:
    col: dict[str, Any] = {"name": name, "type": type_, "jsonPath": path}
    if priority:
        col["priority"] = priority
    if description:
        col["description"] = description
    return col


_STATUS_COLUMNS = [
    _column("Ready", f"{_READY}.status", description="Whether the resource is ready."),
    _column("Reason", f"{_READY}.reason", description="Why it is (not) ready."),
]
_AGE = _column("Age", ".metadata.creationTimestamp", "date")

KINDS = (
    KindSpec(
        MLOpsPlatform,
        "MLOpsPlatform",
        "mlopsplatforms",
        "mlp",
        "Cluster",
        [_column("Backend", ".spec.backend"), *_STATUS_COLUMNS, _AGE],
    ),
    KindSpec(
        ModelDeployment,
        "ModelDeployment",
        "modeldeployments",
        "mdep",
        "Namespaced",
        [
            _column("Endpoint", ".spec.endpoint.name"),
            _column("Model", ".spec.model.name", priority=1),
            _column("Version", ".spec.model.version"),
            _column("Traffic", ".spec.traffic", "integer"),
            *_STATUS_COLUMNS,
            _column("URI", ".status.scoringUri", priority=1),
            _AGE,
        ],
        # Each pass lists its endpoint's members: filtered by the API server's cache, not by us from every
        # ModelDeployment in the namespace (the most expensive request at 1,000 ModelDeployments).
        selectable_fields=(".spec.endpoint.name",),
    ),
    KindSpec(
        GlobalEndpoint,
        "GlobalEndpoint",
        "globalendpoints",
        "gep",
        "Namespaced",
        [
            _column("Policy", ".spec.routing.type"),
            *_STATUS_COLUMNS,
            _column("URL", ".status.url"),
            _AGE,
        ],
    ),
)


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    """Inline `$ref`s and rewrite each schema node into its structural form."""
    if isinstance(node, list):
        return [_resolve(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _resolve(merged, defs)
    if "anyOf" in node:
        collapsed = _collapse_optional(node)
        if "anyOf" not in collapsed:
            return _resolve(collapsed, defs)
        node = collapsed
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("title", "default", "$defs"):
            continue
        if key == "additionalProperties" and (value is False or node.get("x-kubernetes-preserve-unknown-fields")):
            continue  # a structural schema keeps unknown fields by the flag, never by additionalProperties
        if key == "const":
            out["enum"] = [value]
            continue
        if key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            # JSON Schema 2020 (pydantic's gt/lt) has a number here; OpenAPI v3.0 (CRDs) a bound and a flag.
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
            continue
        out[key] = _resolve_child(key, value, defs)
    return _int_or_string(out)


def _resolve_child(key: str, value: Any, defs: dict[str, Any]) -> Any:
    if key == "properties":
        return {name: _resolve(schema, defs) for name, schema in value.items()}
    if key in ("items", "additionalProperties", "anyOf"):
        return _resolve(value, defs)
    return value


def _collapse_optional(node: dict[str, Any]) -> dict[str, Any]:
    """`X | None` becomes X: absence, not null, is how Kubernetes objects say "unset"."""
    branches = [b for b in node["anyOf"] if b.get("type") != "null"]
    rest = {k: v for k, v in node.items() if k != "anyOf"}
    if len(branches) == 1:
        return {**branches[0], **rest}
    return {**rest, "anyOf": branches}


def _int_or_string(node: dict[str, Any]) -> dict[str, Any]:
    if node.get("x-kubernetes-int-or-string") and node.get("type") == "string":
        node = {k: v for k, v in node.items() if k != "type"}
        node["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    return node


def openapi_schema(spec: KindSpec) -> dict[str, Any]:
    """The `openAPIV3Schema` of one kind."""
    raw = spec.model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.get("$defs", {})
    root = _resolve(raw, defs)
    props = root["properties"]
    status = {**props["status"], "default": UNOBSERVED_STATUS}
    _mark_condition_lists(status)
    schema: dict[str, Any] = {
        "description": root.get("description", ""),
        "type": "object",
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string", "description": "API version of the object."},
            "kind": {"type": "string", "description": "Kind of the object."},
            "metadata": {"type": "object"},
            "spec": props["spec"],
            "status": status,
        },
    }
    if "x-kubernetes-validations" in root:
        schema["x-kubernetes-validations"] = root["x-kubernetes-validations"]
    return schema


def _mark_condition_lists(status: dict[str, Any]) -> None:
    conditions = status["properties"]["conditions"]
    conditions["x-kubernetes-list-type"] = "map"
    conditions["x-kubernetes-list-map-keys"] = ["type"]


def render_crd(spec: KindSpec) -> dict[str, Any]:
    """The full CustomResourceDefinition of one kind."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": spec.crd_name, "labels": {"app.kubernetes.io/part-of": "mlops-operator"}},
        "spec": {
            "group": GROUP,
            "scope": spec.scope,
            "names": {
                "kind": spec.kind,
                "listKind": f"{spec.kind}List",
                "plural": spec.plural,
                "singular": spec.kind.lower(),
                "shortNames": [spec.short_name],
                "categories": [CATEGORY],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": spec.columns,
                    **(
                        {"selectableFields": [{"jsonPath": p} for p in spec.selectable_fields]}
                        if spec.selectable_fields
                        else {}
                    ),
                    "schema": {"openAPIV3Schema": openapi_schema(spec)},
                }
            ],
        },
    }


def crd_yaml(spec: KindSpec) -> str:
    """The CRD as the YAML committed under `crds/`."""
    header = "# Generated by `mlopsctl crds` from the pydantic models; do not edit by hand.\n"
    return header + yaml.safe_dump(render_crd(spec), sort_keys=False, width=120)


def crd_files(directory: Path) -> dict[Path, str]:
    """Every CRD file that belongs in `directory`, with its content."""
    return {directory / f"{spec.crd_name}.yaml": crd_yaml(spec) for spec in KINDS}

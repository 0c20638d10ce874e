"""Turn validation failures into one line per problem: `path: what is wrong; how to fix`.

Used by `mlopsctl validate` and by the operator before it reconciles, so a user sees the same words in
their terminal and in the resource's `Ready=False` condition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from mlops_operator.api.v1alpha1 import API_VERSION, GlobalEndpoint, MLOpsPlatform, ModelDeployment

KINDS: dict[str, type[MLOpsPlatform] | type[ModelDeployment] | type[GlobalEndpoint]] = {
    "MLOpsPlatform": MLOpsPlatform,
    "ModelDeployment": ModelDeployment,
    "GlobalEndpoint": GlobalEndpoint,
}

_FIXES = {
    "missing": "required; add it",
    "extra_forbidden": "unknown field; remove it or fix its spelling (`kubectl explain` lists the fields)",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string; quote it",
    "dict_type": "must be a mapping of keys to values",
    "list_type": "must be a list",
    "model_type": "must be a mapping with the fields described in `kubectl explain`",
    "model_attributes_type": "must be a mapping with the fields described in `kubectl explain`",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a resource, with the field it is about."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class InvalidResourceError(ValueError):
    """A resource that does not satisfy the API; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def format_loc(loc: tuple[int | str, ...]) -> str:
    """`("spec", "instanceTypes", 0, "name")` -> `spec.instanceTypes[0].name`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-", "function_")):
            continue
        else:
            out += f".{part}" if out else part
    return out


def _description(model: type[BaseModel], loc: tuple[int | str, ...]) -> str | None:
    """The field description at `loc`, to tell the user what a valid value looks like."""
    current: Any = model
    description = None
    for part in loc:
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            continue
        field = next(
            (f for name, f in current.model_fields.items() if part in (name, f.alias)),
            None,
        )
        if field is None:
            return None
        description = field.description
        current = _inner_model(field.annotation)
    return description


def _inner_model(annotation: Any) -> Any:
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _message(error: Any, model: type[BaseModel]) -> str:
    kind = error["type"]
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind in _FIXES:
        return _FIXES[kind]
    msg = str(error["msg"]).replace("Input should be", "must be").replace("String should", "must")
    hint = _description(model, tuple(error["loc"]))
    return f"{msg}; expected: {hint}" if hint else msg


def problems_from(exc: ValidationError, model: type[BaseModel]) -> list[Problem]:
    """Every problem in a pydantic ValidationError, as `path: message; fix` lines."""
    return [Problem(format_loc(tuple(e["loc"])), _message(e, model)) for e in exc.errors()]


def parse_resource(document: Any) -> MLOpsPlatform | ModelDeployment | GlobalEndpoint:
    """Validate one YAML/JSON document as one of our kinds; raise InvalidResourceError listing every problem."""
    if not isinstance(document, dict):
        raise InvalidResourceError(
            [Problem("", "not a Kubernetes object (expected a mapping with apiVersion and kind)")]
        )
    kind = document.get("kind")
    model = KINDS.get(str(kind))
    if model is None:
        raise InvalidResourceError([Problem("kind", f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")])
    if document.get("apiVersion") != API_VERSION:
        got = document.get("apiVersion")
        raise InvalidResourceError([Problem("apiVersion", f"{got!r} is not served; use {API_VERSION}")])
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise InvalidResourceError(problems_from(exc, model)) from None

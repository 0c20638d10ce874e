"""Request-body validation driven by the SDKs' own generated REST models.

Two generator families are in play:

* TypeSpec models (``azure.ai.ml._restclient.arm_ml_service.models``, ``azure.mgmt.containerservice.models``):
  each field is a ``rest_field`` with a wire name, a visibility list and a type annotation. A field is
  required when its annotation is not Optional and it is writable; discriminators pick the subclass
  (``computeType``, ``endpointComputeType``). Enum-typed strings must be one of the enum's values
  (case-insensitive, as ARM compares them).
* msrest models (``azure.mgmt.kubernetesconfiguration.v2023_05_01.models``): ``Model.deserialize`` for types,
  then ``Model.validate()`` for ``_validation`` rules (required, constraints).

Each problem is an :class:`Issue` with a dotted JSON path, which becomes the ``target`` of a 400.
"""

from __future__ import annotations

import datetime
import enum
import functools
import sys
import types
import typing
from dataclasses import dataclass
from typing import Any

import isodate

from .errors import ArmError

_READ_ONLY = ["read"]


@dataclass(frozen=True)
class Issue:
    """One validation problem: where (dotted JSON path) and what."""

    path: str
    message: str


@dataclass(frozen=True)
class _FieldInfo:
    rest_name: str
    hint: Any
    writable: bool
    discriminator: bool


def _models_package(cls: type) -> types.ModuleType:
    return sys.modules[cls.__module__.rsplit(".", 1)[0]]


@functools.cache
def _fields(cls: type) -> dict[str, _FieldInfo]:
    cls.__new__(cls)  # type: ignore[call-overload]  # computes _attr_to_rest_field for this class
    module = sys.modules[cls.__module__]
    hints = typing.get_type_hints(cls, globalns={**vars(module), "_models": _models_package(cls)})
    fields = {}
    for attr, rf in cls._attr_to_rest_field.items():  # type: ignore[attr-defined]
        visibility = rf._visibility or ["read", "create", "update"]
        writable = bool(set(visibility) & {"create", "update"})
        fields[rf._rest_name] = _FieldInfo(rf._rest_name, hints.get(attr, Any), writable, rf._is_discriminator)
    return fields


def _is_typespec_model(hint: Any) -> bool:
    return (isinstance(hint, type) and hasattr(hint, "_attr_to_rest_field")) or (
        isinstance(hint, type) and getattr(hint, "_is_model", False)
    )


def _resolve_subclass(cls: type, data: dict[str, Any], path: str, issues: list[Issue]) -> type:
    mapping: dict[str, type] = getattr(cls, "__mapping__", {}) or {}
    disc = next((f for f in _fields(cls).values() if f.discriminator), None)
    if not mapping or disc is None:
        return cls
    value = data.get(disc.rest_name)
    if value is None:
        issues.append(Issue(_join(path, disc.rest_name), "Required property is missing."))
        return cls
    by_lower = {k.lower(): v for k, v in mapping.items()}
    if not isinstance(value, str) or value.lower() not in by_lower:
        issues.append(
            Issue(_join(path, disc.rest_name), f"Value '{value}' is not one of: {', '.join(sorted(mapping))}.")
        )
        return cls
    return by_lower[value.lower()]


def validate_typespec(cls: type, data: Any, *, path: str = "", reject_unknown: bool = True) -> list[Issue]:
    """Validate a JSON value against a TypeSpec model class, recursively."""
    if not isinstance(data, dict):
        return [Issue(path or "$", "Expected a JSON object.")]
    issues: list[Issue] = []
    cls = _resolve_subclass(cls, data, path, issues)
    fields = _fields(cls)
    for name, info in fields.items():
        value = data.get(name)
        if not info.writable:
            continue
        if value is None:
            if not _is_optional(info.hint):
                issues.append(Issue(_join(path, name), "Required property is missing."))
            continue
        issues.extend(_check(info.hint, value, _join(path, name), reject_unknown))
    if reject_unknown:
        issues.extend(Issue(_join(path, k), "Unknown property.") for k in data if k not in fields)
    return issues


def _is_optional(hint: Any) -> bool:
    return type(None) in typing.get_args(hint)


def _check(hint: Any, value: Any, path: str, reject_unknown: bool) -> list[Issue]:  # noqa: PLR0911
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return _check_union([a for a in args if a is not type(None)], value, path, reject_unknown)
    if origin is typing.Literal:
        return [] if value in args else [Issue(path, f"Value '{value}' is not one of: {list(args)}.")]
    if origin is dict:
        if not isinstance(value, dict):
            return [Issue(path, "Expected a JSON object.")]
        return [i for k, v in value.items() for i in _check(args[1], v, f"{path}.{k}", reject_unknown)]
    if origin is list:
        if not isinstance(value, list):
            return [Issue(path, "Expected a JSON array.")]
        return [i for n, v in enumerate(value) for i in _check(args[0], v, f"{path}[{n}]", reject_unknown)]
    if _is_typespec_model(hint):
        return validate_typespec(hint, value, path=path, reject_unknown=reject_unknown)
    return _check_scalar(hint, value, path)


def _check_union(options: list[Any], value: Any, path: str, reject_unknown: bool) -> list[Issue]:
    enums = [o for o in options if isinstance(o, type) and issubclass(o, enum.Enum)]
    if enums and all(o is str or o in enums for o in options):
        allowed = [e.value for en in enums for e in en]
        if isinstance(value, str) and value.lower() in {str(a).lower() for a in allowed}:
            return []
        return [Issue(path, f"Value '{value}' is not one of: {', '.join(map(str, allowed))}.")]
    if len(options) == 1:
        return _check(options[0], value, path, reject_unknown)
    attempts = [_check(o, value, path, reject_unknown) for o in options]
    return [] if any(not a for a in attempts) else attempts[0]


_SCALARS: dict[Any, tuple[tuple[type, ...], str]] = {
    str: ((str,), "a string"),
    bool: ((bool,), "a boolean"),
    int: ((int,), "an integer"),
    float: ((int, float), "a number"),
}


def _check_scalar(hint: Any, value: Any, path: str) -> list[Issue]:
    if hint in _SCALARS:
        kinds, label = _SCALARS[hint]
        if not isinstance(value, kinds) or (hint is not bool and isinstance(value, bool)):
            return [Issue(path, f"Expected {label}, got {type(value).__name__} {value!r}.")]
        return []
    parsers = {datetime.datetime: isodate.parse_datetime, datetime.timedelta: isodate.parse_duration}
    if hint in parsers:
        try:
            parsers[hint](value)
        except (isodate.ISO8601Error, TypeError, ValueError):
            return [Issue(path, f"Expected an ISO-8601 {hint.__name__}, got {value!r}.")]
    return []


_MSREST_SCALARS: dict[str, Any] = {
    "str": str,
    "bool": bool,
    "int": int,
    "long": int,
    "float": float,
    "iso-8601": datetime.datetime,
    "duration": datetime.timedelta,
}


def validate_msrest(cls: type, data: Any, *, path: str = "", reject_unknown: bool = True) -> list[Issue]:
    """Validate a JSON value against an msrest model: ``_attribute_map`` types, ``_validation`` rules."""
    if not isinstance(data, dict):
        return [Issue(path or "$", "Expected a JSON object.")]
    attribute_map: dict[str, dict[str, str]] = cls._attribute_map  # type: ignore[attr-defined]
    rules: dict[str, dict[str, Any]] = cls._validation  # type: ignore[attr-defined]
    issues: list[Issue] = []
    for attr, entry in attribute_map.items():
        wire_path = entry["key"].replace("\\.", "\0").split(".")
        wire_path = [part.replace("\0", ".") for part in wire_path]
        value = _dig(data, wire_path)
        rule = rules.get(attr, {})
        where = _join(path, ".".join(wire_path))
        if rule.get("readonly"):
            continue
        if value is None:
            if rule.get("required"):
                issues.append(Issue(where, "Required property is missing."))
            continue
        issues.extend(_check_msrest_type(cls, entry["type"], value, where, reject_unknown))
    if reject_unknown:
        known = [entry["key"].replace("\\.", ".").split(".") for entry in attribute_map.values()]
        issues.extend(_unknown_keys(data, known, path))
    return issues


def _check_msrest_type(cls: type, type_name: str, value: Any, path: str, reject_unknown: bool) -> list[Issue]:
    """Check one value against an msrest type string: ``{T}`` dict, ``[T]`` list, scalar or model name."""
    containers = {
        "{": (dict, "a JSON object", lambda v: v.items(), "{path}.{k}"),
        "[": (list, "a JSON array", enumerate, "{path}[{k}]"),
    }
    if type_name[:1] in containers and len(type_name) > 2:
        kind, label, items, where = containers[type_name[:1]]
        if not isinstance(value, kind):
            return [Issue(path, f"Expected {label}.")]
        inner = type_name[1:-1]
        return [
            issue
            for k, v in items(value)
            for issue in _check_msrest_type(cls, inner, v, where.format(path=path, k=k), reject_unknown)
        ]
    if type_name in _MSREST_SCALARS:
        return _check_scalar(_MSREST_SCALARS[type_name], value, path)
    model = getattr(_models_package(cls), type_name, None)
    if isinstance(model, type) and hasattr(model, "_attribute_map"):
        return validate_msrest(model, value, path=path, reject_unknown=reject_unknown)
    return []


def _dig(data: dict[str, Any], wire_path: list[str]) -> Any:
    value: Any = data
    for part in wire_path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _unknown_keys(data: dict[str, Any], known: list[list[str]], path: str) -> list[Issue]:
    issues = []
    for key, value in data.items():
        nested = [k[1:] for k in known if k[0] == key and len(k) > 1]
        if not any(k[0] == key for k in known):
            issues.append(Issue(_join(path, key), "Unknown property."))
        elif nested and isinstance(value, dict):
            issues.extend(_unknown_keys(value, nested, _join(path, key)))
    return issues


def raise_for_issues(issues: list[Issue], code: str = "InvalidRequestContent") -> None:
    """Turn validation issues into one ARM 400, naming the first offending field in message and target."""
    if not issues:
        return
    first = issues[0]
    details = [{"code": code, "message": f"{i.path}: {i.message}", "target": i.path} for i in issues]
    raise ArmError(
        400,
        code,
        f"The request content was invalid: '{first.path}': {first.message}",
        target=first.path,
        details=details,
    )


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name

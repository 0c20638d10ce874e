"""A small evaluator for ARM template language expressions (``"[parameters('x')]"``), enough for the templates
azure-ai-ml submits (workspace creation).

Parameters and variables are evaluated lazily, and ``if``/``and``/``or`` only evaluate the branch they need,
so functions the fake does not implement (``reference``, ``copyIndex``...) only fail when a resource that is
actually deployed uses them: with ``InvalidTemplate``, as ARM's preflight reports template errors.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import ArmError

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+)|(?P<id>[A-Za-z_][\w]*)|(?P<op>[(),.\[\]]))")
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "securestring": (str,),
    "int": (int,),
    "bool": (bool,),
    "object": (dict,),
    "secureobject": (dict,),
    "array": (list,),
}


def invalid_template(message: str) -> ArmError:
    return ArmError(400, "InvalidTemplate", f"Deployment template validation failed: '{message}'.")


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("[") and value.endswith("]") and not value.startswith("[[")


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(text.rstrip()):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise invalid_template(f"The template language expression '{text}' is not valid at position {pos}")
        pos = match.end()
        kind = match.lastgroup or "op"
        value: Any = match.group(kind)
        if kind == "str":
            value = value[1:-1].replace("''", "'")
        elif kind == "num":
            value = int(value)
        out.append((kind, value))
    return out


@dataclass
class _Call:
    name: str
    args: list[Any]
    accessors: list[Any] = field(default_factory=list)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.items, self.pos = text, _tokens(text), 0

    def parse(self) -> Any:
        node = self.expr()
        if self.pos != len(self.items):
            raise invalid_template(f"The template language expression '{self.text}' has trailing characters")
        return node

    def take(self, op: str | None = None) -> tuple[str, Any]:
        if self.pos >= len(self.items) or (op is not None and self.items[self.pos] != ("op", op)):
            raise invalid_template(f"The template language expression '{self.text}' is not valid: expected '{op}'")
        self.pos += 1
        return self.items[self.pos - 1]

    def peek(self, op: str) -> bool:
        return self.pos < len(self.items) and self.items[self.pos] == ("op", op)

    def expr(self) -> Any:
        kind, value = self.take()
        if kind in ("str", "num"):
            return ("lit", value)
        if kind != "id":
            raise invalid_template(f"The template language expression '{self.text}' is not valid")
        if value in ("true", "false", "null") and not self.peek("("):
            return ("lit", {"true": True, "false": False, "null": None}[value])
        self.take("(")
        call = _Call(value, [])
        while not self.peek(")"):
            call.args.append(self.expr())
            if not self.peek(")"):
                self.take(",")
        self.take(")")
        while self.peek(".") or self.peek("["):
            if self.take()[1] == ".":
                call.accessors.append(("lit", self.take()[1]))
            else:
                call.accessors.append(self.expr())
                self.take("]")
        return call


class TemplateContext:
    """Parameters bound to values, variables, and the deployment's scope; evaluates any JSON value."""

    def __init__(self, template: dict[str, Any], values: dict[str, Any], scope: dict[str, str]) -> None:
        self.template, self.values, self.scope = template, values, scope
        self._cache: dict[tuple[str, str], Any] = {}
        self._functions: dict[str, Callable[..., Any]] = _functions(self)

    def evaluate(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.evaluate(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.evaluate(v) for v in value]
        if is_expression(value):
            return self._eval(_Parser(value[1:-1]).parse())
        if isinstance(value, str) and value.startswith("[["):
            return value[1:]
        return value

    def _eval(self, node: Any) -> Any:
        if isinstance(node, tuple):
            return node[1]
        lazy = {"if", "and", "or"}
        args = node.args if node.name.lower() in lazy else [self._eval(a) for a in node.args]
        func = self._functions.get(node.name.lower())
        if func is None:
            raise invalid_template(f"The template function '{node.name}' is not supported by the fake ARM server")
        result = func(*args)
        for accessor in node.accessors:
            key = self._eval(accessor)
            try:
                result = result[key]
            except (KeyError, IndexError, TypeError):
                raise invalid_template(f"The language expression property '{key}' doesn't exist") from None
        return result

    def parameter(self, name: str) -> Any:
        return self._lookup("parameters", name, lambda key, spec: self.values.get(key, spec.get("defaultValue")))

    def variable(self, name: str) -> Any:
        return self._lookup("variables", name, lambda key, spec: spec)

    def _lookup(self, section: str, name: str, raw: Callable[[str, Any], Any]) -> Any:
        declared = {k.lower(): (k, v) for k, v in (self.template.get(section) or {}).items()}
        if name.lower() not in declared:
            raise invalid_template(f"The template {section[:-1]} '{name}' is not found")
        cache_key = (section, name.lower())
        if cache_key not in self._cache:
            self._cache[cache_key] = self.evaluate(raw(*declared[name.lower()]))
        return self._cache[cache_key]

    @property
    def resource_group_id(self) -> str:
        return f"/subscriptions/{self.scope['subscription']}/resourceGroups/{self.scope['resourceGroup']}"

    def branch(self, condition: Any, yes: Any, no: Any) -> Any:
        return self._eval(yes) if _truthy(self._eval(condition)) else self._eval(no)

    def resource_id(self, *args: str) -> str:
        """resourceId([subscriptionId], [resourceGroupName], type, name1, name2...)."""
        parts = [str(p) for p in args]
        type_at = next((i for i, p in enumerate(parts) if "/" in p and "." in p.split("/")[0]), None)
        if type_at is None or type_at > 2:
            raise invalid_template(f"Unable to evaluate template language function 'resourceId': arguments {args}")
        scope = parts[:type_at]
        sub = (scope[0] if len(scope) == 2 else "") or self.scope["subscription"]
        rg = (scope[-1] if scope else "") or self.scope["resourceGroup"]
        rg_id = f"/subscriptions/{sub}/resourceGroups/{rg}"
        return compose_id(rg_id, parts[type_at], "/".join(parts[type_at + 1 :]))


def compose_id(rg_id: str, arm_type: str, name: str) -> str:
    """``NS/a/b`` + ``x/y`` -> ``<rg>/providers/NS/a/x/b/y``."""
    namespace, *types = arm_type.split("/")
    names = name.split("/")
    if len(types) != len(names):
        raise invalid_template(f"The resource name '{name}' does not match the segments of type '{arm_type}'")
    return f"{rg_id}/providers/{namespace}/" + "/".join(f"{t}/{n}" for t, n in zip(types, names, strict=True))


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)


def _unique_string(*args: Any) -> str:
    digest = hashlib.sha256("|".join(map(str, args)).encode()).hexdigest()
    return "".join(c for c in digest if c.isalnum())[:13]


def _functions(ctx: TemplateContext) -> dict[str, Callable[..., Any]]:
    scope = ctx.scope
    return {
        "parameters": ctx.parameter,
        "variables": ctx.variable,
        "if": ctx.branch,
        "and": lambda *a: all(_truthy(ctx._eval(x)) for x in a),
        "or": lambda *a: any(_truthy(ctx._eval(x)) for x in a),
        "not": lambda a: not _truthy(a),
        "equals": lambda a, b: a == b,
        "empty": lambda a: a is None or len(a) == 0,
        "concat": lambda *a: [x for part in a for x in part] if a and isinstance(a[0], list) else "".join(map(str, a)),
        "tolower": lambda a: str(a).lower(),
        "toupper": lambda a: str(a).upper(),
        "string": lambda a: a if isinstance(a, str) else json.dumps(a),
        "bool": _truthy,
        "int": int,
        "json": json.loads,
        "length": len,
        "contains": lambda a, b: b in a,
        "array": lambda a: a if isinstance(a, list) else [a],
        "resourceid": ctx.resource_id,
        "subscriptionresourceid": lambda *a: compose_id(f"/subscriptions/{scope['subscription']}", a[-2], a[-1])
        if len(a) >= 2 else "",
        "subscription": lambda: {"id": f"/subscriptions/{scope['subscription']}",
                                 "subscriptionId": scope["subscription"], "tenantId": scope["tenant"]},
        "resourcegroup": lambda: {"id": ctx.resource_group_id, "name": scope["resourceGroup"],
                                  "location": scope["location"]},
        "uniquestring": _unique_string,
        "guid": lambda *a: str(uuid.uuid5(uuid.NAMESPACE_URL, "|".join(map(str, a)))),
        "newguid": lambda: str(uuid.uuid4()),
    }  # fmt: skip


def bind_parameters(template: dict[str, Any], supplied: dict[str, Any]) -> dict[str, Any]:
    """Check supplied parameter values against the template's declarations, as ARM's preflight does."""
    declared = {k.lower(): (k, v) for k, v in (template.get("parameters") or {}).items()}
    unknown = [k for k in supplied if k.lower() not in declared]
    if unknown:
        raise ArmError(
            400,
            "InvalidTemplate",
            f"The template parameters '{', '.join(unknown)}' in the parameters file are not valid; they are not "
            "present in the original template and can therefore not be provided at deployment time. The only "
            f"supported parameters for this template are '{', '.join(k for k, _ in declared.values())}'.",
        )
    values: dict[str, Any] = {}
    for key, (name, spec) in declared.items():
        entry = next((v for k, v in supplied.items() if k.lower() == key), None)
        if entry is not None and not (isinstance(entry, dict) and "value" in entry):
            message = f"The value of deployment parameter '{name}' is not an object with 'value'."
            raise ArmError(400, "InvalidDeploymentParameterValue", message)
        value = entry["value"] if entry is not None else None
        if value is None:
            if "defaultValue" not in spec:
                raise invalid_template(f"The value for the template parameter '{name}' is not provided")
            continue
        _check_parameter(name, spec, value)
        values[name] = value
    return values


def _check_parameter(name: str, spec: dict[str, Any], value: Any) -> None:
    expected = str(spec.get("type", "")).lower()
    kinds = _TYPES.get(expected)
    if kinds is None:
        raise invalid_template(f"The template parameter '{name}' has an invalid type '{spec.get('type')}'")
    if not isinstance(value, kinds) or (expected == "int" and isinstance(value, bool)):
        raise invalid_template(
            f"Template parameter '{name}' was provided an invalid value. Expected a value of type "
            f"'{spec.get('type')}', but received a value of type '{type(value).__name__}'"
        )
    allowed = spec.get("allowedValues")
    if allowed is not None and value not in allowed:
        raise invalid_template(
            f"The provided value '{value}' for the template parameter '{name}' is not valid. The parameter value "
            f"is not part of the allowed value(s): '{','.join(map(str, allowed))}'"
        )

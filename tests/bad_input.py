"""The bad input corpus (tests/corpus/bad_input/): cases as data, and the manifests they stand for.

Each file is one class of bad input. A case names what is sent (a merge patch onto the good base manifests
in base.yaml, raw text, or a request to the scoring server), where it must be refused and why:

- `admission`: the API server refuses it; `field` is the field path its message must name.
- `status`: the operator reports it; `condition` must be False with `reason`.
- `client`: `mlopsctl validate` refuses it before anything reaches the cluster; `message` is in its output.
- `scoring`: the scoring server answers `status` and keeps serving.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CORPUS = Path(__file__).resolve().parent / "corpus" / "bad_input"
BASE = {doc["kind"]: doc for doc in yaml.safe_load_all((CORPUS / "base.yaml").read_text())}


@dataclass(frozen=True)
class Case:
    """One bad input and where it must be refused."""

    klass: str
    name: str
    why: str
    refused: dict[str, Any]
    kind: str = "ModelDeployment"
    patch: dict[str, Any] = field(default_factory=dict)
    companions: tuple[dict[str, Any], ...] = ()
    text: str = ""
    request: dict[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return str(self.refused["at"])

    @property
    def id(self) -> str:
        return f"{self.klass}/{self.name}"


def merge(base: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: mappings merge, null removes, anything else replaces."""
    if not isinstance(patch, dict) or not isinstance(base, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge(out.get(key), value)
    return out


def expand(value: Any) -> Any:
    """Generated sizes: `{stringOf: N}`, `{mapOf: N}` (N variables) and `{listOf: N, item: ...}` ("{i}" numbered)."""
    if isinstance(value, list):
        return [expand(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "stringOf" in value:
        return "x" * value["stringOf"]
    if "mapOf" in value:
        return {f"VAR_{i}": "x" for i in range(value["mapOf"])}
    if "listOf" in value:
        item = yaml.safe_dump(value["item"])
        return [yaml.safe_load(item.replace("{i}", str(i))) for i in range(value["listOf"])]
    return {k: expand(v) for k, v in value.items()}


def manifest(case: Case, patch: dict[str, Any] | None = None) -> dict[str, Any]:
    """The base manifest of the case's kind with its patch (or a companion's) applied."""
    body = expand(merge(BASE[case.kind], case.patch if patch is None else patch))
    assert isinstance(body, dict)
    return body


def verbatim_env_values() -> list[str]:
    """Injection-looking environment variable values, which are data and must pass through unchanged."""
    return list(yaml.safe_load((CORPUS / "injection.yaml").read_text())["verbatim"])


def load_cases(where: str | None = None) -> list[Case]:
    cases = []
    for path in sorted(CORPUS.glob("*.yaml")):
        if path.name == "base.yaml":
            continue
        document = yaml.safe_load(path.read_text())
        for raw in document["cases"]:
            companions = tuple(raw.pop("companions", ()))
            cases.append(Case(klass=path.stem, companions=companions, **raw))
    return [c for c in cases if where is None or c.where == where]

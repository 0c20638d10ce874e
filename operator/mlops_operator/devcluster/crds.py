"""Installing CRDs from YAML files and waiting until the apiserver serves them."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

POLL_INTERVAL_S = 0.1
SERVED_CONDITIONS = ("Established", "NamesAccepted")


class CrdNotEstablishedError(TimeoutError):
    """A CRD was applied but did not reach Established before the deadline."""


def yaml_files(paths: Iterable[Path]) -> list[Path]:
    """Files as given, directories expanded to their *.yaml / *.yml files in name order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml")))
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(path)
    return files


def crd_names(files: Iterable[Path]) -> list[str]:
    """metadata.name of every CustomResourceDefinition document in `files`."""
    names: list[str] = []
    for file in files:
        for doc in yaml.safe_load_all(file.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                names.append(str(doc["metadata"]["name"]))
    return names


def _conditions(crd: Any) -> dict[str, str]:
    conditions = (crd.status.conditions if crd.status else None) or []
    return {str(c.type): str(c.status) for c in conditions}


def wait_established(api: client.ApiClient, names: Iterable[str], timeout: float) -> None:
    """Poll until every named CRD is Established and its names are accepted."""
    extensions = client.ApiextensionsV1Api(api)
    pending = set(names)
    deadline = time.monotonic() + timeout
    while pending:
        for name in sorted(pending):
            conditions = _conditions(extensions.read_custom_resource_definition(name))
            if all(conditions.get(kind) == "True" for kind in SERVED_CONDITIONS):
                pending.discard(name)
        if not pending:
            return
        if time.monotonic() > deadline:
            raise CrdNotEstablishedError(f"not Established after {timeout:.0f}s: {', '.join(sorted(pending))}")
        time.sleep(POLL_INTERVAL_S)

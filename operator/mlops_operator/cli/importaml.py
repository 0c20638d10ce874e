"""Convert Azure ML CLI v2 YAML (online endpoint + deployments) into ModelDeployment resources.

Reads endpoint and deployment YAML files (any order, multi-document allowed), takes traffic from the
endpoint, writes ModelDeployments (and ConfigMaps for local code folders with --with-code) to stdout,
validated against the API. Notes about fields with no equivalent go to stderr.

  mlopsctl import endpoint.yml blue-deployment.yml green-deployment.yml --platform local -n models

Exit codes:
  0  converted; every ModelDeployment is valid (notes go to stderr)
  1  a file could not be read or converted, or a result is invalid (problems on stderr)
  2  usage error
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="Azure ML endpoint/deployment YAML")
    parser.add_argument("--platform", default="default", help="MLOpsPlatform the deployments use (default: default)")
    parser.add_argument("-n", "--namespace", help="namespace of the ModelDeployments")
    parser.add_argument(
        "--with-code",
        action="store_true",
        help="also emit a ConfigMap with the files of each local code_configuration.code folder",
    )


def _load(paths: list[Path]) -> list[tuple[Path, dict[str, Any]]]:
    loaded = []
    for path in paths:
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict):
                loaded.append((path, doc))
    return loaded


def _code_configmap(name: str, folder: Path, namespace: str | None) -> dict[str, Any]:
    data = {
        p.name: p.read_text(encoding="utf-8")
        for p in sorted(folder.iterdir())
        if p.is_file() and p.suffix in (".py", ".json", ".yaml", ".yml", ".txt", ".cfg")
    }
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


def run(args: argparse.Namespace) -> int:
    from mlops_operator.api.problems import InvalidResourceError, parse_resource
    from mlops_operator.importers.azureml_yaml import convert

    try:
        loaded = _load(args.files)
        conversion = convert([doc for _, doc in loaded], args.platform, args.namespace)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    failed = False
    for document in conversion.documents:
        try:
            parse_resource(document)
        except InvalidResourceError as exc:
            failed = True
            for problem in exc.problems:
                print(f"{document['metadata']['name']}: {problem}", file=sys.stderr)
    output = list(conversion.documents)
    if args.with_code:
        output.extend(_code_maps(loaded, conversion.documents, args.namespace))
    for note in conversion.notes:
        print(f"note: {note}", file=sys.stderr)
    print(yaml.safe_dump_all(output, sort_keys=False), end="")
    return 1 if failed else 0


def _code_maps(
    loaded: list[tuple[Path, dict[str, Any]]], documents: list[dict[str, Any]], namespace: str | None
) -> list[dict[str, Any]]:
    maps = []
    by_name = {d["metadata"]["name"]: d for d in documents}
    for path, doc in loaded:
        code = (doc.get("code_configuration") or {}).get("code")
        folder = (path.parent / str(code)) if code and not str(code).startswith("azureml:") else None
        target = by_name.get(str(doc.get("name", "")).lower())
        configmap = (target or {}).get("spec", {}).get("code", {}).get("configMap", {}).get("name")
        if folder is not None and folder.is_dir() and configmap:
            maps.append(_code_configmap(configmap, folder, namespace))
    return maps

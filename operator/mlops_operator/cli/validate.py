"""`mlopsctl validate`: check resources offline, one line per problem, never a traceback.

Exit codes:
  0  every resource of ours is valid
  1  a resource is invalid (one line per problem), or nothing of ours was found
  2  usage error
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import yaml

from mlops_operator.api.problems import InvalidResourceError, Problem, parse_resource
from mlops_operator.api.v1alpha1 import GROUP


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="YAML files (multi-document) or directories of them; '-' or nothing reads standard input",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print problems only, no summary line")


def _documents(source: str, stream: TextIO) -> Iterator[tuple[str, Any]]:
    try:
        for index, document in enumerate(yaml.safe_load_all(stream), start=1):
            if document is not None:
                yield f"{source}:{index}", document
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:line {mark.line + 1}" if mark else source
        yield where, _YamlError(str(getattr(exc, "problem", exc)))


class _YamlError:
    def __init__(self, message: str) -> None:
        self.message = message


def _sources(files: list[str]) -> Iterator[tuple[str, Any]]:
    if not files or files == ["-"]:
        yield from _documents("<stdin>", sys.stdin)
        return
    for name in files:
        path = Path(name)
        paths = sorted([*path.glob("*.yaml"), *path.glob("*.yml")]) if path.is_dir() else [path]
        for item in paths:
            try:
                with item.open(encoding="utf-8") as stream:
                    yield from _documents(str(item), stream)
            except OSError as exc:
                yield str(item), _YamlError(f"cannot read: {exc.strerror}")


def is_ours(document: Any) -> bool:
    """Documents of other API groups (ConfigMaps, kustomize output...) are skipped, not failed."""
    if not isinstance(document, dict):
        return True
    api_version = str(document.get("apiVersion", ""))
    return not api_version or api_version.split("/", maxsplit=1)[0] == GROUP


def check(document: Any) -> list[Problem]:
    """Problems with one document (empty when it is valid)."""
    if isinstance(document, _YamlError):
        return [Problem("", f"not valid YAML: {document.message}")]
    try:
        parse_resource(document)
    except InvalidResourceError as exc:
        return exc.problems
    return []


def run(args: argparse.Namespace) -> int:
    checked = failed = skipped = 0
    for where, document in _sources(args.files):
        if not is_ours(document):
            skipped += 1
            continue
        checked += 1
        problems = check(document)
        failed += bool(problems)
        for problem in problems:
            print(f"{where}: {problem}")
    if not args.quiet:
        print(
            f"{checked} resource(s) checked, {failed} invalid, {skipped} of other kinds skipped",
            file=sys.stderr,
        )
    return 1 if failed or checked == 0 else 0

"""The CI examples (examples/pipelines/) match their published schemas and every mlopsctl line parses.

The schemas are the ones the `check-jsonschema` package vendors (SchemaStore's GitHub workflow schema and
Microsoft's Azure Pipelines schema); those tests skip where that package is not installed.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from mlops_operator.cli.main import build_parser
from mlops_operator.cli.validate import check

PIPELINES = Path(__file__).parents[3] / "examples" / "pipelines"
GITHUB = PIPELINES / "github-actions.yml"
AZURE = PIPELINES / "azure-pipelines.yml"
CALLED = {"validate", "wait", "smoke", "promote", "status"}


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    if True in document:  # YAML 1.1 reads the workflow key `on` as a boolean
        document["on"] = document.pop(True)
    return dict(document)


def vendored_schema(name: str) -> dict[str, Any]:
    spec = importlib.util.find_spec("check_jsonschema")  # found without importing its CLI
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("check-jsonschema (which vendors the schemas) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "builtin_schemas" / "vendor" / name
    return dict(json.loads(path.read_text()))


def test_the_github_workflow_matches_schemastores_schema() -> None:
    jsonschema.validate(load(GITHUB), vendored_schema("github-workflows.json"))


def test_the_azure_pipeline_matches_microsofts_schema() -> None:
    jsonschema.validate(load(AZURE), vendored_schema("azure-pipelines.json"))


def scripts(node: Any) -> Iterator[str]:
    """Every shell script of a pipeline: GitHub's `run`, Azure's `script`."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("run", "script") and isinstance(value, str):
                yield value
            else:
                yield from scripts(value)
    elif isinstance(node, list):
        for item in node:
            yield from scripts(item)


def mlopsctl_lines(path: Path) -> list[str]:
    found = []
    for script in scripts(load(path)):
        for line in script.replace("\\\n", " ").splitlines():
            for part in re.split(r"\|\||&&|;|\|", line):
                if "mlopsctl " in part:
                    found.append(part[part.index("mlopsctl ") :].strip())
    return found


def as_argv(line: str) -> list[str]:
    """Shell words with variables replaced by a valid name, as the shell would expand them."""
    expanded = re.sub(r"\$\([\w.]+\)|\$\{\{[^}]*\}\}|\$\{?\w+\}?", "placeholder", line)
    return shlex.split(expanded)[1:]


@pytest.mark.parametrize("path", [GITHUB, AZURE], ids=["github-actions", "azure-devops"])
def test_every_mlopsctl_command_of_the_pipeline_parses(path: Path) -> None:
    lines = mlopsctl_lines(path)
    for line in lines:
        try:
            build_parser().parse_args(as_argv(line))
        except SystemExit as exc:
            pytest.fail(f"{path.name}: `{line}` does not parse (exit {exc.code})")
    assert {as_argv(line)[0] for line in lines} == CALLED


def test_the_candidate_template_renders_to_a_valid_model_deployment() -> None:
    text = string.Template((PIPELINES / "candidate.yaml.in").read_text()).substitute(
        CANDIDATE="diabetes-green", NAMESPACE="models", MODEL_VERSION="42"
    )
    document = yaml.safe_load(text)
    assert check(document) == []
    assert document["spec"]["model"] == {
        "name": "sklearn-diabetes",
        "version": "42",
        "uri": "configmap://sklearn-diabetes-model-42",
    }


def test_the_sample_request_is_what_the_example_model_takes() -> None:
    rows = json.loads((PIPELINES / "sample-request.json").read_text())["data"]
    assert [len(row) for row in rows] == [10]

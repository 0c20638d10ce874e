"""`mlopsctl validate` prints one line per problem and exits 1, never a traceback; help is there for all."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_operator.cli.main import COMMANDS, main

REPO = Path(__file__).parents[3]

BAD = """\
apiVersion: mlops.dev/v1alpha1
kind: ModelDeployment
metadata: {name: blue, namespace: default}
spec:
  platformRef: {name: local}
  endpoint: {name: diabetes}
  model: {name: m, version: "1"}
  traffic: 150
---
apiVersion: v1
kind: ConfigMap
metadata: {name: other}
---
apiVersion: mlops.dev/v1alpha1
kind: MLOpsPlatform
metadata: {name: local}
spec: {backend: gke}
"""


def test_valid_examples_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(REPO / "examples")]) == 0
    assert "0 invalid" in capsys.readouterr().err


def test_each_problem_is_one_line_naming_file_document_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    assert main(["validate", str(bad)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{bad}:1: spec.traffic: must be less than or equal to 100; expected: Percent of the endpoint's live "
        "traffic (0-100).",
        f"{bad}:3: spec.backend: must be 'native' or 'azureml'; expected: `native` serves models itself on any "
        "cluster; `azureml` drives Azure ML.",
    ]


def test_standard_input_is_read_when_no_file_is_given(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(BAD))
    assert main(["validate", "-"]) == 1
    assert capsys.readouterr().out.startswith("<stdin>:1: spec.traffic:")


def test_broken_yaml_and_missing_files_are_reported_without_a_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("spec: [unclosed\n")
    result = subprocess.run(
        [sys.executable, "-m", "mlops_operator.cli.main", "validate", str(broken), str(tmp_path / "missing.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert "not valid YAML" in result.stdout
    assert "cannot read" in result.stdout


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_subcommand_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: mlopsctl {command}")
    assert len(out.splitlines()) > 3

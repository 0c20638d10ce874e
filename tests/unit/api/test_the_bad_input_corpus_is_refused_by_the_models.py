"""The bad input corpus offline: the models refuse what admission refuses (naming the same field), accept what
only the operator can judge, `mlopsctl validate` refuses text that is not a resource, and environment values
that look like injection pass through verbatim."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bad_input import Case, load_cases, manifest, verbatim_env_values
from mlops_operator.api.problems import InvalidResourceError, parse_resource
from mlops_operator.api.v1alpha1 import InstanceType, ModelDeployment
from mlops_operator.cli import validate
from mlops_operator.render.workload import WorkloadInputs, render_deployment

ADMISSION = load_cases("admission")
STATUS = load_cases("status")
CLIENT = load_cases("client")


@pytest.mark.parametrize("case", ADMISSION, ids=[c.id for c in ADMISSION])
def test_the_models_refuse_what_admission_refuses_at_the_same_field(case: Case) -> None:
    with pytest.raises(InvalidResourceError) as refused:
        parse_resource(manifest(case))

    paths = [problem.path for problem in refused.value.problems]
    assert any(case.refused["field"].startswith(path) for path in paths), paths


@pytest.mark.parametrize("case", STATUS, ids=[c.id for c in STATUS])
def test_the_models_accept_what_only_the_operator_can_judge(case: Case) -> None:
    for patch in (case.patch, *case.companions):
        parse_resource(manifest(case, patch))


@pytest.mark.parametrize("case", CLIENT, ids=[c.id for c in CLIENT])
def test_mlopsctl_validate_refuses_text_that_is_not_a_resource(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"{case.name}.yaml"
    path.write_text(case.text)

    code = validate.run(argparse.Namespace(files=[str(path)], quiet=True))

    assert code == 1
    assert case.refused["message"] in capsys.readouterr().out


SMALL = InstanceType.model_validate(
    {"name": "small", "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "1", "memory": "1Gi"}}}
)


@pytest.mark.parametrize("value", verbatim_env_values())
def test_an_injection_looking_env_value_reaches_the_container_verbatim(value: str) -> None:
    case = Case("injection", "verbatim", "", {"at": "none"})
    md = ModelDeployment.model_validate(manifest(case, {"spec": {"environmentVariables": {"GREETING": value}}}))

    pod = render_deployment(md, WorkloadInputs(instance_type=SMALL, image="scoring:1", fetcher_image="f:1"))
    env = pod["spec"]["template"]["spec"]["containers"][0]["env"]

    assert {"name": "GREETING", "value": value} in env

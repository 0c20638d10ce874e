"""Loading a score script decides, once, how run() gets its input; broken scripts fail at load."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conftest import DIFF_SCRIPTS, SCRIPTS
from mlops_operator.scoring.config import ScoringConfig
from mlops_operator.scoring.loader import InputKind, ScriptError, initialise, load_script, schema_arguments


def test_an_undecorated_run_gets_the_body_as_a_string(config_for: Callable[..., ScoringConfig]) -> None:
    script = load_script(config_for(DIFF_SCRIPTS / "plain_run.py"))
    assert (script.kind, script.param_name, script.wants_headers) == (InputKind.STRING, "raw_data", False)


def test_a_request_headers_parameter_is_detected(config_for: Callable[..., ScoringConfig]) -> None:
    script = load_script(config_for(SCRIPTS / "echo_headers.py"))
    assert script.wants_headers is True
    assert script.kind is InputKind.STRING


def test_an_input_schema_run_gets_its_parameters_by_name(config_for: Callable[..., ScoringConfig]) -> None:
    script = load_script(config_for(DIFF_SCRIPTS / "schema_run.py"))
    assert script.kind is InputKind.SCHEMA
    assert [name for name, _ in script.schema_params] == ["data", "scale"]
    assert schema_arguments(script, {"data": [[1]]}) == {"data": [[1]], "scale": 1.0}
    with pytest.raises(KeyError, match="data"):
        schema_arguments(script, {"scale": 2})


def test_a_rawhttp_run_gets_the_request(config_for: Callable[..., ScoringConfig]) -> None:
    script = load_script(config_for(DIFF_SCRIPTS / "raw_http.py"))
    assert (script.kind, script.param_name) == (InputKind.RAW, "request")


def test_run_batch_is_found_when_defined(config_for: Callable[..., ScoringConfig]) -> None:
    assert load_script(config_for(SCRIPTS / "with_batch.py")).run_batch is not None
    assert load_script(config_for(SCRIPTS / "echo_headers.py")).run_batch is None


def test_a_driver_modules_inner_run_is_called_but_its_own_init(config_for: Callable[..., ScoringConfig]) -> None:
    script = load_script(config_for(SCRIPTS / "driver.py"))
    assert script.run.__module__ == "inner_score"
    assert script.init.__module__ == "entry_module"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("star_args.py", "run() cannot accept positional-only arguments, *args, or **kwargs."),
        ("only_headers.py", 'run() needs to accept an argument other than "request_headers".'),
        ("no_init.py", "does not have a init() function defined."),
        ("raw_and_schema.py", "run() cannot be decorated with both @rawhttp and @input_schema"),
    ],
)
def test_a_script_upstream_refuses_is_refused_with_its_message(
    config_for: Callable[..., ScoringConfig], name: str, message: str
) -> None:
    with pytest.raises(ScriptError) as error:
        load_script(config_for(SCRIPTS / name))
    assert message in str(error.value)


def test_a_script_that_fails_to_import_names_the_cause(config_for: Callable[..., ScoringConfig]) -> None:
    with pytest.raises(ScriptError, match="ModuleNotFoundError"):
        load_script(config_for(DIFF_SCRIPTS / "failing_import.py"))


def test_a_missing_script_is_reported_as_missing(config_for: Callable[..., ScoringConfig]) -> None:
    with pytest.raises(ScriptError, match="does not exist"):
        load_script(config_for(SCRIPTS / "not_there.py"))


def test_init_raising_becomes_a_script_error(config_for: Callable[..., ScoringConfig]) -> None:
    script = load_script(config_for(SCRIPTS / "init_raises.py"))
    with pytest.raises(ScriptError, match=r"init\(\) failed: FileNotFoundError"):
        initialise(script)


def test_a_relative_entry_script_is_found_under_the_app_root(config_for: Callable[..., ScoringConfig]) -> None:
    config = config_for(SCRIPTS / "echo_headers.py").replace(entry_script="echo_headers.py", app_root=str(SCRIPTS))
    assert load_script(config).path.endswith("echo_headers.py")

"""Shell completion is generated from the argparse parser, and every command's --help lists exit codes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mlops_operator.cli.completion import bash_script, commands_of, zsh_script
from mlops_operator.cli.main import COMMANDS, build_parser


def complete(script: str, words: list[str], tmp_path: Path) -> list[str]:
    """What bash's completion function offers for `words` (the last one being completed)."""
    path = tmp_path / "complete.bash"
    path.write_text(script)
    array = " ".join(f"'{w}'" for w in words)
    show = 'printf "%s\\n" "${COMPREPLY[@]}"'
    probe = f"source {path}; COMP_WORDS=({array}); COMP_CWORD={len(words) - 1}; _mlopsctl; {show}"
    result = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path)
    return result.stdout.split()


def test_every_registered_command_is_described() -> None:
    assert [c.name for c in commands_of(build_parser())] == list(COMMANDS)


def test_bash_completes_commands_options_and_choices(tmp_path: Path) -> None:
    script = bash_script(commands_of(build_parser()))
    assert complete(script, ["mlopsctl", "prom"], tmp_path) == ["promote"]
    assert set(complete(script, ["mlopsctl", "status", "--"], tmp_path)) >= {"--watch", "--output", "--namespace"}
    assert complete(script, ["mlopsctl", "status", "-o", ""], tmp_path) == ["table", "json", "yaml"]
    assert complete(script, ["mlopsctl", "completion", ""], tmp_path) == ["bash", "zsh"]


def test_the_zsh_script_describes_every_command_and_its_option_values() -> None:
    script = zsh_script(commands_of(build_parser()))
    assert script.startswith("#compdef mlopsctl\n")
    assert "'wait:wait until a ModelDeployment is Ready at its generation (a CI gate)'" in script
    assert "        --for) compadd -- ready deleted; return;;\n" in script


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed on this machine")
def test_zsh_parses_the_zsh_script(tmp_path: Path) -> None:
    path = tmp_path / "_mlopsctl"
    path.write_text(zsh_script(commands_of(build_parser())))
    subprocess.run(["zsh", "-n", str(path)], check=True)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_help_documents_the_exit_codes(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    help_text = capsys.readouterr().out
    assert "Exit codes:" in help_text
    assert "  2  usage error" in help_text or "  2    usage error" in help_text

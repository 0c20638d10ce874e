"""Entry point of `mlopsctl`. Each subcommand lives in its own module with `add_arguments` and `run`."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from mlops_operator import __version__

# name -> (module, one-line help). Each module imports its heavy dependencies (kopf, Azure, uvicorn) inside
# `run`, so building the parser stays fast and `mlopsctl validate` never loads them.
COMMANDS: dict[str, tuple[str, str]] = {
    "dev": ("mlops_operator.cli.dev", "run a local cluster with the operator and the examples (quick start)"),
    "operator": ("mlops_operator.cli.operator", "run the operator (reconciles MLOpsPlatform and ModelDeployment)"),
    "serve": ("mlops_operator.scoring.cli", "run the Azure ML compatible scoring server for a score.py"),
    "validate": ("mlops_operator.cli.validate", "check resource YAML offline; one line per problem"),
    "import": ("mlops_operator.cli.importaml", "convert Azure ML endpoint/deployment YAML into ModelDeployments"),
    "status": ("mlops_operator.cli.status", "show platforms and deployments: Ready, reason, traffic, scoring URI"),
    "wait": ("mlops_operator.cli.wait", "wait until a ModelDeployment is Ready at its generation (a CI gate)"),
    "smoke": ("mlops_operator.cli.smoke", "POST a request file to a deployment's scoring URI; latency and answer"),
    "promote": ("mlops_operator.cli.promote", "shift an endpoint's traffic to a deployment in steps"),
    "abort": ("mlops_operator.cli.abort", "abort (or retry) a deployment's progressive rollout"),
    "profile": ("mlops_operator.cli.profile", "write a training data profile for drift monitoring"),
    "completion": ("mlops_operator.cli.completion", "print a bash or zsh completion script"),
    "crds": ("mlops_operator.cli.crds", "write or check the CRDs generated from the API models"),
    "version": ("mlops_operator.cli.version", "print the version"),
}

DESCRIPTION = """\
mlopsctl manages model serving on Kubernetes with two custom resources:
  MLOpsPlatform   (cluster-scoped) the serving platform: backend (native or azureml) and instance types
  ModelDeployment (namespaced)     a model version behind an endpoint, with traffic, probes and scaling

Quick start (no Azure needed):  mlopsctl dev
"""


# For commands whose module documents no finer codes; every --help shows its exit codes.
GENERIC_EXIT_CODES = """
Exit codes:
  0    success
  1    failure (the reason is printed)
  2    usage error
  130  interrupted (Ctrl-C)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlopsctl", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"mlopsctl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        doc = (module.__doc__ or help_text).strip()
        if "Exit codes:" not in doc:
            doc += "\n" + GENERIC_EXIT_CODES
        command = sub.add_parser(
            name, help=help_text, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        module.add_arguments(command)
        command.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._module.run(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())

"""`mlopsctl version`: print the version of mlopsctl and the API it serves."""

from __future__ import annotations

import argparse

from mlops_operator import __version__
from mlops_operator.api.v1alpha1 import API_VERSION


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    del args
    print(f"mlopsctl {__version__} (API {API_VERSION})")
    return 0

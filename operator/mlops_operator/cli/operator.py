"""Run the operator: reconcile every MLOpsPlatform and ModelDeployment in the cluster.

Configuration comes from MLOPS_* environment variables (see `mlops_operator.config`); the Kubernetes
connection from $KUBECONFIG, ~/.kube/config or the in-cluster service account.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--liveness", default="http://0.0.0.0:8080/healthz", help="liveness endpoint URL ('' disables it)"
    )
    parser.add_argument("--verbose", action="store_true", help="debug logging")


def run(args: argparse.Namespace) -> int:
    import kopf

    from mlops_operator import handlers  # registers the handlers
    from mlops_operator.config import OperatorSettings
    from mlops_operator.logs import configure_logging

    del handlers
    configure_logging(OperatorSettings().log_format, args.verbose)
    kopf.run(clusterwide=True, liveness_endpoint=args.liveness or None)
    return 0

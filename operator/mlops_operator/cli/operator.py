"""Run the operator: reconcile every MLOpsPlatform and ModelDeployment in the cluster.

Configuration comes from MLOPS_* environment variables (see `mlops_operator.config`); the Kubernetes
connection from $KUBECONFIG, ~/.kube/config or the in-cluster service account.
"""

from __future__ import annotations

import argparse
import logging


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--liveness", default="http://0.0.0.0:8080/healthz", help="liveness endpoint URL ('' disables it)"
    )
    parser.add_argument("--verbose", action="store_true", help="debug logging")


def run(args: argparse.Namespace) -> int:
    import kopf

    from mlops_operator import handlers  # registers the handlers

    del handlers
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    kopf.run(clusterwide=True, liveness_endpoint=args.liveness or None)
    return 0

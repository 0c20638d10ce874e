"""Operator-wide kopf settings, set in one startup handler."""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from typing import Any

import kopf

from mlops_operator.config import OperatorSettings
from mlops_operator.handlers.context import build_context
from mlops_operator.kube import Kube
from mlops_operator.metrics import serve
from mlops_operator.naming import FINALIZER, GROUP

API_READY_TIMEOUT_S = 300.0
API_READY_POLL_S = 1.0


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, logger: Any, **indices: Any) -> None:
    """Finalizer and annotations under mlops.dev, quiet event posting, bounded watches, shared context."""
    config = OperatorSettings()
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    # Our own Events mark condition transitions; kopf's per-handler "succeeded" Events would be a write
    # on every resync.
    settings.posting.level = logging.WARNING
    # Events are best effort: a few quick retries, so a namespace being deleted (403 for every post) cannot
    # hold up the operator's shutdown for a minute.
    settings.posting.default_backoffs = (1, 2, 5)
    settings.watching.server_timeout = config.watch_timeout_seconds
    settings.watching.client_timeout = config.watch_timeout_seconds + 30
    settings.watching.connect_timeout = 30
    settings.execution.max_workers = 8
    settings.queueing.error_delays = [1, 2, 5, 10, 30, 60]
    if config.peering:
        settings.peering.name = config.peering
        settings.peering.standalone = False
        settings.peering.clusterwide = True
        settings.peering.mandatory = True
    else:
        settings.peering.standalone = True
    # The Azure SDKs log every request and response at INFO; keep their warnings only.
    logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)
    memo["ctx"] = build_context(config, os.environ.get("KUBECONFIG"))
    memo["metrics_server"] = serve(memo["ctx"].metrics, config.metrics_port, config.metrics_address)
    # kopf's indices are live mappings, filled from the watches before any handler runs.
    memo["ctx"].dependents.bind(indices["modeldeployment_references"], indices["mlopsplatform_references"])
    wait_for_api_server(memo["ctx"].kube, logger)
    logger.info("mlops-operator configured: scoring image %s", config.scoring_image)


def wait_for_api_server(kube: Kube, logger: Any, timeout: float = API_READY_TIMEOUT_S) -> None:
    """Before kopf scans which resources exist: an API server still starting (restarted, upgraded) serves
    discovery without CRD groups or even apps/v1, and kopf, which scans once and looks again only when a CRD
    changes, then never watches ModelDeployments (found by the churn test: an operator started during an API
    server restart stayed deaf). A permanent error after `timeout` ends the operator, to be restarted."""
    deadline = time.monotonic() + timeout
    while not kube.api_ready():
        if time.monotonic() > deadline:
            raise kopf.PermanentError(f"the API server was not ready (/readyz) within {timeout:.0f}s")
        logger.info("waiting for the API server to be ready (/readyz) before discovering resources")
        time.sleep(API_READY_POLL_S)


@kopf.on.cleanup()
def stop_waking(memo: kopf.Memo, **_: Any) -> None:
    """Pending looks belong to this operator run; a restart resumes from the objects' status."""
    ctx = memo.get("ctx")
    if ctx is not None:
        ctx.waker.stop()
    server = memo.get("metrics_server")
    if server is not None:  # a second operator in the same process (tests) may then take the port
        server.shutdown()
        server.server_close()


@kopf.on.login()
def login(**kwargs: Any) -> Any:
    """In-cluster service account first, then $KUBECONFIG read at login time (not at import time)."""
    in_cluster = kopf.login_with_service_account(**kwargs)
    if in_cluster is not None:
        return _service_host(in_cluster)
    return kopf.login_with_kubeconfig(**kwargs)


def _service_host(info: kopf.ConnectionInfo) -> kopf.ConnectionInfo:
    """The apiserver at $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, as client-go's in-cluster config
    does: kopf's default `kubernetes.default.svc` needs cluster DNS, which not every cluster serves."""
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        return info
    host = f"[{host}]" if ":" in host else host  # IPv6
    return dataclasses.replace(info, server=f"https://{host}:{port}")

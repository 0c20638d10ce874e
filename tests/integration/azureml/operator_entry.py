"""The operator as the azureml tests run it: every handler, plus a static-token credential for the fake ARM.

This is the explicit test hook (`build_context(..., credential_factory=...)`): production has no setting
that turns authentication off. The endpoint and CA come from the ordinary MLOPS_AZURE_* settings.
"""

from __future__ import annotations

import os
from typing import Any

import kopf

import mlops_operator.handlers  # noqa: F401 (registers every handler first, so this startup runs after theirs)
from fake_arm import StaticTokenCredential
from mlops_operator.config import OperatorSettings
from mlops_operator.handlers.context import build_context


def static_token(azure: Any, secret: Any) -> StaticTokenCredential:
    return StaticTokenCredential()


@kopf.on.startup()
def use_fake_arm_credentials(memo: kopf.Memo, **_: Any) -> None:
    previous = memo.get("ctx")
    metrics = previous.metrics if previous is not None else None  # the registry /metrics already serves
    ctx = build_context(
        OperatorSettings(), os.environ.get("KUBECONFIG"), credential_factory=static_token, metrics=metrics
    )
    if previous is not None:
        previous.waker.stop()
        ctx.dependents = previous.dependents  # bound to kopf's indices by the operator's own startup
    memo["ctx"] = ctx

"""kopf scans the served resources once, right after the startup handlers; an API server still starting
serves discovery without our CRDs (even without apps/v1), and the operator then never watched them. The
startup therefore waits for /readyz, and gives up (the operator exits, to be restarted) after a bound."""

from __future__ import annotations

import logging
from typing import Any

import kopf
import pytest

from mlops_operator.handlers import startup

LOGGER = logging.getLogger("test")


class ApiServerComingBack:
    """Refuses (not ready) `not_ready` times, then is ready."""

    def __init__(self, not_ready: int) -> None:
        self.answers = [False] * not_ready + [True]
        self.asked = 0

    def api_ready(self) -> bool:
        self.asked += 1
        return self.answers.pop(0) if self.answers else True


def test_startup_returns_once_the_api_server_is_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(startup, "API_READY_POLL_S", 0.0)
    kube: Any = ApiServerComingBack(not_ready=3)

    startup.wait_for_api_server(kube, LOGGER)

    assert kube.asked == 4


def test_startup_gives_up_after_the_bound_so_the_operator_is_restarted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(startup, "API_READY_POLL_S", 0.01)
    kube: Any = ApiServerComingBack(not_ready=10_000)

    with pytest.raises(kopf.PermanentError, match="not ready"):
        startup.wait_for_api_server(kube, LOGGER, timeout=0.05)

"""Helpers for driving the scoring app in-process: a config for a fixture script, an ASGI client."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlops_operator.scoring.app import ScoringApp
from mlops_operator.scoring.config import ScoringConfig
from mlops_operator.scoring.loader import initialise, load_script
from mlops_operator.scoring.metrics import MetricsBlock
from mlops_operator.scoring.server import assemble
from mlops_operator.scoring.swagger import Swagger

SCRIPTS = Path(__file__).resolve().parent / "scripts"
DIFF_SCRIPTS = Path(__file__).resolve().parents[2] / "scoring_diff" / "scripts"


@pytest.fixture(autouse=True)
def _isolated_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader appends AML_APP_ROOT to sys.path; keep that from leaking between tests."""
    monkeypatch.setattr(sys, "path", list(sys.path))


@pytest.fixture(autouse=True)
def _fresh_schema_registry() -> Iterator[None]:
    """inference-schema registers decorated functions by module and name ("entry_module.run"), globally.

    A server loads one script per process; tests load many, so each test starts with an empty registry.
    """
    from inference_schema import schema_util

    saved = (dict(schema_util.__functions_schema__), dict(schema_util.__versions__))
    schema_util.__functions_schema__.clear()
    schema_util.__versions__.clear()
    yield
    schema_util.__functions_schema__.clear()
    schema_util.__versions__.clear()
    schema_util.__functions_schema__.update(saved[0])
    schema_util.__versions__.update(saved[1])


@pytest.fixture
def config_for(tmp_path: Path) -> Callable[..., ScoringConfig]:
    def make(script: Path, **changes: Any) -> ScoringConfig:
        base = ScoringConfig(entry_script=str(script), model_dir=str(tmp_path), app_root=str(tmp_path))
        return base.replace(**changes)

    return make


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class Client:
    """Calls the ASGI app directly: no sockets, no server, the real routing and scoring code."""

    def __init__(self, app: ScoringApp) -> None:
        self.app = app

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None, query: str = ""
    ) -> Answer:
        raw_headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        scope = {
            "type": "http", "method": method, "path": path, "query_string": query.encode(),
            "headers": raw_headers, "scheme": "http", "client": ("127.0.0.1", 1234),
        }  # fmt: skip
        chunks = [body[i : i + 4] for i in range(0, len(body), 4)] or [b""]
        messages = [
            {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
            for index, chunk in enumerate(chunks)
        ]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        start, content = sent
        names = {k.decode(): v.decode() for k, v in start["headers"]}
        return Answer(start["status"], names, content["body"])

    async def post_json(self, body: bytes, **headers: str) -> Answer:
        return await self.request("POST", "/score", body, {"Content-Type": "application/json", **headers})


@pytest.fixture
async def client_for(
    config_for: Callable[..., ScoringConfig],
) -> AsyncIterator[Callable[..., Client]]:
    """`client_for(script, **config_changes)`: the app for a script, init() done, pool running."""
    pools = []

    def make(script: Path, **changes: Any) -> Client:
        config = config_for(script, **changes)
        loaded = load_script(config)
        initialise(loaded)
        app, pool = assemble(config, loaded, Swagger(config, loaded.run), MetricsBlock(1), 0)
        pools.append(pool)
        return Client(app)

    yield make
    for pool in pools:
        pool.stop()

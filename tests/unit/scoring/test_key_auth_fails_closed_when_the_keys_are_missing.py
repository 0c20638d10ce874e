"""With key auth configured (MLOPS_KEYS_DIR), missing or empty keys never mean "no auth": the server
refuses every protected request, reports not Ready so no traffic is routed to it, and logs why without a key.
Once the Secret's files appear it serves with them, with no restart."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import SCRIPTS, Client
from mlops_operator.scoring import auth
from mlops_operator.scoring.auth import key_store_from

ECHO = SCRIPTS / "echo_headers.py"
A_KEY = "a-key-that-must-never-be-logged"


async def refused_and_not_ready(client: Client) -> None:
    score = await client.post_json(b"{}")
    with_a_guess = await client.post_json(b"{}", Authorization="Bearer ")
    swagger = await client.request("GET", "/swagger.json")
    readiness = await client.request("GET", "/readiness")
    liveness = await client.request("GET", "/")
    assert (score.status, with_a_guess.status, swagger.status) == (401, 401, 401)
    assert (readiness.status, readiness.body) == (503, b"No endpoint keys")
    assert liveness.status == 200  # alive, so Kubernetes waits for the Secret instead of restarting the pod


async def test_a_configured_keys_directory_that_does_not_exist_refuses_and_is_not_ready(
    client_for: Callable[..., Client], tmp_path: Path
) -> None:
    await refused_and_not_ready(client_for(ECHO, keys_dir=str(tmp_path / "not-mounted")))


async def test_empty_key_files_refuse_and_are_not_ready(client_for: Callable[..., Client], tmp_path: Path) -> None:
    (tmp_path / "primaryKey").write_text("")
    (tmp_path / "secondaryKey").write_text("\n")
    await refused_and_not_ready(client_for(ECHO, keys_dir=str(tmp_path)))


async def test_keys_that_appear_later_are_used_and_the_server_turns_ready(
    client_for: Callable[..., Client], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth, "RECHECK_SECONDS", 0.0)
    client = client_for(ECHO, keys_dir=str(tmp_path))
    await refused_and_not_ready(client)
    (tmp_path / "primaryKey").write_text(A_KEY)
    served = await client.post_json(b"{}", Authorization=f"Bearer {A_KEY}")
    readiness = await client.request("GET", "/readiness")
    assert (served.status, readiness.status) == (200, 200)


def test_missing_keys_are_logged_by_directory_and_no_key_is_ever_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="mlops.scoring")
    store = key_store_from(str(tmp_path))
    assert store is not None
    assert not store.loaded
    assert f"No endpoint keys in {tmp_path}" in caplog.text
    (tmp_path / "primaryKey").write_text(A_KEY)
    assert key_store_from(str(tmp_path)) is not None
    assert "Loaded 1 endpoint key(s)" in caplog.text
    assert A_KEY not in caplog.text

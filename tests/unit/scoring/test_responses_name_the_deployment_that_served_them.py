"""Every answer carries `azureml-model-deployment` naming the deployment, as Azure ML's router adds it.

Behind a Gateway that splits traffic, this header is how a client (and the traffic tests) tells which
deployment answered; the operator sets AZUREML_DEPLOYMENT_NAME on each deployment's pods.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from conftest import SCRIPTS, Client
from mlops_operator.scoring.config import DEPLOYMENT_NAME_ENV, load_config

ECHO = SCRIPTS / "echo_headers.py"
CLAIMS = SCRIPTS / "claims_a_deployment.py"
HEADER = "azureml-model-deployment"
BLUE = "blue"


async def test_successes_and_errors_alike_name_the_deployment(client_for: Callable[..., Client]) -> None:
    client = client_for(ECHO, deployment_name=BLUE)
    answers = [
        await client.post_json(b"{}"),
        await client.request("GET", "/nowhere"),
        await client.request("PUT", "/score"),
        await client.request("GET", "/readiness"),
        await client.post_json(b"x" * 11, **{"x-request-id": "r" * 101}),
    ]
    assert [a.status for a in answers] == [200, 404, 405, 200, 431]
    assert [a.headers.get(HEADER) for a in answers] == [BLUE] * len(answers)


async def test_a_refused_key_still_names_the_deployment(client_for: Callable[..., Client], tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "primaryKey").write_text("first")
    (keys / "secondaryKey").write_text("second")
    refused = await client_for(ECHO, deployment_name=BLUE, keys_dir=str(keys)).post_json(b"{}")
    assert (refused.status, refused.headers.get(HEADER)) == (401, BLUE)


async def test_without_a_name_no_header_is_sent(client_for: Callable[..., Client]) -> None:
    answer = await client_for(ECHO).post_json(b"{}")
    assert answer.status == 200
    assert HEADER not in answer.headers


async def test_the_servers_name_replaces_one_the_script_chose(client_for: Callable[..., Client]) -> None:
    answer = await client_for(CLAIMS, deployment_name=BLUE).post_json(b"{}")
    assert answer.status == 200
    assert answer.headers[HEADER] == BLUE


def test_the_name_comes_from_the_environment() -> None:
    assert load_config({DEPLOYMENT_NAME_ENV: " green "}).deployment_name == "green"
    assert load_config({}).deployment_name == ""

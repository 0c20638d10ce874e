"""/swagger.json documents: generated like upstream's, user files win, unknown versions are 404s."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import DIFF_SCRIPTS
from mlops_operator.scoring.config import ScoringConfig
from mlops_operator.scoring.loader import load_script
from mlops_operator.scoring.swagger import Swagger, SwaggerError


def swagger_for(config: ScoringConfig) -> Swagger:
    return Swagger(config, load_script(config).run)


def test_an_undecorated_script_gets_all_versions_with_empty_schemas(config_for: Callable[..., ScoringConfig]) -> None:
    swagger = swagger_for(config_for(DIFF_SCRIPTS / "plain_run.py", service_name="svc", service_path_prefix="/p/"))
    assert swagger.supported == ["2", "3", "3.1"]
    v2 = json.loads(swagger.body(None))
    assert v2["definitions"]["ServiceInput"] == {"type": "object", "example": {}}
    assert v2["info"]["title"] == "svc"
    assert list(v2["paths"]) == ["/p/", "/p/score", "/p/swagger.json"]
    assert json.loads(swagger.body("3.1"))["openapi"] == "3.1.0"
    assert swagger.body("3") == swagger.body("3.0")


def test_a_schema_script_publishes_its_schemas(config_for: Callable[..., ScoringConfig]) -> None:
    swagger = swagger_for(config_for(DIFF_SCRIPTS / "schema_run.py"))
    schemas = json.loads(swagger.body("3"))["components"]["schemas"]
    assert set(schemas["ServiceInput"]["properties"]) == {"data", "scale"}


def test_a_users_swagger_file_is_served_instead(config_for: Callable[..., ScoringConfig], tmp_path: Path) -> None:
    (tmp_path / "swagger.json").write_text('{"swagger": "2.0", "mine": true}')
    assert json.loads(swagger_for(config_for(DIFF_SCRIPTS / "plain_run.py")).body("2")) == {
        "swagger": "2.0",
        "mine": True,
    }


def test_an_unknown_version_is_refused_with_upstreams_message(config_for: Callable[..., ScoringConfig]) -> None:
    swagger = swagger_for(config_for(DIFF_SCRIPTS / "plain_run.py"))
    with pytest.raises(SwaggerError, match=r"Swagger version \[4\] is not valid. Supported versions: \[2, 3, 3.1\]."):
        swagger.body("4")

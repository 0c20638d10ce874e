"""/swagger.json: the OpenAPI documents Azure ML serves for a score script, built once at start.

The documents match upstream's field for field (clients generate code from them): a user-supplied
`swagger.json`/`swagger2.json`/`swagger3.json`/`swagger3.1.json` in AML_APP_ROOT wins; otherwise the
service description is generated with the inference-schema input/output schemas of run(), or an empty
object schema when run() is not decorated. Versions: 2 (alias 2.0), 3 (alias 3.0), 3.1.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from .config import ScoringConfig

ALL_SCHEMA_VERSIONS = ("2.0", "3.0", "3.1")
VERSION_ALIASES = {"2": ("2", "2.0"), "3": ("3", "3.0"), "3.1": ("3.1",)}
USER_FILES = {"2": ("swagger.json", "swagger2.json"), "3": ("swagger3.json",), "3.1": ("swagger3.1.json",)}
EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "example": {}}
ERROR_SCHEMA = {"type": "object", "properties": {"message": {"type": "string"}}}
BEARER = {"type": "apiKey", "name": "Authorization", "in": "header", "description": "For example: Bearer abc123"}
HEALTH_OK = "If service is up and running, this response will be returned with the content 'Healthy'"
SCORE_OK = "The service processed the input correctly and provided a result prediction, if applicable."
FAILED = "The service failed to execute due to an error."
PAYLOAD = "The input payload for executing the real-time machine learning service."


class SwaggerError(Exception):
    """The requested version is unknown or not available for this script (answered with 404)."""


def _info(config: ScoringConfig) -> dict[str, str]:
    return {
        "title": config.service_name,
        "description": f"API specification for the Azure Machine Learning service {config.service_name}",
        "version": config.service_version,
    }


def _operations(ref: Callable[[str], dict[str, Any]], v3: bool) -> tuple[dict[str, Any], ...]:
    """The three operations (health, score, swagger) in the shape of Swagger 2 or OpenAPI 3."""

    def body(schema: dict[str, Any], media: str = "application/json") -> dict[str, Any]:
        return {"content": {media: {"schema": schema}}} if v3 else {"schema": schema}

    failed = {"description": FAILED, **body(ref("ErrorResponse"))}
    health_ok = {"description": HEALTH_OK, **body({"type": "string", "example": "Healthy"}, "text/plain")}
    if not v3:
        health_ok = {
            "description": HEALTH_OK,
            "schema": {"type": "string"},
            "examples": {"application/json": "Healthy"},
        }
    health = {
        "operationId": "ServiceHealthCheck",
        "description": "Simple health check endpoint to ensure the service is up at any given point.",
        "responses": {"200": health_ok, "default": failed},
    }
    score: dict[str, Any] = {
        "operationId": "RunMLService",
        "description": "Run web service's model and get the prediction output",
        "security": [{"Bearer": []}],
    }
    if v3:
        score["requestBody"] = {"description": PAYLOAD, **body(ref("ServiceInput"))}
    else:
        score["parameters"] = [
            {"name": "serviceInputPayload", "in": "body", "description": PAYLOAD, **body(ref("ServiceInput"))}
        ]
    score["responses"] = {"200": {"description": SCORE_OK, **body(ref("ServiceOutput"))}, "default": failed}
    version_param: dict[str, Any] = {"name": "version", "in": "query", "required": False}
    enum = {"type": "integer", "enum": [2, 3]}
    version_param.update({"schema": enum} if v3 else enum)
    spec = {
        "operationId": "GetSwaggerSpec",
        "description": "Get the Swagger specification.",
        "parameters": [version_param],
        "responses": {
            "200": {"description": "The Swagger specification.", **body({"type": "string"}, "text/plain")},
            "default": failed,
        },
    }
    return health, score, spec


def build_document(version: str, config: ScoringConfig, inputs: Any, outputs: Any) -> dict[str, Any]:
    """The generated document for version "2", "3" or "3.1"."""
    v3 = version != "2"
    prefix = f"/{config.service_path_prefix.strip('/')}" if config.service_path_prefix else ""

    def ref(name: str) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{name}" if v3 else f"#/definitions/{name}"}

    health, score, spec = _operations(ref, v3)
    paths = {f"{prefix}/": {"get": health}, f"{prefix}/score": {"post": score}, f"{prefix}/swagger.json": {"get": spec}}
    schemas = {"ServiceInput": inputs, "ServiceOutput": outputs, "ErrorResponse": ERROR_SCHEMA}
    if not v3:
        return {
            "swagger": "2.0",
            "info": _info(config),
            "schemes": ["https"],
            "consumes": ["application/json"],
            "produces": ["application/json"],
            "securityDefinitions": {"Bearer": BEARER},
            "paths": paths,
            "definitions": schemas,
        }
    return {
        "openapi": "3.1.0" if version == "3.1" else "3.0.3",
        "info": _info(config),
        "security": [{"Bearer": []}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"Bearer": BEARER}},
    }


def _schemas(run: Callable[..., Any]) -> tuple[list[str], Any, Any]:
    """Supported versions and input/output schemas from inference-schema, or the undecorated defaults."""
    try:
        from inference_schema import schema_util
    except ImportError:
        return list(ALL_SCHEMA_VERSIONS), EMPTY_SCHEMA, EMPTY_SCHEMA
    versions = list(schema_util.get_supported_versions(run))
    if not schema_util.is_schema_decorated(run):
        return versions, EMPTY_SCHEMA, EMPTY_SCHEMA
    return versions, schema_util.get_input_schema(run), schema_util.get_output_schema(run)


def _user_document(app_root: str, version: str) -> Any | None:
    for filename in USER_FILES[version]:
        try:
            with open(os.path.join(app_root, filename), encoding="utf-8") as handle:
                return json.load(handle)
        except FileNotFoundError:
            continue
    return None


class Swagger:
    """Serialised documents per version alias, ready to send."""

    def __init__(self, config: ScoringConfig, run: Callable[..., Any]) -> None:
        self._bodies: dict[str, bytes] = {}
        self.supported: list[str] = []
        schema_versions, inputs, outputs = _schemas(run)
        for version, aliases in VERSION_ALIASES.items():
            document = _user_document(config.app_root, version)
            if document is None and any(alias in schema_versions for alias in aliases):
                document = build_document(version, config, inputs, outputs)
            if document:
                body = json.dumps(document).encode("utf-8")
                self._bodies.update(dict.fromkeys(aliases, body))
                self.supported.append(version)
        self.supported.sort()

    def body(self, version: str | None) -> bytes:
        """The document for `?version=` (default 2); SwaggerError with upstream's message otherwise."""
        version = "2" if version is None else version
        supported = ", ".join(self.supported)
        if version not in {alias for aliases in VERSION_ALIASES.values() for alias in aliases}:
            raise SwaggerError(f"Swagger version [{version}] is not valid. Supported versions: [{supported}].")
        body = self._bodies.get(version)
        if body is None:
            raise SwaggerError(
                f"Swagger version [{version}] is not supported for the scoring script. "
                f"Supported swagger versions: [{supported}]."
            )
        return body

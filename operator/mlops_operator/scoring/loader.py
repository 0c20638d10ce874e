"""Import a score.py written for Azure ML and work out, once, how each request must call it.

Everything here happens at start, so that a broken script fails the worker before it reports ready
(upstream exits with code 3 in that case) and so that no request pays for reflection: the resulting
`ScoreScript` already knows whether run() wants the decoded string, inference-schema keyword arguments or
the raw request, and whether it takes `request_headers`.
"""

from __future__ import annotations

import enum
import importlib.util
import inspect
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from . import aml_request, aml_response
from .config import ScoringConfig

logger = logging.getLogger("mlops.scoring")

ENTRY_MODULE_NAME = "entry_module"  # upstream's name; inference-schema keys its registry by it
SHIM_MODULES = {
    "azureml.contrib.services.aml_request": aml_request,
    "azureml.contrib.services.aml_response": aml_response,
}
UPSTREAM_API_MODULES = {
    "azureml_inference_server_http.api.aml_request": aml_request,
    "azureml_inference_server_http.api.aml_response": aml_response,
}
_EMPTY = inspect.Parameter.empty


class ScriptError(Exception):
    """The score script cannot be served: it fails to import, lacks init()/run(), or init() raised."""


class InputKind(enum.Enum):
    """How the request body reaches run(); decided by how run() is declared, as upstream does."""

    STRING = "string"  # undecorated run(raw_data): the body decoded as UTF-8
    SCHEMA = "schema"  # @input_schema: JSON body parsed, one keyword argument per parameter
    RAW = "raw"  # @rawhttp: the request object itself


@dataclass(frozen=True, slots=True)
class ScoreScript:
    """A loaded score script and the calling convention of its run()."""

    path: str
    init: Callable[[], Any]
    run: Callable[..., Any]
    kind: InputKind
    param_name: str
    schema_params: tuple[tuple[str, Any], ...] = ()
    wants_headers: bool = False
    run_batch: Callable[[list[Any]], Any] | None = None
    module: ModuleType | None = field(default=None, repr=False, compare=False)


def install_azureml_shims() -> None:
    """Make `azureml.contrib.services.aml_request/aml_response` importable without Flask or azureml.

    Upstream overrides those names with its own modules; we point them at ours. The upstream package's
    own module names are aliased too, unless that package is really installed.
    """
    sys.modules.update(SHIM_MODULES)
    if importlib.util.find_spec("azureml_inference_server_http") is None:
        sys.modules.update(UPSTREAM_API_MODULES)


def extend_sys_path(config: ScoringConfig) -> None:
    """Let the script import its siblings: AML_APP_ROOT and AZUREML_SOURCE_DIRECTORY go on sys.path."""
    directories = [config.app_root]
    if config.source_dir:
        directories.append(os.path.join(config.app_root, config.source_dir))
    for directory in directories:
        if directory not in sys.path:
            sys.path.append(directory)


def _import_module(config: ScoringConfig) -> ModuleType:
    path = config.script_path
    try:
        if path is None:
            import main as user_module  # type: ignore[import-not-found]  # upstream's default entry script

            return user_module  # type: ignore[no-any-return]
        spec = importlib.util.spec_from_file_location(ENTRY_MODULE_NAME, path)
        if spec is None or spec.loader is None:
            raise ScriptError(f"Cannot load the score script {path!r}: not a Python file")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    except ScriptError:
        raise
    except FileNotFoundError as ex:
        raise ScriptError(f"The score script {path!r} does not exist: {ex}") from ex
    except BaseException as ex:
        where = path or f"module 'main' on sys.path {sys.path}"
        raise ScriptError(f"Failed to import the score script {where}: {type(ex).__name__}: {ex}") from ex


def _schema_decorated(run: Callable[..., Any]) -> bool:
    try:
        from inference_schema.schema_util import is_schema_decorated
    except ImportError:  # a script cannot use the decorators without the package
        return False
    return bool(is_schema_decorated(run))


def _analyse_run(run: Callable[..., Any]) -> tuple[InputKind, str, tuple[tuple[str, Any], ...], bool]:
    """Reject signatures upstream rejects and choose the input convention; see upstream `_analyze_run`."""
    params = list(inspect.signature(run).parameters.values())
    allowed = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(param.kind not in allowed for param in params):
        raise ScriptError("run() cannot accept positional-only arguments, *args, or **kwargs.")
    wants_headers = any(param.name == "request_headers" for param in params)
    params = [param for param in params if param.name != "request_headers"]
    if not params:
        if wants_headers:
            raise ScriptError('run() needs to accept an argument other than "request_headers".')
        raise ScriptError("run() needs to accept an argument for input data.")
    raw = aml_request.is_rawhttp_requested()
    decorated = _schema_decorated(run)
    if raw and decorated:
        raise ScriptError("run() cannot be decorated with both @rawhttp and @input_schema")
    if raw:
        return InputKind.RAW, params[0].name, (), wants_headers
    if decorated:
        schema_params = tuple((param.name, param.default) for param in params)
        return InputKind.SCHEMA, params[0].name, schema_params, wants_headers
    return InputKind.STRING, params[0].name, (), wants_headers


def load_script(config: ScoringConfig) -> ScoreScript:
    """Import the entry script and check it the way upstream does, without calling init()."""
    install_azureml_shims()
    extend_sys_path(config)
    aml_request.reset_rawhttp()
    module = _import_module(config)
    where = getattr(module, "__file__", None) or config.script_path or "main"
    if not hasattr(module, "init"):
        raise ScriptError(f"User script at {where} does not have a init() function defined.")
    if not hasattr(module, "run"):
        raise ScriptError(f"User script at {where} does not have a run() function defined.")
    # Some Azure SDKs wrap the real script in a "driver module"; upstream calls the inner run() directly
    # (the driver forwards arguments wrongly for inference-schema) but keeps the driver's init().
    inner = getattr(module, "driver_module", None)
    run = inner.run if isinstance(inner, ModuleType) and hasattr(inner, "run") else module.run
    kind, param_name, schema_params, wants_headers = _analyse_run(run)
    run_batch = getattr(module, "run_batch", None)
    if run_batch is not None and not callable(run_batch):
        raise ScriptError(f"run_batch in {where} is not callable")
    if run_batch is not None and kind is InputKind.RAW:
        logger.warning("run_batch() is ignored: run() is decorated with @rawhttp, so requests are not batched")
        run_batch = None
    logger.info("Loaded score script %s; run() takes %s input", where, kind.value)
    return ScoreScript(
        path=str(where),
        init=module.init,
        run=run,
        kind=kind,
        param_name=param_name,
        schema_params=schema_params,
        wants_headers=wants_headers,
        run_batch=run_batch,
        module=module,
    )


def initialise(script: ScoreScript) -> None:
    """Call init() once; any exception becomes a ScriptError so the worker exits before serving."""
    logger.info("Invoking user's init function")
    try:
        script.init()
    except BaseException as ex:
        raise ScriptError(f"The score script's init() failed: {type(ex).__name__}: {ex}") from ex
    logger.info("User's init has completed successfully")


def schema_arguments(script: ScoreScript, body: dict[str, Any]) -> dict[str, Any]:
    """Pick run()'s keyword arguments out of a JSON object, applying parameter defaults; KeyError names a gap."""
    arguments: dict[str, Any] = {}
    for name, default in script.schema_params:
        value = body.get(name, default)
        if value is _EMPTY:
            raise KeyError(name)
        arguments[name] = value
    return arguments

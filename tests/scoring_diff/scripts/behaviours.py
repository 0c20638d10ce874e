"""A score.py whose run() does what the request asks, so one server covers many behaviours."""

import json
import os
import time

from azureml.contrib.services.aml_response import AMLResponse

STATE: dict[str, object] = {}


def init():
    STATE["model_dir"] = os.getenv("AZUREML_MODEL_DIR")
    STATE["initialised"] = True


def run(raw_data, request_headers):  # noqa: PLR0911 - one branch per behaviour under test
    data = json.loads(raw_data)
    op = data.get("op", "echo") if isinstance(data, dict) else "echo"
    if op == "echo":
        return {"echo": data, "initialised": STATE["initialised"]}
    if op == "headers":
        return {k: v for k, v in request_headers.items() if k.lower() not in ("host", "user-agent")}
    if op == "raise":
        raise ValueError("boom")
    if op == "sleep":
        time.sleep(data["seconds"])
        return "slept"
    if op == "none":
        return None
    if op == "string":
        return "a plain string"
    if op == "unserialisable":
        return {1, 2, 3}
    if op == "nan":
        return [float("nan"), 1e16, 0.1, -0.0]
    if op == "response":
        return AMLResponse(data["body"], data["status"], data.get("headers", {}), json_str=data.get("json", False))
    return {"unknown": op}

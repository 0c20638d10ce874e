"""A score.py using @rawhttp: run() gets the request object and answers with an AMLResponse."""

import json

from azureml.contrib.services.aml_request import AMLRequest, rawhttp
from azureml.contrib.services.aml_response import AMLResponse


def init():
    pass


@rawhttp
def run(request: AMLRequest):
    if request.method == "GET":
        return AMLResponse(json.dumps({"method": "GET", "args": request.args.to_dict()}), 200)
    if request.method == "POST":
        body = request.get_data(as_text=False)
        payload = {"length": len(body), "json": request.get_json(silent=True), "mimetype": request.mimetype}
        return AMLResponse(payload, 201, {"X-Custom": "a, b"}, json_str=True)
    return AMLResponse("unsupported", 405)

"""Answers with the name of the deployment serving it, after sleeping `sleep_s` (at most 5 s) if asked."""

import json
import os
import time


def init():
    pass


def run(raw_data):
    request = json.loads(raw_data) if raw_data else {}
    time.sleep(min(float(request.get("sleep_s", 0)), 5.0))
    return {"deployment": os.environ.get("AZUREML_DEPLOYMENT_NAME")}

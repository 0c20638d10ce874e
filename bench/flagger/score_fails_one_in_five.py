"""The diabetes score.py of examples/, except that run() raises on every fifth call: a bad version that fails
20 % of its requests (HTTP 500 from the scoring server), for bench/flagger_canary.py's rollback scenario.

A counter, not a random draw, so the failure ratio is exactly 1/5 per scoring process.
"""

import itertools
import json
import os

import joblib
import numpy as np

model = None
calls = itertools.count(1)


def init():
    global model  # noqa: PLW0603 - the Azure ML score.py idiom: init() loads, run() uses
    model = joblib.load(os.path.join(os.getenv("AZUREML_MODEL_DIR"), "model.pkl"))


def run(raw_data):
    if next(calls) % 5 == 0:
        raise RuntimeError("bad version: every fifth request fails")
    data = np.array(json.loads(raw_data)["data"])
    return model.predict(data).tolist()

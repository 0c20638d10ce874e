"""The same model with run_batch(): concurrent requests are answered by one predict() call.

run() stays for Azure ML compatibility (and for single calls); the mlops scoring server prefers
run_batch(list_of_raw_bodies) -> list_of_outputs when it exists, one output per input, in order.
"""

import json
import os

import joblib
import numpy as np

model = None


def init():
    global model  # noqa: PLW0603 - the Azure ML score.py idiom: init() loads, run() uses
    model = joblib.load(os.path.join(os.getenv("AZUREML_MODEL_DIR"), "model.pkl"))


def run(raw_data):
    return run_batch([raw_data])[0]


def run_batch(raw_inputs):
    rows = [np.asarray(json.loads(raw)["data"], dtype=float) for raw in raw_inputs]
    predictions = model.predict(np.concatenate(rows)).tolist()
    outputs, start = [], 0
    for block in rows:
        outputs.append(predictions[start : start + len(block)])
        start += len(block)
    return outputs

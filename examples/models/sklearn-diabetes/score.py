"""Azure ML score script for the diabetes LinearRegression, unchanged from what Azure ML would run.

Request: {"data": [[10 feature values], ...]}; response: a list of predictions.
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
    data = np.array(json.loads(raw_data)["data"])
    return model.predict(data).tolist()

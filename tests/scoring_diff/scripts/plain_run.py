"""The smallest Azure ML score.py: run(raw_data) gets the body as a string and echoes what it parsed."""

import json


def init():
    pass


def run(raw_data):
    return {"got": raw_data, "parsed": json.loads(raw_data)}

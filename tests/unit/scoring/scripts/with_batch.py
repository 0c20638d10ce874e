"""run() and run_batch(): run_batch records the size of every batch it is given."""

import json
import threading
import time

BATCHES = []
GATE = threading.Event()
GATE.set()


def init():
    pass


def run(raw_data):
    return run_batch([raw_data])[0]


def run_batch(raw_inputs):
    GATE.wait(5)
    BATCHES.append(len(raw_inputs))
    outputs = []
    for raw in raw_inputs:
        data = json.loads(raw)
        if data.get("fail"):
            raise ValueError("asked to fail")
        if data.get("sleep"):
            time.sleep(data["sleep"])
        outputs.append({"double": data["x"] * 2})
    return outputs

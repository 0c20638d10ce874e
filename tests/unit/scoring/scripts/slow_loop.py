"""run() spins in Python for as long as asked (interruptible), or sleeps."""

import json
import time


def init():
    pass


def run(raw_data):
    data = json.loads(raw_data)
    deadline = time.monotonic() + data.get("spin", 0)
    while time.monotonic() < deadline:
        pass
    time.sleep(data.get("sleep", 0))
    return {"done": True}

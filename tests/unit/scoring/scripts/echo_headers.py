"""run(data, request_headers): echoes both, and counts init() calls."""

import json

CALLS = {"init": 0}


def init():
    CALLS["init"] += 1


def run(raw_data, request_headers):
    return {"data": json.loads(raw_data) if raw_data else None, "agent": request_headers.get("User-Agent")}

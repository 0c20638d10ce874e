"""A score.py whose init() raises: the server must refuse to start."""


def init():
    raise RuntimeError("model file is missing")


def run(raw_data):
    return raw_data

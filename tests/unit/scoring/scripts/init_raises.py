"""init() raises: the worker must not start."""


def init():
    raise FileNotFoundError("model.pkl")


def run(raw_data):
    return raw_data

"""A score.py without run(): the server must refuse to start."""


def init():
    pass

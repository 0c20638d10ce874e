"""Answers with the name of the deployment serving it, so a response body says who answered too."""

import os


def init():
    pass


def run(data):
    return {"deployment": os.environ.get("MLOPS_DEPLOYMENT_NAME")}

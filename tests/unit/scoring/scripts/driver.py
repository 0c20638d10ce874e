"""A driver module (as some Azure SDKs generate) wrapping the real script; upstream calls the inner run()."""

import importlib.util
import os

_spec = importlib.util.spec_from_file_location(
    "inner_score", os.path.join(os.path.dirname(__file__), "echo_headers.py")
)
driver_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(driver_module)


def init():
    driver_module.init()


def run(data):
    raise AssertionError("the driver's run() must not be called")

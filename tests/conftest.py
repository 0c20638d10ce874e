"""Shared pytest configuration: the `azure` marker is opt-in, and no test leaks environment variables."""

import os

import pytest


def pytest_addoption(parser):
    parser.addoption("--azure", action="store_true", help="run tests against a real Azure subscription")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--azure"):
        return
    skip = pytest.mark.skip(reason="needs a real Azure subscription: pass --azure (see docs/testing.md)")
    for item in items:
        if "azure" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _restore_environment():
    """azure-ai-ml writes the cloud it was given into os.environ (AZUREML_CURRENT_CLOUD); a later test's
    subprocess would inherit a cloud registered only in this process and fail at import."""
    saved = dict(os.environ)
    yield
    if os.environ != saved:
        os.environ.clear()
        os.environ.update(saved)

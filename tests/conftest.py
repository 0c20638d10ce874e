"""Shared pytest configuration: the `azure` marker is opt-in."""

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

"""Pytest fixtures for the fake ARM server.

Enable with ``pytest_plugins = ["fake_arm.pytest_plugin"]`` in tests/conftest.py, or import both fixtures
into a conftest (as tests/fake_arm_tests/conftest.py does).

``fake_arm_server`` is one server per session (starting mints a CA); ``fake_arm`` hands each test that
server with a clean slate (state, faults, log) and operations that finish on the first poll, so the SDK
never sleeps unless a test asks for slow operations.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .server import FakeArm


@pytest.fixture(scope="session")
def fake_arm_server() -> Iterator[FakeArm]:
    with FakeArm(operation_polls=0) as fake:
        yield fake


@pytest.fixture
def fake_arm(fake_arm_server: FakeArm) -> Iterator[FakeArm]:
    fake_arm_server.reset(operation_polls=0)
    yield fake_arm_server
    fake_arm_server.clear_faults()

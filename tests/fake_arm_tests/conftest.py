"""The fake ARM server's own tests reuse the fixtures the integration tests use."""

from fake_arm.pytest_plugin import fake_arm, fake_arm_server

__all__ = ["fake_arm", "fake_arm_server"]

"""Fixtures shared by the unit tests."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml


@pytest.fixture
def matches_golden() -> Callable[[Any, Path], None]:
    """Assert that an object renders to exactly the YAML in a golden file (`UPDATE_GOLDEN=1` rewrites it)."""

    def check(rendered: Any, golden: Path) -> None:
        text = yaml.safe_dump(rendered, sort_keys=False, width=120)
        if os.environ.get("UPDATE_GOLDEN") == "1":
            golden.write_text(text)
        assert golden.exists(), f"{golden} missing: run UPDATE_GOLDEN=1 pytest tests/unit"
        assert text == golden.read_text()

    return check

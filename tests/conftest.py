"""Shared test helpers: where fixtures live and how to load them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
CONFIGS = FIXTURES / "configs"
GOLDEN = ROOT / "tests" / "golden"


def load_config(name: str) -> dict[str, Any]:
    """A verbatim Hub config.json from tests/fixtures/configs (name without .json)."""
    path = CONFIGS / f"{name}.json"
    if not path.exists():
        pytest.fail(f"fixture {path.name} is missing")
    data: dict[str, Any] = json.loads(path.read_text())
    return data

"""Fixtures for the Hub client tests: a fake Hub and clients wired to it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fakehub import FakeHub

from tests.conftest import isolate_hub_env


@pytest.fixture
def hub() -> FakeHub:
    return FakeHub()


@pytest.fixture(autouse=True)
def _no_hf_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never see the developer's token, cache or endpoint."""
    isolate_hub_env(monkeypatch, tmp_path)

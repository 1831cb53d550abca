"""Fixtures for the command-line tests: isolated environment, real fixture configs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hub"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from clifixtures import config_path

from tests.conftest import isolate_hub_env


@pytest.fixture
def llama_config() -> Path:
    return config_path(
        "meta-llama__Llama-3.1-8B-Instruct", "meta-llama__Llama-3.1-8B", "Qwen__Qwen2.5-7B-Instruct"
    )


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_hub_env(monkeypatch, tmp_path)

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


_HUB_ENV = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_ENDPOINT",
            "HF_HUB_OFFLINE", "HF_HUB_CACHE", "LLM_MEM_CACHE", "XDG_CACHE_HOME")


def isolate_hub_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Hide the developer's Hub token, endpoint and caches; give the test its own HF_HOME
    and llm-mem cache under tmp_path."""
    for name in _HUB_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("LLM_MEM_CACHE", str(tmp_path / "llm_mem_cache"))


def load_config(name: str) -> dict[str, Any]:
    """A verbatim Hub config.json from tests/fixtures/configs (name without .json)."""
    path = CONFIGS / f"{name}.json"
    if not path.exists():
        pytest.fail(f"fixture {path.name} is missing")
    data: dict[str, Any] = json.loads(path.read_text())
    return data

"""Fixtures for the command-line tests: isolated environment, real fixture configs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hub"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from clifixtures import config_path


@pytest.fixture
def llama_config() -> Path:
    return config_path(
        "meta-llama__Llama-3.1-8B-Instruct", "meta-llama__Llama-3.1-8B", "Qwen__Qwen2.5-7B-Instruct"
    )


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HF_TOKEN_PATH",
        "HF_ENDPOINT",
        "HF_HUB_OFFLINE",
        "HF_HUB_CACHE",
        "XDG_CACHE_HOME",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("LLM_MEM_CACHE", str(tmp_path / "llm_mem_cache"))

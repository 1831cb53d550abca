"""Environment settings: endpoint, token sources, offline flag, cache folders."""

from __future__ import annotations

from pathlib import Path

from estimator.hub import env


def test_endpoint() -> None:
    assert env.endpoint({}) == "https://huggingface.co"
    assert env.endpoint({"HF_ENDPOINT": " https://hf-mirror.com/ "}) == "https://hf-mirror.com"


def test_offline_values() -> None:
    for value in ("1", "true", "ON", "yes"):
        assert env.is_offline({"HF_HUB_OFFLINE": value})
    for value in ("", "0", "false"):
        assert not env.is_offline({"HF_HUB_OFFLINE": value})


def test_token_precedence(tmp_path: Path) -> None:
    home = tmp_path / "hf"
    home.mkdir()
    (home / "token").write_text("hf_from_file\n")
    other = tmp_path / "other-token"
    other.write_text("  hf_from_path  ")
    base = {"HF_HOME": str(home)}
    assert env.token(base) == "hf_from_file"
    assert env.token({**base, "HF_TOKEN_PATH": str(other)}) == "hf_from_path"
    assert env.token({**base, "HUGGING_FACE_HUB_TOKEN": "hf_legacy"}) == "hf_legacy"
    assert env.token({**base, "HF_TOKEN": "hf_env", "HUGGING_FACE_HUB_TOKEN": "x"}) == "hf_env"
    assert env.token({**base, "HF_TOKEN": "  "}) == "hf_from_file"
    assert env.token({"HF_HOME": str(tmp_path / "none")}) is None
    (home / "token").write_text("\n")
    assert env.token(base) is None


def test_homes_and_cache_dirs(tmp_path: Path) -> None:
    assert env.hf_home({"HF_HOME": str(tmp_path)}) == tmp_path
    assert env.hf_home({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "huggingface"
    assert env.hf_home({}) == Path.home() / ".cache" / "huggingface"
    assert env.hf_hub_cache({"HF_HOME": str(tmp_path)}) == tmp_path / "hub"
    assert env.hf_hub_cache({"HF_HUB_CACHE": str(tmp_path / "x")}) == tmp_path / "x"
    assert env.cache_dir({"LLM_MEM_CACHE": str(tmp_path / "c")}) == tmp_path / "c"
    assert env.cache_dir({"HF_HOME": str(tmp_path)}) == tmp_path / "llm-mem"
    assert env.cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "llm-mem"
    assert env.cache_dir({}) == Path.home() / ".cache" / "llm-mem"

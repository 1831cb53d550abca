"""Settings read from the environment, following huggingface_hub's conventions.

Users who already set ``HF_ENDPOINT``, ``HF_TOKEN``, ``HF_HOME`` or
``HF_HUB_OFFLINE`` for other Hugging Face tools get the same behaviour here,
and a token saved by ``huggingface-cli login`` is found without extra setup.
Every function takes the environment as an optional mapping so tests need no
monkeypatching of ``os.environ``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "DEFAULT_ENDPOINT",
    "cache_dir",
    "endpoint",
    "hf_home",
    "hf_hub_cache",
    "is_offline",
    "token",
]

DEFAULT_ENDPOINT = "https://huggingface.co"
_TRUE = {"1", "on", "yes", "true"}


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def endpoint(env: Mapping[str, str] | None = None) -> str:
    """``HF_ENDPOINT`` without a trailing slash, default https://huggingface.co."""
    value = _env(env).get("HF_ENDPOINT", "").strip()
    return (value or DEFAULT_ENDPOINT).rstrip("/")


def is_offline(env: Mapping[str, str] | None = None) -> bool:
    """``HF_HUB_OFFLINE=1`` (or on/yes/true): read only cached and local files."""
    return _env(env).get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def hf_home(env: Mapping[str, str] | None = None) -> Path:
    """``HF_HOME``, else ``$XDG_CACHE_HOME/huggingface``, else ~/.cache/huggingface."""
    e = _env(env)
    if e.get("HF_HOME"):
        return Path(e["HF_HOME"]).expanduser()
    if e.get("XDG_CACHE_HOME"):
        return Path(e["XDG_CACHE_HOME"]).expanduser() / "huggingface"
    return Path.home() / ".cache" / "huggingface"


def hf_hub_cache(env: Mapping[str, str] | None = None) -> Path:
    """Where huggingface_hub keeps downloaded repos (``HF_HUB_CACHE``)."""
    e = _env(env)
    if e.get("HF_HUB_CACHE"):
        return Path(e["HF_HUB_CACHE"]).expanduser()
    return hf_home(e) / "hub"


def token(env: Mapping[str, str] | None = None) -> str | None:
    """The user's Hub token: ``HF_TOKEN``, else the file ``huggingface-cli login`` wrote.

    The file is ``HF_TOKEN_PATH`` if set, else ``$HF_HOME/token``. Returns None
    when there is no token; never logs or prints it.
    """
    e = _env(env)
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        value = e.get(name, "").strip()
        if value:
            return value
    path = Path(e["HF_TOKEN_PATH"]).expanduser() if e.get("HF_TOKEN_PATH") else hf_home(e) / "token"
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return value or None


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """The CLI's response cache folder.

    ``LLM_MEM_CACHE``, else ``$HF_HOME/llm-mem``, else ~/.cache/llm-mem.
    """
    e = _env(env)
    if e.get("LLM_MEM_CACHE"):
        return Path(e["LLM_MEM_CACHE"]).expanduser()
    if e.get("HF_HOME"):
        return Path(e["HF_HOME"]).expanduser() / "llm-mem"
    if e.get("XDG_CACHE_HOME"):
        return Path(e["XDG_CACHE_HOME"]).expanduser() / "llm-mem"
    return Path.home() / ".cache" / "llm-mem"

"""Pick real config fixtures from tests/fixtures/configs."""

from __future__ import annotations

from pathlib import Path

CONFIGS = Path(__file__).resolve().parents[1] / "fixtures" / "configs"


def config_path(*preferred: str) -> Path:
    """A fixture config, the first of ``preferred`` that exists, else any."""
    for name in preferred:
        path = CONFIGS / f"{name}.json"
        if path.is_file():
            return path
    found = sorted(CONFIGS.glob("*.json"))
    assert found, "tests/fixtures/configs is empty"
    return found[0]

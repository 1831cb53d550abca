"""Fixtures for tests/deploy: a built dist/, the SWA-like server, system Chromium
for pytest-playwright. Helpers live in deploy_support.py (importable by name)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deploy_support import ROOT, build_dist, launch_options, swa_server


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, **launch_options()}


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (ROOT / "node_modules" / "pyodide").is_dir():
        pytest.skip("node_modules missing: run npm ci")
    out = tmp_path_factory.mktemp("dist") / "dist"
    build_dist(out)
    return out


@pytest.fixture(scope="session")
def swa(dist: Path) -> Iterator[str]:
    server, url = swa_server.serve_in_thread(dist)
    yield url
    server.shutdown()
    server.server_close()

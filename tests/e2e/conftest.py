"""Fixtures for the end-to-end tests of the built page.

One build of dist/ (into a temporary folder) and one local server per session;
one browser (Debian's Chromium when present, else Playwright's). The Hugging Face
Hub is simulated with ``context.route`` (see pagekit.py): a test fails if any request
would leave 127.0.0.1 without being answered by the fake Hub.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pagekit import ROOT, Session, open_session

sys.path.insert(0, str(ROOT))

import build
from tests.browser import launch_options


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, **launch_options()}


@pytest.fixture(scope="session")
def dist_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh build (E2E_DIST=path reuses an existing one)."""
    given = os.environ.get("E2E_DIST")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("dist")
    build.build(out, quiet=True)
    return out


@pytest.fixture(scope="session")
def base_url(dist_dir: Path) -> Iterator[str]:
    server = build.make_server(dist_dir, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def booted(browser: Any, base_url: str) -> Iterator[Session]:
    """One booted page shared by a module's tests (booting costs seconds)."""
    session = open_session(browser, base_url)
    yield session
    session.check_clean()
    session.page.context.close()


@pytest.fixture
def fresh(browser: Any, base_url: str) -> Iterator[Callable[..., Session]]:
    """Open a new page (own context) for one test; checked and closed afterwards."""
    opened: list[Session] = []

    def make(query: str = "", **kwargs: Any) -> Session:
        session = open_session(browser, base_url, query, **kwargs)
        opened.append(session)
        return session

    yield make
    for session in opened:
        try:
            session.check_clean()
        finally:
            session.page.context.close()


"""pytest plugin: run the page's end-to-end suite (tests/e2e) behind swa_server.py,
i.e. with staticwebapp.config.json's headers (CSP enforced, frame-ancestors, MIME
types, cache rules, 404s) instead of build.py's plain server.

    PYTHONPATH=tests/deploy python -m pytest tests/e2e -p swa_e2e_plugin

tests/e2e's conftest serves dist/ with ``build.make_server``; this swaps it for the
SWA-like server. A CSP violation is logged by Chromium as a console error, which
tests/e2e's Console check turns into a failure; the init script below also records
``securitypolicyviolation`` events and fails the test that caused one.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))

import swa_server  # noqa: E402
from deploy_support import CSP_WATCH  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    import build

    def make_server(directory: Path, host: str = "127.0.0.1", port: int = 0,
                    gzip_enabled: bool = True) -> Any:
        return swa_server.make_server(Path(directory), host, port)

    build.make_server = make_server  # type: ignore[assignment]

    from playwright.sync_api import Browser

    original = Browser.new_context

    def new_context(self: Any, *args: Any, **kwargs: Any) -> Any:
        context = original(self, *args, **kwargs)
        context.add_init_script(CSP_WATCH.replace(
            "window.__csp.push(", "console.error('CSP violation: ' + "))
        return context

    Browser.new_context = new_context  # type: ignore[method-assign]

"""Helpers for tests/deploy: building dist/, a mocked Hub, a CSP-violation watch."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import swa_server  # noqa: E402  (re-exported for the tests)

__all__ = [
    "CONFIGS",
    "CSP_WATCH",
    "HUB_MODEL",
    "NEVER_FETCHED",
    "ROOT",
    "build_dist",
    "csp_violations",
    "hub_config",
    "launch_options",
    "mock_hub",
    "swa_server",
    "watch_csp",
]

from tests.browser import launch_options  # noqa: E402

CONFIGS = ROOT / "tests" / "fixtures" / "configs"
_ABSENT = object()

#: Hub models the mocked Hub knows (neither is bundled with the page)
HUB_MODEL = "Qwen/Qwen2.5-3B"
NEVER_FETCHED = "Qwen/Qwen2.5-14B"

#: init script: collect CSP violations (and make them visible to tests)
CSP_WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' '
                    + e.sourceFile + ':' + e.lineNumber);
});
"""


def build_dist(out: Path, site: Path | None = None, *, brotli: bool = False) -> dict[str, Any]:
    """Run build.py's build() into ``out`` (optionally from another site/ folder).

    Without ``brotli`` the build skips the .br copies (quality 11 on the 9 MB wasm
    takes half a minute; the tests do not need them, .gz copies are still made).
    """
    import build

    saved_site, saved_brotli = build.SITE, sys.modules.get("brotli", _ABSENT)
    try:
        if site is not None:
            build.SITE = site
        if not brotli:
            sys.modules["brotli"] = None  # type: ignore[assignment]  # import -> ImportError
        manifest: dict[str, Any] = build.build(out, quiet=True)
        return manifest
    finally:
        build.SITE = saved_site
        if saved_brotli is _ABSENT:
            sys.modules.pop("brotli", None)
        else:
            sys.modules["brotli"] = saved_brotli  # type: ignore[assignment]


def hub_config(repo_id: str) -> bytes:
    return (CONFIGS / (repo_id.replace("/", "__") + ".json")).read_bytes()


def mock_hub(context: Any, log: list[str] | None = None) -> None:
    """Answer Hub requests (from the page and from its service worker) with fixtures."""

    def handle(route: Any) -> None:
        url = route.request.url
        if log is not None:
            log.append(url)
        path = url.split("://", 1)[1].split("/", 1)[1].split("?", 1)[0]
        for repo_id in (HUB_MODEL, NEVER_FETCHED):
            if path in (f"api/models/{repo_id}", f"api/models/{repo_id}/revision/main"):
                body = {"id": repo_id, "modelId": repo_id, "sha": "0" * 40, "private": False,
                        "gated": False, "siblings": [{"rfilename": "config.json", "size": 700}]}
                route.fulfill(status=200, content_type="application/json", body=json.dumps(body))
                return
            if path == f"{repo_id}/resolve/main/config.json":
                route.fulfill(status=200, content_type="application/json",
                              body=hub_config(repo_id))
                return
        route.fulfill(status=404, content_type="application/json",
                      body=json.dumps({"error": "Entry not found"}))

    context.route("https://huggingface.co/**", handle)


def watch_csp(context: Any) -> list[str]:
    """Collect CSP violations from every page of ``context`` (console + events)."""
    found: list[str] = []
    context.add_init_script(CSP_WATCH)

    def on_console(msg: Any) -> None:
        text = msg.text
        if "Content Security Policy" in text or "Refused to" in text:
            found.append(text)

    context.on("console", on_console)
    return found


def csp_violations(page: Any, console: list[str]) -> list[str]:
    seen: list[str] = list(console)
    for frame in page.frames:
        with contextlib.suppress(Exception):  # a frame that went away or was blocked
            seen += frame.evaluate("window.__csp || []")
    return seen

"""Helpers of the end-to-end tests: the fake Hub, page sessions, fixture configs.

The Hugging Face Hub is simulated with ``context.route``: a test fails if any request
would leave 127.0.0.1 without being answered by the fake Hub. A module of its own (not
conftest) so that test modules import it by a name no other test folder uses.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "tests" / "fixtures" / "configs"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "site"))


BOOT_TIMEOUT_MS = 90_000
SETTLE_TIMEOUT_MS = 30_000


def load_config(name: str) -> dict[str, Any]:
    return json.loads((CONFIGS / f"{name}.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------
# the fake Hub


#: What the real huggingface.co answers (recorded traffic, /work/shared/notes/
#: launch-and-hardware-facts.md and issue 10): the Hub's error headers are readable by pages.
EXPOSE = "X-Error-Code, X-Error-Message, RateLimit, RateLimit-Policy"
NO_SUCH_REPO = "Invalid username or password."
BAD_TOKEN = "Invalid credentials in Authorization header"


@dataclass
class FakeHub:
    """Answers huggingface.co requests from fixtures with the real Hub's answer shapes;
    records everything else as a leak.

    - a public repo: model API and config.json with 200;
    - a repo that does not exist, or a private one, asked without a (valid) token: 401,
      body {"error": "Invalid username or password."}, X-Error-Message, no X-Error-Code;
      with a valid token a missing repo is 404 with X-Error-Code: RepoNotFound;
    - a gated repo: model API 200 with "gated": "auto"; its files 401 (no token) or 403
      (a token without access) with X-Error-Code: GatedRepo; 200 with a token in ``tokens``;
    - an unknown token: 401 with X-Error-Message: Invalid credentials in Authorization header;
    - ``failures``: repo -> 429 (RateLimit header, no Retry-After), "abort" (offline),
      "badjson" (a captive portal's HTML page);
    - ``offline``: every Hub request fails as when the network is down.
    """

    configs: dict[str, dict[str, Any]] = field(default_factory=dict)  # public repo -> config
    gated: dict[str, dict[str, Any]] = field(default_factory=dict)  # gated repo -> config
    tokens: set[str] = field(default_factory=set)  # valid tokens (with access to gated repos)
    failures: dict[str, Any] = field(default_factory=dict)  # repo -> 429 | "abort" | "badjson"
    search: dict[str, list[str]] = field(default_factory=dict)  # query -> ids
    raw: dict[str, str] = field(default_factory=dict)  # public repo -> config.json body as is
    offline: bool = False
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)

    def handle(self, route: Any) -> None:
        request = route.request
        url = request.url
        parts = urlsplit(url)
        host = parts.hostname or ""
        if host == "127.0.0.1":
            route.continue_()
            return
        if host != "huggingface.co":
            self.leaks.append(url)
            route.abort()
            return
        self.seen.append((url, dict(request.headers)))
        if self.offline:
            route.abort("internetdisconnected")
            return
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth else ""
        if token and token not in self.tokens:
            self._error(route, 401, BAD_TOKEN)
            return
        path = unquote(parts.path)
        if path == "/api/models":
            query = parse_qs(parts.query).get("search", [""])[0]
            ids = self.search.get(query, [])
            self._json(route, 200, [{"id": i, "modelId": i} for i in ids])
            return
        if path.startswith("/api/models/"):
            repo = path[len("/api/models/") :].split("/revision/")[0]
            kind = "api"
        elif "/resolve/" in path:
            repo = path.lstrip("/").split("/resolve/")[0]
            kind = path.rsplit("/", 1)[-1]
        else:
            self.leaks.append(url)
            route.abort()
            return
        failure = self.failures.get(repo)
        if failure == "abort":
            route.abort("internetdisconnected")
            return
        if failure == "badjson":
            route.fulfill(
                status=200, body="<html>not json</html>", headers={"content-type": "text/html"}
            )
            return
        if failure == 429:
            self._error(route, 429, "You have been rate-limited; you can retry this action in "
                        "55 seconds.", {"ratelimit": '"api";r=0;t=55',
                                        "ratelimit-policy": '"fixed window";"api";q=500;w=300'})
            return
        if repo in self.raw:  # a config anyone could publish: served byte for byte
            if kind == "api":
                self._json(route, 200, {"id": repo, "modelId": repo, "sha": "0" * 40,
                                        "private": False, "gated": False,
                                        "siblings": [{"rfilename": "config.json"}]})
            elif kind == "config.json":
                route.fulfill(status=200, body=self.raw[repo],
                              headers={"content-type": "application/json",
                                       "access-control-expose-headers": EXPOSE})
            else:
                self._error(route, 404, "Entry not found", {"x-error-code": "EntryNotFound"})
            return
        gated = repo in self.gated
        config = self.gated.get(repo) if gated else self.configs.get(repo)
        if config is None:
            if token:
                self._error(route, 404, "Repository not found", {"x-error-code": "RepoNotFound"})
            else:
                self._error(route, 401, NO_SUCH_REPO)
            return
        if kind == "api":
            self._json(route, 200, {"id": repo, "modelId": repo, "sha": "0" * 40,
                                    "private": False, "gated": "auto" if gated else False,
                                    "siblings": [{"rfilename": "config.json"}]})
            return
        if gated and not token:
            self._error(route, 401, f"Access to model {repo} is restricted. You must have "
                        "access to it and be authenticated to access it. Please log in.",
                        {"x-error-code": "GatedRepo"})
            return
        if kind == "config.json":
            self._json(route, 200, config)
        else:
            self._error(route, 404, "Entry not found", {"x-error-code": "EntryNotFound"})

    @classmethod
    def _error(cls, route: Any, status: int, message: str,
               headers: dict[str, str] | None = None) -> None:
        cls._json(route, status, {"error": message},
                  {"x-error-message": message, **(headers or {})})

    @staticmethod
    def _json(route: Any, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        route.fulfill(
            status=status,
            body=json.dumps(data),
            headers={"content-type": "application/json", "access-control-expose-headers": EXPOSE,
                     **(headers or {})},
        )


@dataclass
class Console:
    """Console errors and uncaught exceptions seen by a page."""

    errors: list[str] = field(default_factory=list)
    expected_urls: tuple[str, ...] = ("https://huggingface.co/",)

    def on_console(self, msg: Any) -> None:
        if msg.type != "error":
            return
        location = (msg.location or {}).get("url", "") if hasattr(msg, "location") else ""
        # the browser logs every 4xx/5xx fetch; the fake Hub answers some on purpose
        if msg.text.startswith("Failed to load resource") and location.startswith(
            self.expected_urls
        ):
            return
        self.errors.append(msg.text)

    def on_pageerror(self, error: Any) -> None:
        self.errors.append(f"uncaught: {error}")


@dataclass
class Session:
    page: Any
    hub: FakeHub
    console: Console
    base_url: str

    def settle(self) -> None:
        """Wait until the latest re-estimate (and its charts and tables) is drawn."""
        self.page.wait_for_function(
            "() => { const d = document.documentElement.dataset;"
            " return d.generation !== undefined && d.settled === d.generation; }",
            timeout=SETTLE_TIMEOUT_MS,
        )

    def change(self, action: Callable[[], None]) -> None:
        """Run ``action`` (which changes an input) and wait for the new figures."""
        before = self.page.evaluate("document.documentElement.dataset.generation")
        action()
        self.page.wait_for_function(
            "(b) => { const d = document.documentElement.dataset;"
            " return d.generation !== b && d.settled === d.generation; }",
            arg=before,
            timeout=SETTLE_TIMEOUT_MS,
        )

    def text(self, selector: str) -> str:
        return str(self.page.text_content(selector) or "").strip()

    def check_clean(self) -> None:
        assert not self.hub.leaks, f"requests left 127.0.0.1 unhandled: {self.hub.leaks}"
        assert not self.console.errors, f"console errors: {self.console.errors}"


def open_session(
    browser: Any,
    base_url: str,
    query: str = "",
    *,
    wait_ready: bool = True,
    hub: FakeHub | None = None,
    **context_args: Any,
) -> Session:
    context = browser.new_context(**context_args)
    hub = hub or FakeHub()
    context.route("**/*", hub.handle)
    page = context.new_page()
    console = Console()
    page.on("console", console.on_console)
    page.on("pageerror", console.on_pageerror)
    page.on("dialog", lambda d: (console.errors.append(f"dialog: {d.message}"), d.dismiss()))
    session = Session(page, hub, console, base_url)
    page.goto(base_url + query)
    if wait_ready:
        page.wait_for_selector("html[data-ready]", state="attached", timeout=BOOT_TIMEOUT_MS)
        session.settle()
    return session


def wait(seconds: float) -> None:  # pragma: no cover - debugging aid
    time.sleep(seconds)

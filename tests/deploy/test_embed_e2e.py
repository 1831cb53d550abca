"""Embedding: a host page on a second localhost origin uses embed.js; the widget
boots, estimates, reports its height and follows the host's colour scheme. The
full page refuses to be framed by another origin (frame-ancestors 'self')."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from deploy_support import csp_violations, watch_csp

pytestmark = pytest.mark.e2e
BOOT_MS = 60_000

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Docs host</title></head>
<body>
<h1>Some documentation page</h1>
<div id="w" data-llm-memory model="meta-llama/Llama-3.1-8B" precision="int4" context="32768"
     controls="precision,context"></div>
<iframe id="full" src="{widget}/index.html" title="full page framed"></iframe>
<script src="{widget}/embed.js"></script>
</body></html>
"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def host(tmp_path: Path, swa: str) -> Iterator[str]:
    (tmp_path / "host.html").write_text(HOST_PAGE.format(widget=swa))
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 partial(QuietHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_widget_on_another_origin(browser: Any, host: str, swa: str) -> None:
    assert host != swa
    context = browser.new_context()
    console = watch_csp(context)
    page = context.new_page()
    page.goto(host + "/host.html")
    iframe = page.locator("#w iframe")
    iframe.wait_for(state="attached")
    src = iframe.get_attribute("src") or ""
    assert src.startswith(swa + "/embed.html?")
    assert "precision=int4" in src and "context=32768" in src

    # ready, then resized by a message from the widget
    page.wait_for_selector("#w iframe[data-ready]", state="attached", timeout=BOOT_MS)
    page.wait_for_selector("#w iframe[data-height]", state="attached", timeout=BOOT_MS)
    frame = page.frame_locator("#w iframe")
    assert frame.locator("#precision").input_value() == "int4"
    assert frame.locator("#context").input_value() == "32768"
    assert re.search(r"\d", frame.locator("#total-gib").text_content() or "")
    assert (frame.locator("#recommendation").text_content() or "").strip()
    assert frame.locator("#rows-breakdown tr").count() >= 3
    # compact: chosen controls only, no charts; a link to the full tool
    assert frame.locator("#precision").is_visible()
    assert not frame.locator("#batch").is_visible()
    assert not frame.locator("#chart-ctx").is_visible()
    link = frame.locator("#embed-open")
    assert link.get_attribute("target") == "_blank"
    assert (link.get_attribute("href") or "").startswith(swa + "/?")
    page.wait_for_function(
        "() => { const f = document.querySelector('#w iframe');"
        " return Math.abs(parseFloat(f.style.height) - (+f.dataset.height + 2)) < 1; }",
        timeout=10_000)
    height = float(iframe.evaluate("f => parseFloat(f.style.height)"))
    assert 150 < height < 2500

    # the host switches to dark (MkDocs Material's attribute): the widget follows
    page.evaluate("document.body.setAttribute('data-md-color-scheme', 'slate')")
    frame.locator("html[data-theme='dark']").wait_for(state="attached", timeout=10_000)
    page.evaluate("document.body.setAttribute('data-md-color-scheme', 'default')")
    frame.locator("html[data-theme='light']").wait_for(state="attached", timeout=10_000)

    # the full page does not render inside another origin's frame
    full = page.frame(url=re.compile(r".*/index\.html$"))
    blocked = full is None or full.evaluate("() => !document.getElementById('app')")
    assert blocked
    assert any("frame-ancestors" in line for line in console)
    if "SHOT" in __import__("os").environ:
        page.screenshot(path=__import__("os").environ["SHOT"], full_page=True)

    # host page has no CSP; the widget's own CSP must see no violations
    violations = [v for v in csp_violations(page, console) if "frame-ancestors" not in v]
    assert violations == []
    context.close()

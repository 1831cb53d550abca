"""Embedding: a host page on another site (``localhost`` vs ``127.0.0.1``) uses embed.js
with three widgets; they share one Python runtime (a SharedWorker on the estimator's
origin), each is a compact card (<= 360 px), shows the library's answer for its own
settings, keeps controls/theme in its URL, reports its height and follows the host's
colour scheme. The full page refuses to be framed by another origin."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from deploy_support import ROOT, csp_violations, watch_csp

pytestmark = pytest.mark.e2e
BOOT_MS = 90_000
CARD_MAX_PX = 360  # issue 11: the default widget is a compact card

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Docs host</title></head>
<body>
<h1>Some documentation page</h1>
<div id="w1" data-llm-memory model="meta-llama/Llama-3.1-8B" precision="int4" context="32768"
     controls="precision,context"></div>
<div id="w2" data-llm-memory model="Qwen/Qwen3-8B" precision="fp8" batch="4"></div>
<div id="w3" data-llm-memory model="meta-llama/Llama-3.1-70B-Instruct" gpus="2"
     theme="dark"></div>
<iframe id="full" src="{widget}/index.html" title="full page framed"></iframe>
<script src="{widget}/embed.js"></script>
</body></html>
"""
WIDGETS = {
    "w1": ("meta-llama__Llama-3.1-8B", {"precision": "int4", "context": 32768}),
    "w2": ("Qwen__Qwen3-8B", {"precision": "fp8", "batch": 4}),
    "w3": ("meta-llama__Llama-3.1-70B-Instruct", {"gpus": 2}),
}


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def host(tmp_path: Path, swa: str) -> Iterator[tuple[str, str]]:
    """(host page URL on 127.0.0.1, the widget's origin on localhost): two sites."""
    widget = swa.replace("127.0.0.1", "localhost")
    (tmp_path / "host.html").write_text(HOST_PAGE.format(widget=widget))
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 partial(QuietHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/host.html", widget
    server.shutdown()
    server.server_close()


def library_total(name: str, options: dict[str, Any]) -> str:
    import json
    import sys

    sys.path.insert(0, str(ROOT / "site"))
    import view

    from estimator import EstimateOptions, estimate

    config = json.loads((ROOT / "tests" / "fixtures" / "configs" / f"{name}.json").read_text())
    est = estimate(config, EstimateOptions(**{"gpu": view.UI_DEFAULTS["gpu"],
                                              "engine": view.UI_DEFAULTS["engine"], **options}))
    return str(view.fmt_gib(est.total_bytes))


@pytest.fixture
def partitioned(browser_type: Any) -> Iterator[Any]:
    """A Chromium that partitions third-party storage, as Chrome does for its users (the
    default browser fixture has Playwright's switch that turns partitioning off)."""
    from tests.browser import partitioned_launch_options

    browser = browser_type.launch(**partitioned_launch_options())
    yield browser
    browser.close()


def test_three_widgets_share_one_runtime_on_another_site(partitioned: Any,
                                                         host: tuple[str, str]) -> None:
    host_url, widget = host
    context = partitioned.new_context()
    console = watch_csp(context)
    page = context.new_page()
    started = time.monotonic()
    page.goto(host_url)
    for wid in WIDGETS:  # a reader scrolls to each: Chromium throttles off-screen frames
        page.locator(f"#{wid}").scroll_into_view_if_needed()
        page.wait_for_selector(f"#{wid} iframe[data-ready]", state="attached", timeout=BOOT_MS)
    elapsed = time.monotonic() - started
    frames = {wid: page.frame_locator(f"#{wid} iframe") for wid in WIDGETS}
    runtime_ids = set()
    for wid, frame in frames.items():
        src = page.get_attribute(f"#{wid} iframe", "src") or ""
        assert src.startswith(widget + "/embed.html?")
        html = frame.locator("html")
        html.wait_for(state="attached")
        frame.locator("html[data-settled]").wait_for(state="attached", timeout=BOOT_MS)
        assert html.get_attribute("data-runtime") == "shared"
        runtime_ids.add(html.get_attribute("data-runtime-id"))
        frame.locator("html[data-ready]").wait_for(state="attached", timeout=BOOT_MS)
        name, options = WIDGETS[wid]
        # the drawn figure is the library's answer for this widget's own settings
        assert frame.locator("#total-gib").text_content() == library_total(name, options), wid
        assert frame.locator("#results").get_attribute("data-stale") is None
        assert (frame.locator("#recommendation").text_content() or "").strip()
        assert frame.locator("#fit-text").is_visible()
        # compact: no charts, the breakdown behind a toggle
        assert not frame.locator("#chart-ctx").is_visible()
        assert not frame.locator("#rows-breakdown").is_visible()
        frame.locator("details.embed-more > summary").click()
        assert frame.locator("#rows-breakdown tr").count() >= 3
        assert frame.locator("#rows-breakdown").is_visible()
        frame.locator("details.embed-more > summary").click()
    assert len(runtime_ids) == 1 and None not in runtime_ids  # one Python for all three
    # each card reports its height and fits the compact size
    heights: dict[str, float] = {}
    for wid in WIDGETS:
        page.wait_for_function(
            "(id) => { const f = document.querySelector('#' + id + ' iframe');"
            " return f.dataset.height && Math.abs(parseFloat(f.style.height)"
            " - (+f.dataset.height + 2)) < 1; }", arg=wid, timeout=10_000)
        height = float(page.eval_on_selector(f"#{wid} iframe", "f => parseFloat(f.style.height)"))
        heights[wid] = height
        assert 150 < height <= CARD_MAX_PX, (wid, height)
    print(f"three widgets ready in {elapsed:.1f} s, card heights {heights}")

    # a change inside a widget: the figure follows, controls/theme/frame stay in its URL and
    # the host's history gets no entry
    first = frames["w1"]
    before_history = page.evaluate("history.length")
    first.locator("#precision").select_option("fp8")
    first.locator("#total-gib").filter(
        has_text=library_total("meta-llama__Llama-3.1-8B", {"precision": "fp8", "context": 32768})
    ).wait_for(timeout=20_000)
    inner = page.frame(url=re.compile(r".*embed\.html\?.*frame=llm-memory-1.*"))
    assert inner is not None
    assert "precision=fp8" in inner.url
    assert "controls=precision%2Ccontext" in inner.url and "theme=" in inner.url
    assert page.evaluate("history.length") == before_history
    assert first.locator("#precision").is_visible() and first.locator("#context").is_visible()
    assert not first.locator("#batch").is_visible()
    # a widget never reads or sends a Hub token
    assert not first.locator("#token").is_visible()
    link = first.locator("#embed-open")
    assert link.get_attribute("target") == "_blank"
    # the link follows the widget's settings (app.js's "llm-mem:url" signal), not its own
    href = link.get_attribute("href") or ""
    assert href.startswith(widget + "/?") and "precision=fp8" in href, href
    assert "frame=" not in href and "controls=" not in href, href

    # the host switches to dark (MkDocs Material's attribute): following widgets follow,
    # the one with theme="dark" stays dark
    page.evaluate("document.body.setAttribute('data-md-color-scheme', 'slate')")
    first.locator("html[data-theme='dark']").wait_for(state="attached", timeout=10_000)
    page.evaluate("document.body.setAttribute('data-md-color-scheme', 'default')")
    first.locator("html[data-theme='light']").wait_for(state="attached", timeout=10_000)
    assert frames["w3"].locator("html").get_attribute("data-theme") == "dark"

    # the full page does not render inside another origin's frame
    full = page.frame(url=re.compile(r".*/index\.html$"))
    blocked = full is None or full.evaluate("() => !document.getElementById('app')")
    assert blocked
    assert any("frame-ancestors" in line for line in console)
    violations = [v for v in csp_violations(page, console) if "frame-ancestors" not in v]
    assert violations == []

    # a docs theme's content column (MkDocs Material, Furo: ~700-760 px): still compact, the
    # GPU chip beside its search, the footer link on the toggle's line
    page.set_viewport_size({"width": 716, "height": 900})  # cards 700 px wide
    for wid in WIDGETS:
        page.locator(f"#{wid}").scroll_into_view_if_needed()
        page.wait_for_function(
            "(id) => { const f = document.querySelector('#' + id + ' iframe');"
            " return f.getBoundingClientRect().width < 710 && f.dataset.height"
            " && Math.abs(parseFloat(f.style.height) - (+f.dataset.height + 2)) < 1; }",
            arg=wid, timeout=10_000)
        height = float(page.eval_on_selector(f"#{wid} iframe", "f => parseFloat(f.style.height)"))
        assert 150 < height <= CARD_MAX_PX, (wid, "700 px column", height)
        toggle = frames[wid].locator("details.embed-more > summary").bounding_box()
        foot = frames[wid].locator("#embed-open").bounding_box()
        assert toggle and foot and abs(toggle["y"] - foot["y"]) < toggle["height"], (toggle, foot)
    context.close()

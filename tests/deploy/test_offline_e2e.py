"""Offline behaviour (service worker), in system Chromium behind the SWA-like server
with staticwebapp.config.json's CSP enforced: a CSP violation fails the test."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from deploy_support import (
    HUB_MODEL,
    NEVER_FETCHED,
    ROOT,
    build_dist,
    csp_violations,
    mock_hub,
    swa_server,
    watch_csp,
)

pytestmark = pytest.mark.e2e
BOOT_MS = 60_000


def wait_ready(page: Any) -> None:
    page.wait_for_selector("html[data-ready]", state="attached", timeout=BOOT_MS)


def wait_settled(page: Any) -> None:
    page.wait_for_function(
        "() => document.documentElement.dataset.generation &&"
        " document.documentElement.dataset.settled === document.documentElement.dataset.generation",
        timeout=BOOT_MS)


def wait_offline_ready(page: Any) -> None:
    page.wait_for_selector("html[data-offline-ready]", state="attached", timeout=BOOT_MS)


def wait_label(page: Any, model: str) -> None:
    # a function, not an expression: string expressions need 'unsafe-eval' under the CSP
    page.wait_for_function("(m) => document.getElementById('model-label').textContent.includes(m)",
                           arg=model, timeout=BOOT_MS)


def choose_model(page: Any, model: str) -> None:
    page.fill("#model", model)
    page.dispatch_event("#model", "change")


def total(page: Any) -> str:
    return page.text_content("#total-gib") or ""


def test_offline_reload_bundled_and_fetched_models(browser: Any, swa: str) -> None:
    context = browser.new_context()
    console = watch_csp(context)
    hub_log: list[str] = []
    mock_hub(context, hub_log)
    page = context.new_page()
    page.goto(swa + "/")
    wait_ready(page)
    wait_offline_ready(page)  # the SW holds the runtime now
    assert page.evaluate("navigator.serviceWorker.controller !== null")

    # look at a Hub model once, online
    choose_model(page, HUB_MODEL)
    wait_label(page, HUB_MODEL)
    wait_settled(page)
    online_total = total(page)
    assert any("config.json" in u for u in hub_log)

    # offline: reload boots Python from the SW cache and estimates the fetched model
    # (Playwright still fulfils routed requests when offline: drop the mock Hub too)
    context.unroute("https://huggingface.co/**")
    context.set_offline(True)
    page.reload()
    wait_ready(page)
    wait_settled(page)
    assert HUB_MODEL in (page.text_content("#model-label") or "")
    assert total(page) == online_total
    notice = page.locator("#offline-notice")
    assert notice.is_visible() and "offline" in notice.text_content().lower()

    # a bundled model works offline
    choose_model(page, "meta-llama/Llama-3.1-8B-Instruct")
    wait_label(page, "meta-llama/Llama-3.1-8B-Instruct")
    wait_settled(page)
    assert re.search(r"\d", total(page))

    # a model never fetched: a clear message; the previous model's figures are cleared and
    # the results say why
    choose_model(page, NEVER_FETCHED)
    page.wait_for_selector("#model-error:not([hidden])", timeout=20_000)
    message = page.text_content("#model-error") or ""
    assert "Cannot reach the Hub" in message and "Bundled models" in message
    assert page.get_attribute("#results", "data-stale") == "failed"
    assert f"Could not load {NEVER_FETCHED}" in (page.text_content("#stale-reason") or "")
    assert total(page) == "—"

    context.set_offline(False)
    assert csp_violations(page, console) == []
    context.close()


def test_new_deploy_takes_over_on_next_load(browser: Any, dist: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(ROOT / "site", site)
    served = tmp_path / "dist"
    shutil.copytree(dist, served)  # version 1: the session's build of the same sources
    server, url = swa_server.serve_in_thread(served)
    context = browser.new_context()
    console = watch_csp(context)
    try:
        page = context.new_page()
        page.goto(url + "/")
        wait_ready(page)
        wait_offline_ready(page)
        old_version = page.get_attribute("html", "data-offline-version")
        old_css = page.get_attribute("link[href*='app.']", "href")

        # a rebuild with changed content, deployed in place
        with (site / "app.css").open("a") as fh:
            fh.write("\n/* changed for the update test */\n")
        build_dist(served, site)

        page.reload()
        wait_ready(page)
        new_css = page.get_attribute("link[href*='app.']", "href")
        assert new_css != old_css  # the new deploy's page, not a cached one
        # the new deploy's SW installs, takes over and reports its own cache complete
        page.wait_for_function(
            "(old) => { const d = document.documentElement.dataset;"
            " return d.offlineVersion && d.offlineVersion !== old && 'offlineReady' in d; }",
            arg=old_version, timeout=BOOT_MS)
        new_version = page.get_attribute("html", "data-offline-version")
        # only the new version's cache remains (plus the Hub cache)
        names = page.evaluate("caches.keys()")
        assert [n for n in names if "-app-" in n] == [f"llm-mem-app-{new_version}"]
        cached = page.evaluate(f"""async () => {{
            const c = await caches.open('llm-mem-app-{new_version}');
            return (await c.keys()).map(r => new URL(r.url).pathname);
        }}""")
        assert "/" + new_css.lstrip("./") in cached
        assert "/" + old_css.lstrip("./") not in cached
        assert csp_violations(page, console) == []
    finally:
        context.close()
        server.shutdown()
        server.server_close()

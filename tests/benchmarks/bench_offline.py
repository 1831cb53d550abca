#!/usr/bin/env python3
"""Warm reload served by the service worker vs a cold load, to the first Python estimate.

    python tests/benchmarks/bench_offline.py [--runs 5] [--throttle 50]

Builds dist/ into a temporary folder, serves it with tests/deploy/swa_server.py
(staticwebapp.config.json's headers, precompressed files) and drives system
Chromium headless. "First Python estimate" is the moment the page sets
``html[data-ready]`` (Python booted, the model loaded, the headline recomputed),
taken from the page's own clock (performance.now(), navigation start = 0).

  cold        fresh browser context: empty HTTP cache, no service worker
  warm HTTP   reload with service workers blocked: the HTTP cache only
  warm SW     reload once the SW holds everything (html[data-offline-ready])

--throttle N emulates an N Mbit/s link with 20 ms latency (CDP) for every load.
Prints a Markdown table; the issue's target is warm SW < 60% of cold.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "deploy"))

from deploy_support import build_dist, launch_options, swa_server  # noqa: E402

READY_CLOCK = """
new MutationObserver((_, o) => {
  if (document.documentElement.hasAttribute('data-ready')) {
    window.__readyAt = performance.now(); o.disconnect();
  }
}).observe(document, {attributes: true, subtree: true, attributeFilter: ['data-ready']});
"""
TIMEOUT_MS = 120_000


def throttle(page: Any, mbit: float | None) -> None:
    if not mbit:
        return
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    rate = mbit * 1e6 / 8
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 20,
                                                  "downloadThroughput": rate,
                                                  "uploadThroughput": rate})


def ready_ms(page: Any) -> float:
    page.wait_for_selector("html[data-ready]", state="attached", timeout=TIMEOUT_MS)
    return float(page.evaluate("() => window.__readyAt"))


def one_round(browser: Any, url: str, mbit: float | None) -> dict[str, float]:
    out: dict[str, float] = {}
    # cold, then warm from the HTTP cache only (service workers blocked)
    ctx = browser.new_context(service_workers="block")
    ctx.add_init_script(READY_CLOCK)
    page = ctx.new_page()
    throttle(page, mbit)
    page.goto(url)
    out["cold"] = ready_ms(page)
    page.reload()
    out["warm_http"] = ready_ms(page)
    ctx.close()
    # warm from the service worker
    ctx = browser.new_context()
    ctx.add_init_script(READY_CLOCK)
    page = ctx.new_page()
    throttle(page, mbit)
    page.goto(url)
    out["cold_sw_first_visit"] = ready_ms(page)
    page.wait_for_selector("html[data-offline-ready]", state="attached", timeout=TIMEOUT_MS)
    page.reload()
    out["warm_sw"] = ready_ms(page)
    ctx.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--throttle", type=float, default=None, metavar="MBIT")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        dist = Path(tmp) / "dist"
        build_dist(dist, brotli=True)  # as deployed: .br copies of the runtime
        server, url = swa_server.serve_in_thread(dist)
        rounds = []
        with sync_playwright() as p:
            browser = p.chromium.launch(**launch_options())
            one_round(browser, url + "/", args.throttle)  # warm-up (disk, JIT), discarded
            for _ in range(args.runs):
                rounds.append(one_round(browser, url + "/", args.throttle))
            browser.close()
        server.shutdown()
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    link = f"{args.throttle:g} Mbit/s, 20 ms" if args.throttle else "localhost, unthrottled"
    print(f"\n{link}, median of {args.runs} (ms to html[data-ready]):\n")
    print("| load | ms | vs cold |")
    print("|---|---|---|")
    for key, label in (("cold", "cold (empty cache, no SW)"),
                       ("cold_sw_first_visit", "first visit with the SW installing"),
                       ("warm_http", "warm reload, HTTP cache only"),
                       ("warm_sw", "warm reload from the service worker")):
        print(f"| {label} | {med[key]:.0f} | {med[key] / med['cold']:.0%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

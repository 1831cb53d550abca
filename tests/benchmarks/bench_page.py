#!/usr/bin/env python3
"""Benchmark the built page against a bare Pyodide page, in headless Chromium.

    python tests/benchmarks/bench_page.py [--runs 5] [--changes 50] [--no-build] [--no-write]

Serves dist/ (gzip/brotli precompressed copies, like the host) next to a
baseline page that only boots the same self-hosted Pyodide and runs one line
of Python. Each run uses a fresh browser context (cold HTTP cache). Reports the
median of the runs: time to the first paint of the pre-rendered estimate, time
to ``<html data-ready>`` (Python drew its first estimate), bytes transferred
(raw and compressed), and for the page the time from an input change to the
updated figures (median of N changes). Writes the table to
tests/benchmarks/README.md between markers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import build  # noqa: E402

README = ROOT / "tests" / "benchmarks" / "README.md"
BEGIN, END = "<!-- bench_page:begin -->", "<!-- bench_page:end -->"
from tests.browser import launch_options  # noqa: E402

TARGETS = {"ready_ratio": 1.15, "bytes_ratio": 1.10, "change_ms": 16.0, "prerender_ms": 300.0}

# Recorded from the start of the document (Playwright's init script: not subject to CSP).
INIT = """
(() => {
  const mark = () => {
    if (document.documentElement && document.documentElement.hasAttribute('data-ready')
        && window.__readyAt === undefined) window.__readyAt = performance.now();
  };
  new MutationObserver(mark).observe(document, {attributes: true, subtree: true,
                                                attributeFilter: ['data-ready']});
})();
"""

BASELINE_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>baseline</title>
<script type="module" src="./boot.js"></script></head>
<body><p id="out">loading</p></body></html>
"""
BASELINE_JS = """import { loadPyodide } from "%s";
const py = await loadPyodide({ indexURL: "%s" });
document.getElementById("out").textContent = String(py.runPython("1 + 1"));
document.documentElement.setAttribute("data-ready", "");
"""


def prepare(dist: Path, tmp: Path) -> Path:
    """A web root with the page at /app/ and the baseline at /baseline/."""
    root = tmp / "root"
    root.mkdir()
    (root / "app").symlink_to(dist.resolve(), target_is_directory=True)
    pyodide_dir = next((dist / "assets").glob("pyodide-*"))
    base = root / "baseline"
    base.mkdir()
    (base / "index.html").write_text(BASELINE_HTML)
    rel = f"../app/assets/{pyodide_dir.name}/"
    (base / "boot.js").write_text(BASELINE_JS % (rel + "pyodide.mjs", rel))
    return root


def measure_load(browser: Any, url: str) -> dict[str, float]:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.add_init_script(INIT)
        page.goto(url)
        page.wait_for_selector("html[data-ready]", state="attached", timeout=120_000)
        page.wait_for_function("window.__readyAt !== undefined")
        data = page.evaluate("""() => {
          const nav = performance.getEntriesByType('navigation')[0];
          const res = performance.getEntriesByType('resource');
          const all = [nav, ...res];
          const fcp = performance.getEntriesByName('first-contentful-paint')[0];
          return {
            ready: window.__readyAt,
            fcp: fcp ? fcp.startTime : NaN,
            raw: all.reduce((s, e) => s + (e.decodedBodySize || 0), 0),
            wire: all.reduce((s, e) => s + (e.transferSize || 0), 0),
            count: all.length,
          };
        }""")
        return {k: float(v) for k, v in data.items()}
    finally:
        context.close()


def measure_changes(browser: Any, url: str, changes: int) -> dict[str, float]:
    """Time from an input event on a control to the updated headline figures (the
    handler re-estimates synchronously), and to the end of the deferred charts/tables."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector("html[data-ready]", state="attached", timeout=120_000)
        result = page.evaluate(
            """async (n) => {
          const el = document.getElementById('batch');
          const fig = document.getElementById('total-gib');
          const root = document.documentElement;
          const settled = () => new Promise((ok) => {
            const check = () => (root.dataset.settled === root.dataset.generation)
              ? ok(performance.now()) : setTimeout(check, 0);
            check();
          });
          await settled();
          const sync = [], all = [];
          for (let i = 0; i < n; i++) {
            const before = fig.textContent;
            el.value = String(1 + (i % 2 ? 16 : 1 + i));
            const t0 = performance.now();
            el.dispatchEvent(new Event('input', {bubbles: true}));
            const t1 = performance.now();
            if (fig.textContent === before) throw new Error('figure did not change');
            sync.push(t1 - t0);
            all.push((await settled()) - t0);
          }
          return {sync, all};
        }""",
            changes,
        )
        return {
            "change_ms": statistics.median(result["sync"]),
            "change_p90_ms": sorted(result["sync"])[int(0.9 * len(result["sync"]))],
            "settle_ms": statistics.median(result["all"]),
        }
    finally:
        context.close()


def run(runs: int, changes: int, do_build: bool) -> dict[str, dict[str, float]]:
    from playwright.sync_api import sync_playwright

    dist = build.DIST
    if do_build or not (dist / "index.html").exists():
        build.build(dist, quiet=True)
    with tempfile.TemporaryDirectory() as tmpdir:
        root = prepare(dist, Path(tmpdir))
        server = build.make_server(root, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        launch = launch_options()
        out: dict[str, dict[str, float]] = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(**launch)
            for name, url in (("baseline", base + "baseline/"), ("page", base + "app/")):
                measure_load(browser, url)  # warm the server and the OS file cache
                samples = [measure_load(browser, url) for _ in range(runs)]
                out[name] = {k: statistics.median(s[k] for s in samples) for k in samples[0]}
            out["page"].update(measure_changes(browser, base + "app/", changes))
            browser.close()
        server.shutdown()
        server.server_close()
    return out


def table(r: dict[str, dict[str, float]], runs: int, changes: int) -> str:
    b, p = r["baseline"], r["page"]
    ready_ratio = p["ready"] / b["ready"]
    bytes_ratio = p["wire"] / b["wire"]

    def ok(flag: bool) -> str:
        return "yes" if flag else "**no**"

    lines = [
        f"Median of {runs} cold loads (fresh browser context each), headless Chromium, "
        "localhost, precompressed files served.",
        "",
        "| measure | baseline (bare Pyodide) | page | ratio | target | met |",
        "|---|---:|---:|---:|---:|---|",
        f"| first paint of the pre-rendered estimate | — | {p['fcp']:.0f} ms | | "
        f"< {TARGETS['prerender_ms']:.0f} ms | {ok(p['fcp'] < TARGETS['prerender_ms'])} |",
        f"| Python ready (first estimate drawn) | {b['ready']:.0f} ms | {p['ready']:.0f} ms | "
        f"{ready_ratio:.2f}x | <= {TARGETS['ready_ratio']}x | "
        f"{ok(ready_ratio <= TARGETS['ready_ratio'])} |",
        f"| bytes transferred (compressed) | {b['wire'] / 1e6:.2f} MB | {p['wire'] / 1e6:.2f} MB | "
        f"{bytes_ratio:.2f}x | <= {TARGETS['bytes_ratio']}x | "
        f"{ok(bytes_ratio <= TARGETS['bytes_ratio'])} |",
        f"| bytes transferred (raw) | {b['raw'] / 1e6:.2f} MB | {p['raw'] / 1e6:.2f} MB | "
        f"{p['raw'] / b['raw']:.2f}x | | |",
        f"| requests | {b['count']:.0f} | {p['count']:.0f} | | | |",
        f"| input change -> updated figures (median of {changes}) | — | {p['change_ms']:.1f} ms "
        f"(p90 {p['change_p90_ms']:.1f}) | | < {TARGETS['change_ms']:.0f} ms | "
        f"{ok(p['change_ms'] < TARGETS['change_ms'])} |",
        f"| input change -> charts and tables too | — | {p['settle_ms']:.1f} ms | | | |",
    ]
    return "\n".join(lines)


def write_readme(text: str) -> None:
    block = f"{BEGIN}\n{text}\n{END}"
    if README.exists():
        current = README.read_text(encoding="utf-8")
        if BEGIN in current and END in current:
            head, rest = current.split(BEGIN, 1)
            tail = rest.split(END, 1)[1]
            README.write_text(head + block + tail, encoding="utf-8")
            return
        README.write_text(current.rstrip() + "\n\n## Page\n\n" + block + "\n", encoding="utf-8")
        return
    README.write_text(
        "# Benchmarks\n\n## Page (`python tests/benchmarks/bench_page.py`)\n\n" + block + "\n",
        encoding="utf-8",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--no-build", action="store_true", help="use the existing dist/")
    parser.add_argument("--no-write", action="store_true", help="do not update README.md")
    args = parser.parse_args()
    started = time.time()
    results = run(args.runs, args.changes, not args.no_build)
    text = table(results, args.runs, args.changes)
    stamp = time.strftime("%Y-%m-%d")
    text += f"\n\nMeasured {stamp} in {time.time() - started:.0f} s on {os.cpu_count()} CPUs."
    print(text)
    if not args.no_write:
        write_readme(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

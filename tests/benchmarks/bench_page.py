#!/usr/bin/env python3
"""Benchmark the built page against a bare Pyodide page, in headless Chromium.

    python tests/benchmarks/bench_page.py [--runs 5] [--changes 50] [--no-build] [--no-write]
                                          [--no-lighthouse] [--no-widgets]

Serves dist/ (gzip/brotli precompressed copies, like the host) next to a
baseline page that only boots self-hosted Pyodide and runs one line of Python: the npm
package's files as published, precompressed the same way. A second bare page boots the
page's own Pyodide files (stdlib trimmed and precompiled by build.py), which shows what
the page itself adds on the same runtime. Each run uses a fresh browser context (cold
HTTP cache); the pages' loads alternate, so that load from other jobs weighs on all alike.
Reports the median of the runs (and the median of the per-round ready ratios): time to the first
paint of the pre-rendered estimate, time to ``<html data-ready>`` (Python drew its first
estimate), bytes transferred (raw and compressed), and for the page the time from an
input change to the updated figures (median of N changes). Also: the sum of main-thread long tasks
(over 50 ms) from navigation to ready, Lighthouse's performance (desktop and mobile
presets) and accessibility scores (npm ``lighthouse`` driving the same Chromium), and
the time until one and until three embed widgets on a host page of another origin are
ready. Writes the table to tests/benchmarks/README.md between markers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
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

TARGETS = {"ready_ratio": 1.15, "bytes_ratio": 1.10, "change_ms": 16.0, "prerender_ms": 300.0,
           "long_tasks_ms": 300.0, "lh_desktop": 90, "lh_mobile": 75, "lh_a11y": 100,
           "widgets_ratio": 1.3}

# Recorded from the start of the document (Playwright's init script: not subject to CSP).
INIT = """
(() => {
  window.__longTasks = [];
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push([e.startTime, e.duration]);
    }).observe({type: 'longtask', buffered: true});
  } catch (e) {}
  const mark = () => {
    if (document.documentElement && document.documentElement.hasAttribute('data-ready')
        && window.__readyAt === undefined) window.__readyAt = performance.now();
  };
  new MutationObserver(mark).observe(document, {attributes: true, subtree: true,
                                                attributeFilter: ['data-ready']});
})();
"""

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>docs host</title></head><body>
<h1>Docs</h1>
%s
<script src="%s/embed.js"></script>
</body></html>
"""
WIDGET = ('<div data-llm-memory model="meta-llama/Llama-3.1-8B" precision="%s" '
          'context="8192"></div>')

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


SNAPSHOT_JS = """import { loadPyodide } from "%s";
const [bytes] = await Promise.all([fetch("./snapshot.bin").then((r) => r.arrayBuffer())]);
const py = await loadPyodide({ indexURL: "%s", _loadSnapshot: new Uint8Array(bytes) });
document.getElementById("out").textContent = String(py.runPython("import json; 1 + 1"));
document.documentElement.setAttribute("data-ready", "");
"""
# Made in Node with the page's Pyodide files (the same wasm and stdlib), after the imports
# the estimator needs at start-up; loaded by a bare page like the baseline.
MAKE_SNAPSHOT = """import { loadPyodide } from "%s";
import fs from "node:fs";
const py = await loadPyodide({ indexURL: "%s", _makeSnapshot: true });
py.runPython("import json, dataclasses, re, math");
fs.writeFileSync("%s", py.makeMemorySnapshot());
"""


def make_snapshot(root: Path, pyodide_dir: Path) -> bool:
    """A snapshot page at /snapshot/ (same Pyodide, booted from a memory snapshot)."""
    folder = root / "snapshot"
    folder.mkdir()
    script = folder / "make.mjs"
    target = folder / "snapshot.bin"
    script.write_text(MAKE_SNAPSHOT % (pyodide_dir / "pyodide.mjs", f"{pyodide_dir}/", target))
    done = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=300,
                          check=False)
    if done.returncode != 0 or not target.exists():
        print(f"snapshot: node failed: {done.stderr[-400:]}", file=sys.stderr)
        return False
    data = target.read_bytes()
    import gzip

    target.with_name("snapshot.bin.gz").write_bytes(gzip.compress(data, 9, mtime=0))
    try:
        import brotli  # type: ignore[import-not-found]

        target.with_name("snapshot.bin.br").write_bytes(brotli.compress(data, quality=9))
    except ImportError:
        pass
    (folder / "index.html").write_text(BASELINE_HTML)
    rel = f"../app/assets/{pyodide_dir.name}/"
    (folder / "boot.js").write_text(SNAPSHOT_JS % (rel + "pyodide.mjs", rel))
    return True


def prepare(dist: Path, tmp: Path) -> Path:
    """A web root with the page at /app/, the baseline (bare Pyodide, npm files as
    published) at /baseline/ and a bare page on the page's own Pyodide files at /same/."""
    root = tmp / "root"
    root.mkdir()
    (root / "app").symlink_to(dist.resolve(), target_is_directory=True)
    pyodide_dir = next((dist / "assets").glob("pyodide-*"))
    stock = {name: (build.NODE / "pyodide" / name).read_bytes() for name in build.PYODIDE_FILES}
    build.write_dist(root / "pyodide", stock)  # precompressed like dist/
    for name, rel in (("baseline", "../pyodide/"), ("same", f"../app/assets/{pyodide_dir.name}/")):
        (root / name).mkdir()
        (root / name / "index.html").write_text(BASELINE_HTML)
        (root / name / "boot.js").write_text(BASELINE_JS % (rel + "pyodide.mjs", rel))
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
          const long = window.__longTasks.filter(([t]) => t < window.__readyAt);
          return {
            ready: window.__readyAt,
            long_ms: long.reduce((s, [, d]) => s + d, 0),
            long_max_ms: long.reduce((m, [, d]) => Math.max(m, d), 0),
            fcp: fcp ? fcp.startTime : NaN,
            // the page's own requests plus its worker's (the page reports those)
            raw: all.reduce((s, e) => s + (e.decodedBodySize || 0), 0)
                 + Number(document.documentElement.dataset.runtimeRaw || 0),
            wire: all.reduce((s, e) => s + (e.transferSize || 0), 0)
                  + Number(document.documentElement.dataset.runtimeWire || 0),
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
          const changed = (before) => new Promise((ok) => {
            const check = () => (fig.textContent !== before)
              ? ok(performance.now()) : setTimeout(check, 0);
            check();
          });
          const sync = [], all = [];
          for (let i = 0; i < n; i++) {
            const before = fig.textContent;
            el.value = String(1 + (i % 2 ? 16 : 1 + i));
            const t0 = performance.now();
            el.dispatchEvent(new Event('input', {bubbles: true}));
            sync.push((await changed(before)) - t0);
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


def lighthouse(url: str, preset: str) -> dict[str, float]:
    """Lighthouse (npm, pinned in package.json) on the system Chromium: performance and
    accessibility scores, TBT, LCP (preset "desktop", or "mobile": its default throttling)."""
    exe = ROOT / "node_modules" / ".bin" / "lighthouse"
    if not exe.exists():
        return {}
    from tests.browser import CHROMIUM_FLAGS, system_chromium

    flags = " ".join(["--headless=new", *CHROMIUM_FLAGS])
    cmd = [str(exe), url, "--quiet", "--output=json", "--output-path=stdout",
           "--only-categories=performance,accessibility", f"--chrome-flags={flags}"]
    if preset == "desktop":
        cmd.append("--preset=desktop")
    env = {**os.environ, "CHROME_PATH": system_chromium() or ""}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
    if done.returncode != 0:
        print(f"lighthouse {preset} failed: {done.stderr[-500:]}", file=sys.stderr)
        return {}
    report = json.loads(done.stdout)
    audits = report["audits"]
    return {
        "perf": round(report["categories"]["performance"]["score"] * 100),
        "a11y": round(report["categories"]["accessibility"]["score"] * 100),
        "tbt": audits["total-blocking-time"]["numericValue"],
        "lcp": audits["largest-contentful-paint"]["numericValue"],
        "cls": audits["cumulative-layout-shift"]["numericValue"],
    }


def measure_widgets(browser: Any, host_base: str, app_base: str, count: int) -> float:
    """ms from navigation of a host page (another origin) until ``count`` widgets are ready."""
    widgets = "\n".join(WIDGET % p for p in ("auto", "int4", "fp8")[:count])
    name = f"host{count}.html"
    (HOST_ROOT / name).write_text(HOST_PAGE % (widgets, app_base.rstrip("/")))
    # the widgets load lazily (embed.js: iframe.loading = "lazy"): a viewport tall enough
    # for all of them, as on a docs page where they sit in view together
    context = browser.new_context(viewport={"width": 1280, "height": 400 * count + 200})
    try:
        page = context.new_page()
        page.goto(host_base + name)
        page.wait_for_function(
            "(n) => document.querySelectorAll('iframe[data-ready]').length === n",
            arg=count, timeout=120_000)
        return float(page.evaluate("performance.now()"))
    finally:
        context.close()


HOST_ROOT = Path(tempfile.gettempdir())


def run(runs: int, changes: int, do_build: bool, do_lighthouse: bool = True,
        do_widgets: bool = True, do_snapshot: bool = True) -> dict[str, dict[str, float]]:
    from playwright.sync_api import sync_playwright

    dist = build.DIST
    if do_build or not (dist / "index.html").exists():
        build.build(dist, quiet=True)
    with tempfile.TemporaryDirectory() as tmpdir:
        root = prepare(dist, Path(tmpdir))
        server = build.make_server(root, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        from tests.browser import partitioned_launch_options

        launch = partitioned_launch_options()  # as Chrome runs for users (embeds share)
        out: dict[str, dict[str, float]] = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(**launch)
            pages = [("baseline", base + "baseline/"), ("same", base + "same/"),
                     ("page", base + "app/")]
            if do_snapshot and make_snapshot(root, next((dist / "assets").glob("pyodide-*"))):
                pages.append(("snapshot", base + "snapshot/"))
            for _, url in pages:
                measure_load(browser, url)  # warm the server and the OS file cache
            # interleaved (baseline, page, ... each round): load from other jobs on a shared
            # machine then weighs on every variant alike, and the ratios stay comparable
            samples: dict[str, list[dict[str, float]]] = {name: [] for name, _ in pages}
            for _ in range(runs):
                for name, url in pages:
                    samples[name].append(measure_load(browser, url))
            for name, got in samples.items():
                out[name] = {k: statistics.median(s[k] for s in got) for k in got[0]}
            for bare_name, key in (("baseline", "ready_ratio"), ("same", "same_ratio")):
                out["page"][key] = statistics.median(
                    mine["ready"] / bare["ready"]
                    for mine, bare in zip(samples["page"], samples[bare_name], strict=True))
            out["page"].update(measure_changes(browser, base + "app/", changes))
            if do_widgets:
                global HOST_ROOT
                HOST_ROOT = Path(tmpdir) / "host"
                HOST_ROOT.mkdir()
                host = build.make_server(HOST_ROOT, "127.0.0.1", 0)
                threading.Thread(target=host.serve_forever, daemon=True).start()
                # "localhost" is another site than "127.0.0.1": the widgets are cross-site
                app_base = f"http://localhost:{server.server_address[1]}/app/"
                host_base = f"http://127.0.0.1:{host.server_address[1]}/"
                measure_widgets(browser, host_base, app_base, 1)  # warm-up
                one = [measure_widgets(browser, host_base, app_base, 1) for _ in range(runs)]
                three = [measure_widgets(browser, host_base, app_base, 3) for _ in range(runs)]
                out["widgets"] = {"one": statistics.median(one), "three": statistics.median(three)}
                host.shutdown()
            browser.close()
        if do_lighthouse:
            for preset in ("desktop", "mobile"):
                scores = lighthouse(base + "app/", preset)
                if scores:
                    out[f"lh_{preset}"] = scores
        server.shutdown()
        server.server_close()
    return out


def table(r: dict[str, dict[str, float]], runs: int, changes: int) -> str:
    b, same, p = r["baseline"], r["same"], r["page"]
    ready_ratio = p["ready"] / b["ready"]
    bytes_ratio = p["wire"] / b["wire"]

    def ok(flag: bool) -> str:
        return "yes" if flag else "**no**"

    lines = [
        f"Median of {runs} cold loads (fresh browser context each), headless Chromium, "
        "localhost, precompressed files served.",
        "",
        "Baseline: a bare page that boots self-hosted Pyodide (the npm package's files as "
        "published, precompressed like dist/) and runs one line of Python. The page ships "
        "Pyodide's stdlib trimmed and compiled to bytecode (build.py); the row *same runtime* "
        "is a bare page booting those files, to show what the page itself adds.",
        "",
        "| measure | baseline (bare Pyodide) | page | ratio | target | met |",
        "|---|---:|---:|---:|---:|---|",
        f"| first paint of the pre-rendered estimate (baseline: its text) | {b['fcp']:.0f} ms | "
        f"{p['fcp']:.0f} ms | | "
        f"< {TARGETS['prerender_ms']:.0f} ms | {ok(p['fcp'] < TARGETS['prerender_ms'])} |",
        f"| Python ready (first estimate drawn) | {b['ready']:.0f} ms | {p['ready']:.0f} ms | "
        f"{ready_ratio:.2f}x (per round: {p['ready_ratio']:.2f}x) | <= {TARGETS['ready_ratio']}x | "
        f"{ok(ready_ratio <= TARGETS['ready_ratio'])} |",
        f"| Python ready, against bare Pyodide on the page's own Pyodide files (same runtime) "
        f"| {same['ready']:.0f} ms | {p['ready']:.0f} ms (+{p['ready'] - same['ready']:.0f} ms) | "
        f"{p['ready'] / same['ready']:.2f}x (per round: {p['same_ratio']:.2f}x) | | |",
        f"| bytes transferred (compressed) | {b['wire'] / 1e6:.2f} MB | {p['wire'] / 1e6:.2f} MB | "
        f"{bytes_ratio:.2f}x | <= {TARGETS['bytes_ratio']}x | "
        f"{ok(bytes_ratio <= TARGETS['bytes_ratio'])} |",
        f"| bytes transferred (raw) | {b['raw'] / 1e6:.2f} MB | {p['raw'] / 1e6:.2f} MB | "
        f"{p['raw'] / b['raw']:.2f}x | | |",
        f"| requests | {b['count']:.0f} | {p['count']:.0f} | | | |",
        f"| input change -> updated figures, via the worker (median of {changes}) | — | "
        f"{p['change_ms']:.1f} ms "
        f"(p90 {p['change_p90_ms']:.1f}) | | < {TARGETS['change_ms']:.0f} ms | "
        f"{ok(p['change_ms'] < TARGETS['change_ms'])} |",
        f"| input change -> charts and tables too | — | {p['settle_ms']:.1f} ms | | | |",
        f"| main-thread long tasks (> 50 ms), navigation to ready | {b['long_ms']:.0f} ms | "
        f"{p['long_ms']:.0f} ms (longest {p['long_max_ms']:.0f}) | | "
        f"<= {TARGETS['long_tasks_ms']:.0f} ms | {ok(p['long_ms'] <= TARGETS['long_tasks_ms'])} |",
    ]
    for preset, target in (("desktop", "lh_desktop"), ("mobile", "lh_mobile")):
        lh = r.get(f"lh_{preset}")
        if lh:
            lines.append(
                f"| Lighthouse performance, {preset} (TBT {lh['tbt']:.0f} ms, LCP "
                f"{lh['lcp']:.0f} ms, CLS {lh['cls']:.3f}) | — | {lh['perf']:.0f} | | "
                f">= {TARGETS[target]} | {ok(lh['perf'] >= TARGETS[target])} |")
            lines.append(
                f"| Lighthouse accessibility, {preset} | — | {lh['a11y']:.0f} | | "
                f"{TARGETS['lh_a11y']} | {ok(lh['a11y'] >= TARGETS['lh_a11y'])} |")
    snap = r.get("snapshot")
    if snap:
        extra = (snap["wire"] - same["wire"]) / 1e6
        lines.append(
            f"| bare Pyodide (page's files) booted from a memory snapshot vs a plain boot: "
            f"ready / compressed bytes | "
            f"{same['ready']:.0f} ms / {same['wire'] / 1e6:.2f} MB | {snap['ready']:.0f} ms / "
            f"{snap['wire'] / 1e6:.2f} MB | {snap['ready'] / same['ready']:.2f}x time, "
            f"+{extra:.1f} MB | keep only if it wins | "
            f"{'see below' if snap['ready'] < same['ready'] else 'no: slower'} |")
    w = r.get("widgets")
    if w:
        ratio = w["three"] / w["one"]
        lines.append(
            f"| embed widgets on another origin's page: 1 ready / 3 ready | — | "
            f"{w['one']:.0f} ms / {w['three']:.0f} ms | {ratio:.2f}x | "
            f"<= {TARGETS['widgets_ratio']}x | {ok(ratio <= TARGETS['widgets_ratio'])} |")
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
    parser.add_argument("--no-lighthouse", action="store_true")
    parser.add_argument("--no-widgets", action="store_true")
    parser.add_argument("--no-snapshot", action="store_true")
    args = parser.parse_args()
    started = time.time()
    results = run(args.runs, args.changes, not args.no_build, not args.no_lighthouse,
                  not args.no_widgets, not args.no_snapshot)
    text = table(results, args.runs, args.changes)
    stamp = time.strftime("%Y-%m-%d")
    text += f"\n\nMeasured {stamp} in {time.time() - started:.0f} s on {os.cpu_count()} CPUs."
    print(text)
    if not args.no_write:
        write_readme(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

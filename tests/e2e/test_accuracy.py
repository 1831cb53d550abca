"""The Accuracy page (dist/accuracy.html): its figures, charts and filters, by keyboard, and
axe-core finds no violation at desktop and phone sizes.

Expected values come from site/accuracy-data.json, which tests/validation/test_evidence.py
keeps equal to the validation run; the page must show exactly those.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pagekit import ROOT

pytestmark = pytest.mark.e2e

DATA = json.loads((ROOT / "site" / "accuracy-data.json").read_text(encoding="utf-8"))
ROWS = DATA["rows"]
COMPARED = [r for r in ROWS if r["status"] == "compared"]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
GIB = 1024**3
INTERNAL_KEYS = (
    "kv_cache_swa_cells",
    "kv_cache_non_swa",
    "kv_cache_tokens",
    "non_torch",
    "peak_allocated",
    "gpu_blocks",
    "compute_buffer",
    "activation_peak",
    "engine_kv_pool",
    "recurrent_state",
)


def pct(x: float) -> str:
    """The page's way of writing an absolute error: two significant digits or so."""
    return f"{x:.2f} %" if x < 1 else f"{x:.1f} %" if x < 10 else f"{x:.0f} %"


def points(component: str, engine: str | None = None) -> list[dict[str, Any]]:
    """A chart's points in the page's order (by measured size)."""
    found = [
        r
        for r in COMPARED
        if r["component"] == component
        and r["measured_bytes"]
        and r["estimated_bytes"]
        and (engine is None or r["engine"] == engine)
    ]
    return sorted(found, key=lambda r: r["measured_bytes"])


class Page:
    """One Accuracy page in its own context: requests may not leave 127.0.0.1, console
    errors and CSP violations are collected."""

    def __init__(self, browser: Any, base_url: str, hash_: str = "", **context_args: Any):
        self.context = browser.new_context(**context_args)
        self.outside: list[str] = []
        self.context.route("**/*", self._route)
        self.context.add_init_script(
            "window.__csp = []; document.addEventListener('securitypolicyviolation',"
            " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(base_url + "accuracy.html" + hash_)
        self.page.wait_for_selector("#charts figure")

    def _route(self, route: Any) -> None:
        if route.request.url.startswith("http://127.0.0.1"):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.fulfill(status=200, content_type="text/html", body="<title>source</title>")

    def focused(self) -> dict[str, Any]:
        return dict(
            self.page.evaluate(
                """() => { const a = document.activeElement;
                return { tag: a.tagName.toLowerCase(), label: a.getAttribute('aria-label') || '',
                  chart: a.closest('figure') ? a.closest('figure').dataset.component : null,
                  tabindex: a.getAttribute('tabindex') }; }"""
            )
        )

    def tooltip(self) -> str:
        tip = self.page.locator("#tooltip")
        assert tip.is_visible()
        return str(tip.inner_text())

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def accuracy(browser: Any, base_url: str) -> Iterator[Page]:
    page = Page(browser, base_url)
    yield page
    assert not page.errors, page.errors
    page.close()


def test_page_shows_the_validation_run_in_peoples_words(accuracy: Page) -> None:
    page = accuracy.page
    main = page.locator("main").inner_text()
    logs = len({r["record"] for r in ROWS})
    assert f"{len(COMPARED)} of {len(ROWS)} published measurements ({logs} logs" in (
        page.locator("header").inner_text()
    )
    for key in INTERNAL_KEYS:
        assert key not in main, key
    assert page.locator("#compared tbody tr").count() == len(COMPARED)
    gaps = [r for r in ROWS if r["status"] != "compared"]
    assert page.locator("#gaps tbody tr").count() == len(gaps)
    # every gap says why, in the "Why not compared" column
    reasons = page.locator("#gaps tbody tr td:nth-child(6)").all_inner_texts()
    assert reasons == [r["reason"] for r in gaps] and all(reasons)
    # engine versions as the records state them
    versioned = next(r for r in COMPARED if r["version"])
    assert page.locator("#compared td", has_text=versioned["version"]).count() >= 1
    # the summary: one row per figure, median and largest error recomputed from the rows
    weights = [abs(r["error_pct"]) for r in COMPARED if r["component"] == "weights"]
    row = page.locator("#summary tbody tr").first
    cells = row.locator("td").all_inner_texts()
    assert row.locator("th").inner_text().startswith("Weights")
    assert cells[0] == str(len({r["record"] for r in COMPARED if r["component"] == "weights"}))
    assert cells[1] == str(len(weights))
    assert cells[2] == pct(statistics.median(weights))
    assert cells[3] == pct(max(weights))
    assert page.locator("#summary tbody tr").count() == len(DATA["components"])
    # plain words on what is and is not modelled
    assert "What is modelled" in main and "What is not modelled" in main


def test_numbers_sit_under_their_headers(accuracy: Page) -> None:
    """Numeric columns are right-aligned, header and cells alike, so their right edges meet."""
    page = accuracy.page
    for table in ("#summary", "#compared"):
        headers = page.locator(f"{table} thead th")
        for i in range(headers.count()):
            th = headers.nth(i)
            if "num" not in (th.get_attribute("class") or ""):
                continue
            td = page.locator(f"{table} tbody tr").first.locator("> *").nth(i)
            assert th.evaluate("e => getComputedStyle(e).textAlign") == "right"
            assert td.evaluate("e => getComputedStyle(e).textAlign") == "right"
            h, d = th.bounding_box(), td.bounding_box()
            assert h is not None and d is not None
            assert abs((h["x"] + h["width"]) - (d["x"] + d["width"])) < 1.5


def test_charts_show_each_record_with_its_bound(accuracy: Page) -> None:
    page = accuracy.page
    for c in DATA["components"]:
        figure = page.locator(f"figure[data-component='{c['key']}']")
        expected = points(c["key"])
        assert figure.locator("a.point").count() == len(expected), c["key"]
        labels = figure.locator("a.point").evaluate_all(
            "els => els.map(e => e.getAttribute('aria-label'))"
        )
        for label, r in zip(labels, expected, strict=True):
            assert label.startswith(f"{r['model']}, ") and r["source_label"] in label
        if c["bound_pct"]:
            assert figure.locator("path.band").count() == 1
        # the same points as a table, for screen readers and anyone else
        figure.locator("details summary").click()
        assert figure.locator("details tbody tr").count() == len(expected)
    pool = page.locator("figure[data-component='engine_kv_pool']")
    assert pool.locator("line.whisker").count() == len(points("engine_kv_pool"))


def test_chart_points_by_keyboard(accuracy: Page) -> None:
    """Tab reaches one point per chart; arrows, Home and End move between its points with the
    tooltip following; Enter opens the point's source."""
    page = accuracy.page
    weights = points("weights")
    # the launch verdicts' last source link, the last stop before the charts
    page.locator("#launch-verdicts a").last.focus()
    page.keyboard.press("Tab")
    now = accuracy.focused()
    assert now["chart"] == "weights" and now["tag"] == "a" and now["tabindex"] == "0"
    assert now["label"].startswith(weights[0]["model"] + ", ")
    assert weights[0]["model"] in accuracy.tooltip()
    page.keyboard.press("ArrowRight")
    assert accuracy.focused()["label"].startswith(weights[1]["model"] + ", ")
    assert weights[1]["source_label"] in accuracy.tooltip()
    page.keyboard.press("End")
    assert accuracy.focused()["label"].startswith(weights[-1]["model"] + ", ")
    page.keyboard.press("Home")
    assert accuracy.focused()["label"].startswith(weights[0]["model"] + ", ")
    page.keyboard.press("ArrowLeft")  # stays on the first point
    assert accuracy.focused()["label"].startswith(weights[0]["model"] + ", ")
    page.keyboard.press("Escape")
    assert not page.locator("#tooltip").is_visible()
    # roving tabindex: one tab stop per chart, so Tab leaves for the next chart (after the
    # weights chart's "as a table" summary)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert accuracy.focused()["chart"] == "kv_cache"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert accuracy.focused()["chart"] == "weights"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == weights[0]["source"]


def test_filters_by_keyboard(accuracy: Page) -> None:
    page = accuracy.page
    vllm = [r for r in ROWS if r["engine"] == "vllm"]
    page.focus("#f-engine")
    page.keyboard.type("vLLM")  # type-ahead picks the option
    assert page.eval_on_selector("#f-engine", "e => e.value") == "vllm"
    status = page.locator("#filter-status").inner_text()
    assert status.startswith(f"Showing {len(vllm)} of {len(ROWS)} measurements")
    engines = page.locator("#compared tbody td:nth-child(2)").all_inner_texts()
    assert engines and all(e.startswith("vLLM") for e in engines)
    weights = page.locator("figure[data-component='weights'] a.point")
    assert weights.count() == len(points("weights", "vllm"))
    assert page.locator("figure[data-component='total'] a.point").count() == 0
    assert "engine=vllm" in page.url
    # family: Tab to the next control and pick "sliding-window" by type-ahead
    page.keyboard.press("Tab")
    page.keyboard.type("sliding")
    sliding = [r for r in vllm if r["family"] == "sliding"]
    assert page.locator("#filter-status").inner_text().startswith(f"Showing {len(sliding)} of")
    assert page.locator("#compared tbody tr").count() == sum(
        r["status"] == "compared" for r in sliding
    )
    # model: the next control; then "Show all" resets everything
    page.keyboard.press("Tab")
    model = sorted({r["model"] for r in sliding})[0]
    page.keyboard.type(model)
    assert page.eval_on_selector("#f-model", "e => e.value") == model
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#f-engine').value === ''")
    # the form's reset clears the selects at once and redraws in the next task
    page.wait_for_function(
        "(n) => document.querySelector('#filter-status').textContent"
        ".startsWith(`Showing ${n} of ${n}`)", arg=len(ROWS), timeout=5_000)
    assert page.locator("#compared tbody tr").count() == len(COMPARED)


def test_filters_come_from_the_address(browser: Any, base_url: str) -> None:
    """A link to the page with #engine=llama.cpp opens with that filter."""
    view = Page(browser, base_url, "#engine=llama.cpp")
    try:
        assert view.page.eval_on_selector("#f-engine", "e => e.value") == "llama.cpp"
        llama = [r for r in COMPARED if r["engine"] == "llama.cpp"]
        assert view.page.locator("#compared tbody tr").count() == len(llama)
        assert not view.errors
    finally:
        view.close()


def test_record_text_is_text_and_csp_holds(accuracy: Page) -> None:
    """Log quotes hold markup (<td>...): shown as text. The page runs under its strict CSP
    with no violation and loads nothing from outside."""
    page = accuracy.page
    quoted = next(r for r in COMPARED if "<td" in r["quote"])
    html = page.content()
    block = re.search(
        r'<script type="application/json" id="accuracy-data">(.*?)</script>', html, re.S
    )
    assert block is not None and "<" not in block.group(1)
    figure = page.locator(f"figure[data-component='{quoted['component']}']")
    order = points(quoted["component"])
    index = next(i for i, r in enumerate(order) if r["record"] == quoted["record"])
    figure.locator("a.point").nth(index).focus()
    assert quoted["quote"][:40] in accuracy.tooltip()
    assert page.locator("#tooltip td, main td td").count() == 0
    page.select_option("#f-engine", "sglang")
    page.locator("figure[data-component='kv_cache'] a.point").first.focus()
    assert page.evaluate("window.__csp") == []
    assert accuracy.outside == []
    csp = page.locator("meta[http-equiv='Content-Security-Policy']").get_attribute("content")
    assert csp is not None and "script-src 'self';" in csp and "unsafe-inline" not in csp
    assert page.locator("script:not([src]):not([type='application/json'])").count() == 0
    # the only inline style is the tooltip's position, set through the CSSOM (allowed)
    assert page.evaluate("[...document.querySelectorAll('[style]')].map(e => e.id)") in (
        [],
        ["tooltip"],
    )


@pytest.mark.parametrize(
    ("size", "viewport"),
    [("desktop", {"width": 1280, "height": 900}), ("phone", {"width": 390, "height": 844})],
)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violations(
    browser: Any, base_url: str, size: str, viewport: dict[str, int], scheme: str
) -> None:
    """axe-core (npm, node_modules/axe-core) on the whole page, every chart's table open and a
    point focused (tooltip shown). axe is evaluated through the devtools protocol, which the
    page's CSP (no injected scripts) does not govern."""
    if not AXE.exists():
        pytest.fail("node_modules/axe-core is missing: run npm ci")
    view = Page(browser, base_url, viewport=viewport, color_scheme=scheme)
    try:
        page = view.page
        for summary in page.locator("details summary").all():
            summary.click()
        page.locator("a.point").first.focus()
        page.evaluate(AXE.read_text(encoding="utf-8"))
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        violations = [
            f"{v['id']}: {v['help']} ({len(v['nodes'])}x, e.g. {v['nodes'][0]['target']})"
            for v in result["violations"]
        ]
        assert violations == [], violations
        assert not view.errors
    finally:
        view.close()


def test_built_page_is_in_the_offline_manifest(dist_dir: Path) -> None:
    manifest = json.loads((dist_dir / "asset-manifest.json").read_text())["assets"]
    for name in ("accuracy.html", "accuracy.css", "accuracy.js"):
        assert name in manifest
        assert (dist_dir / manifest[name]["path"]).exists()
    html = (dist_dir / "accuracy.html").read_text()
    assert manifest["accuracy.js"]["path"] in html and manifest["accuracy.css"]["path"] in html
    assert "{{" not in html


def test_launch_verdict_agreement(accuracy: Page) -> None:
    """The launch verdicts as validate_launch.py finds them today (not only as stored): each
    published start-up, what the log says and what the estimator says."""
    import sys

    sys.path.insert(0, str(ROOT))
    from tests.validation.validate_launch import run

    verdicts, _ = run()
    compared = [v for v in verdicts if v.status == "compared"]
    right = sum(v.predicted == v.expected for v in compared)
    refusals = sum(v.expected == "refuses" for v in compared)
    assert len(compared) >= 30 and right == len(compared) == DATA["launch"]["right"]
    page = accuracy.page
    assert page.locator("#launch-agreement").inner_text() == (
        f"The verdict (starts or refuses) is right on {right} of {len(compared)} published "
        f"start-ups ({refusals} refusals among them); {len(verdicts) - len(compared)} of "
        f"{len(verdicts)} records are not compared.")
    rows = page.locator("#launch-verdicts tbody tr")
    assert rows.count() == len(verdicts)
    first = rows.first.locator("td").all_inner_texts()
    v = verdicts[0]
    assert first[:4] == [v.model, "vLLM", v.expected, f"{v.predicted} (right)"]
    assert first[4] == v.note
    refusing = page.locator("#launch-verdicts tbody tr", has_text="refuses (tp_heads)")
    assert refusing.count() >= 1

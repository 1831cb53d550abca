"""What the page looks like to a person: a phone shows the answer first, charts and text
agree (values read from the drawn SVG), and axe-core finds no accessibility violations on
the page, the embed and the Accuracy page at desktop and phone sizes."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
import view
from pagekit import ROOT, Session, load_config, open_session

from estimator import EstimateOptions, estimate, max_batch, max_context, sweep

pytestmark = pytest.mark.e2e

LLAMA = load_config("meta-llama__Llama-3.1-8B")
GPU = view.UI_DEFAULTS["gpu"]
ENGINE = view.UI_DEFAULTS["engine"]  # the page's default engine (vLLM)
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def rect(page: Any, selector: str) -> dict[str, float]:
    box = page.eval_on_selector(selector, "e => { const r = e.getBoundingClientRect();"
                                " return {x: r.x, y: r.y + scrollY, w: r.width, h: r.height}; }")
    return {k: float(v) for k, v in box.items()}


# ---------------------------------------------------------------------------
# phone


@pytest.fixture(scope="module")
def phone(browser: Any, base_url: str) -> Any:
    session = open_session(browser, base_url, **PHONE)
    yield session
    session.check_clean()
    session.page.context.close()


def test_phone_shows_the_answer_first(phone: Session) -> None:
    page = phone.page
    est = estimate(LLAMA, EstimateOptions(gpu=GPU, engine=ENGINE))
    summary = page.locator("#summary")
    assert summary.is_visible()
    assert phone.text("#sum-total") == view.fmt_gib(est.total_bytes)
    assert phone.text("#sum-pergpu") == view.fmt_gib(est.per_gpu_bytes)
    assert phone.text("#sum-fit") == ("fits" if est.fit.fits else "does not fit")
    assert rect(page, "#summary")["y"] < 300  # near the top
    # it stays in view while the visitor scrolls through the settings
    page.evaluate("window.scrollTo(0, 900)")
    page.wait_for_timeout(100)
    assert page.eval_on_selector("#summary", "e => e.getBoundingClientRect().top") == 0
    page.evaluate("window.scrollTo(0, 0)")
    # the results come before the detected facts and the rest of the setup
    assert rect(page, "#results")["y"] < rect(page, "#facts-card")["y"]
    assert rect(page, "#results")["y"] < rect(page, "#batch")["y"]
    # the results open with the launch verdict (issue 13) on the first screen; the figures
    # follow it, and the sticky summary above already carries the total
    assert rect(page, "#launch-verdict")["y"] < 900
    assert rect(page, "#launch-verdict")["y"] < rect(page, "#total-gib")["y"] < 1200


def test_phone_precision_table_needs_no_sideways_scroll(phone: Session) -> None:
    page = phone.page
    wrap = "div.table-wrap:has(> table.compare)"
    sizes = page.eval_on_selector(wrap, "e => [e.scrollWidth, e.clientWidth]")
    assert sizes[0] <= sizes[1] + 1, sizes
    heads = page.eval_on_selector_all(
        "table.compare th", "hs => hs.filter(h => h.offsetParent).map(h => h.textContent)")
    assert heads[:4] == ["Precision", "Total", "Per GPU", "Fits"]
    # and the cells read as the library's answer for the chosen precision
    row = page.eval_on_selector("#rows-compare tr:nth-child(2)",
                                "tr => [...tr.cells].map(c => c.textContent)")
    est = estimate(LLAMA, EstimateOptions(gpu=GPU, engine=ENGINE, precision="bf16"))
    assert row[:4] == ["BF16", view.fmt_gib(est.total_bytes), view.fmt_gib(est.per_gpu_bytes),
                       "yes" if est.fit.fits else "no"]
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")


def test_scroll_regions_are_keyboard_reachable(phone: Session) -> None:
    regions = phone.page.eval_on_selector_all(
        ".table-wrap", "ws => ws.map(w => [w.tabIndex, w.getAttribute('role'),"
        " w.getAttribute('aria-labelledby')])")
    assert regions and all(t == 0 and r == "region" and label for t, r, label in regions)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_help_never_covers_another_control(browser: Any, base_url: str, size: str) -> None:
    session = open_session(browser, base_url, **(PHONE if size == "phone" else {}))
    page = session.page
    try:
        page.click("details.advanced summary")
        page.click("details.upload summary")
        tips = page.locator("#controls .tip")
        assert tips.count() >= 20  # every explanation has its "?"
        for i in range(tips.count()):  # open them all at once: the worst case
            tips.nth(i).click()
            assert tips.nth(i).get_attribute("aria-expanded") == "true"
        opened = page.eval_on_selector_all("#controls .help", "hs => hs.filter(h => h.offsetParent)"
                                           ".length")
        assert opened == tips.count()
        overlaps = page.evaluate("""() => {
          const controls = [...document.querySelectorAll(
              '#controls input, #controls select, #controls textarea, #controls summary,'
              + ' #controls .tip')].filter(c => c.offsetParent);
          const hit = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5
                                && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
          const found = [];
          for (const help of document.querySelectorAll('.help')) {
            if (!help.offsetParent) continue;
            const h = help.getBoundingClientRect();
            for (const other of controls) {
              if (hit(h, other.getBoundingClientRect())) found.push(help.id + ' over ' + other.id);
            }
          }
          return found;
        }""")
        assert overlaps == []
        session.check_clean()
    finally:
        page.context.close()


# ---------------------------------------------------------------------------
# charts agree with the text: values read from the drawn SVG


def axis(page: Any, chart: str) -> tuple[float, float, float, float]:
    """(x pixel, log2 value) of two drawn x ticks, for reading positions back."""
    ticks = page.eval_on_selector_all(
        f"#{chart} .xlab text", "ts => ts.filter(t => t.getAttribute('visibility') === 'visible')"
        ".map(t => [parseFloat(t.getAttribute('x')), t.textContent])")

    def value(label: str) -> float:
        label = label.replace(",", "")
        scale = {"K": 1024, "M": 1024 * 1024}.get(label[-1], 1)
        return float(label.rstrip("KM")) * scale

    (xa, la), (xb, lb) = ticks[0], ticks[-1]
    return xa, math.log2(value(la)), xb, math.log2(value(lb))


def read_x(page: Any, chart: str, pixel: float) -> float:
    xa, va, xb, vb = axis(page, chart)
    return float(2 ** (va + (pixel - xa) / (xb - xa) * (vb - va)))


def test_charts_agree_with_the_text(fresh: Any) -> None:
    session = fresh("?batch=4")
    page = session.page
    options = EstimateOptions(gpu=GPU, engine=ENGINE, batch=4)
    session.page.wait_for_function("() => document.getElementById('chart-batch-stop-label')"
                                   ".textContent.startsWith('fits')")
    mb, mc = max_batch(LLAMA, options), max_context(LLAMA, options)
    assert session.text("#max-batch") == f"{mb:,} requests"
    assert session.text("#chart-batch-stop-label") == f"fits up to batch {mb:,}"
    assert session.text("#chart-ctx-stop-label") == f"fits up to {mc:,} tokens"
    # the stop lines are drawn where those values sit on the drawn axes (1% of the value)
    drawn_batch = read_x(page, "chart-batch", float(page.get_attribute("#chart-batch-stop", "x1")))
    assert drawn_batch == pytest.approx(mb, rel=0.01)
    drawn_ctx = read_x(page, "chart-ctx", float(page.get_attribute("#chart-ctx-stop", "x1")))
    assert drawn_ctx == pytest.approx(mc, rel=0.01)
    # values beyond the drawn range are not a silent flat line: they are marked and labelled
    for chart, points in (("chart-batch", sweep(LLAMA, options, axis="batch", points=64)),
                          ("chart-ctx", sweep(LLAMA, options, axis="context", points=64))):
        top = float(page.text_content(f"#{chart}-y4") or "0")
        peak = max(p.per_gpu_bytes for p in points) / 2**30
        label = session.text(f"#{chart}-clip-label")
        if peak > top:
            assert page.get_attribute(f"#{chart}-clip-label", "visibility") == "visible"
            assert f"{peak:,.0f} GiB" in label, label
            assert (page.get_attribute(f"#{chart}-clipped", "d") or "").startswith("M")
        else:
            assert label == ""


def test_node_aligned_plan_beside_the_minimal_count(fresh: Any) -> None:
    # Llama-3.1-70B at batch 4 (generic engine): the minimum is 3 x H100 (TP=1, PP=3); 3 GPUs
    # fill no node
    session = fresh("?model=meta-llama/Llama-3.1-70B-Instruct&context=8192&batch=4"
                    "&engine=generic")
    options = EstimateOptions(gpu=GPU, engine="generic", context=8192, batch=4)
    config = load_config("meta-llama__Llama-3.1-70B-Instruct")
    rec = estimate(config, options).recommendation
    assert (rec.count, rec.tensor_parallel) == (3, 1)
    assert session.text("#recommendation") == rec.text
    est = estimate(config, options.with_(gpus=4, tensor_parallel=4, pipeline_parallel=1))
    assert est.fit.fits
    assert session.text("#recommendation-node") == (
        f"Node-aligned: 4 x {est.fit.gpu_name} (TP=4): {est.per_gpu_bytes / 2**30:.1f} GiB per "
        f"GPU of {est.fit.usable_bytes / 2**30:.1f} GiB usable")


# ---------------------------------------------------------------------------
# accessibility (axe-core from npm, run in the page through the devtools protocol: the
# page's CSP, which forbids injected scripts, does not apply to it)


def axe(page: Any) -> list[str]:
    if not AXE.exists():
        pytest.fail("node_modules/axe-core is missing: run npm ci")
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate("""async () => {
      const r = await axe.run(document, {resultTypes: ['violations']});
      return r.violations.map(
        v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target).join(' | '));
    }""")
    return [str(v) for v in found]


@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("path", ["", "embed.html?model=Qwen/Qwen3-8B&precision=fp8",
                                  "accuracy.html"])
def test_axe_finds_no_violations(browser: Any, base_url: str, path: str, size: str) -> None:
    wait = not path.startswith("accuracy")
    session = open_session(browser, base_url, path, wait_ready=wait,
                           **(PHONE if size == "phone" else {}))
    try:
        if not wait:
            session.page.wait_for_selector("h1")
        assert axe(session.page) == []
        if path == "":
            for theme in ("dark",):  # the dark palette's contrast too
                session.page.emulate_media(color_scheme=theme)
                assert axe(session.page) == [], theme
        session.check_clean()
    finally:
        session.page.context.close()


def test_screenshots_for_review(browser: Any, base_url: str, tmp_path: Path) -> None:
    """Full-page screenshots (desktop, phone, embed) into the folder E2E_SHOTS names, to
    look at after a layout change (skipped otherwise: it only saves pictures)."""
    import os

    if not os.environ.get("E2E_SHOTS"):
        pytest.skip("set E2E_SHOTS=folder to save screenshots for review")
    folder = Path(os.environ["E2E_SHOTS"])
    folder.mkdir(parents=True, exist_ok=True)
    for name, path, extra in (("desktop", "", {"viewport": {"width": 1280, "height": 900}}),
                              ("phone", "", PHONE),
                              ("embed", "embed.html?precision=int4", {"viewport": {
                                  "width": 640, "height": 400}})):
        session = open_session(browser, base_url, path, **extra)
        try:
            shot = folder / f"page-{name}.png"
            session.page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            assert re.search(r"\d", session.text("#total-gib"))
        finally:
            session.page.context.close()

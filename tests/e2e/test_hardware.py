"""My hardware (issue 14), driven as a person does: GPUs added one by one (mixed), system
RAM, a card the catalog lacks, a wrong entry. Every bar, table cell, speed figure and flag
shown is checked against the library's answer for the same inputs (CPython), and the URL
and the Back button keep the hardware.

The steps share one booted page and run in order."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import hardware_view
import pytest
from pagekit import Session, load_config, open_session

from estimator import GIB, EstimateOptions, estimate

pytestmark = pytest.mark.e2e

LLAMA = load_config("meta-llama__Llama-3.1-8B")
# Llama-3.1-8B in BF16 at 128K tokens: 30 GiB of weights and KV, more than an RTX 3090
# and an RTX 4060 hold together, so llama.cpp's fit keeps layers in system RAM.
QUERY = "?engine=llama.cpp&precision=bf16&context=131072"
BASE = {"engine": "llama.cpp", "precision": "bf16", "context": 131072}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def hw(browser: Any, base_url: str) -> Any:
    session = open_session(browser, base_url, QUERY)
    yield session
    session.check_clean()
    session.page.context.close()


def gib(n: int) -> str:
    return f"{n / GIB:,.2f} GiB"


def add(session: Session, name: str) -> None:
    page = session.page
    page.fill("#hw-add", name)
    session.change(lambda: page.click("#hw-add-button"))


def set_field(session: Session, field: str, value: str) -> None:
    page = session.page
    session.change(lambda: (page.fill(f"#{field}", value), page.press(f"#{field}", "Tab")))


def bars(session: Session) -> list[dict[str, Any]]:
    """What each drawn bar says: its label and the bytes and width of each part."""
    return list(session.page.eval_on_selector_all("#hw-bars .hw-bar", """bars => bars.map(b => ({
        label: b.querySelector('.hw-bar-label').textContent,
        parts: Object.fromEntries([...b.querySelectorAll('rect.hw-part')].map(r =>
            [r.dataset.part,
             {bytes: Number(r.dataset.bytes), width: Number(r.getAttribute('width'))}])),
        cap: b.querySelector('line.cap')
            ? Number(b.querySelector('line.cap').getAttribute('x1')) : null,
    }))"""))


def table(session: Session) -> list[list[str]]:
    return list(session.page.eval_on_selector_all(
        "#rows-placement tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"))


def check_drawn(session: Session, est: Any) -> None:
    """Bars, table, speed and flags as drawn equal the library's placement and speed."""
    placement = est.placement
    rows = list(placement.devices)
    cpu = placement.cpu
    if cpu is not None and (cpu.layers or cpu.expert_layers or cpu.output or cpu.memory_bytes):
        rows.append(cpu)
    drawn = bars(session)
    assert len(drawn) == len(rows)
    cells = table(session)
    assert [c[0] for c in cells] == [r.name for r in rows]
    for bar, cells_of, row in zip(drawn, cells, rows, strict=True):
        want = {"weights": row.weights_bytes, "kv": row.kv_bytes, "buffers": row.buffers_bytes}
        assert {k: v["bytes"] for k, v in bar["parts"].items()} == want
        # the widths are the bytes at the bar's scale (its memory, or what it holds if more)
        used = row.weights_bytes + row.kv_bytes + row.buffers_bytes
        scale = max(row.memory_bytes, used + row.margin_bytes, 1)
        for part, value in want.items():
            assert bar["parts"][part]["width"] == pytest.approx(value / scale * 600, abs=0.06)
        if row.memory_bytes:
            assert bar["cap"] == pytest.approx(row.memory_bytes / scale * 600, abs=0.06)
            assert f"{gib(used)} of {gib(row.memory_bytes)}" in bar["label"]
        assert row.name in bar["label"]
        assert cells_of[2:5] == [gib(row.weights_bytes), gib(row.kv_bytes), gib(row.buffers_bytes)]
    speed = est.speed
    shown = session.text("#hw-speed")
    rate = hardware_view._rate
    assert f"decode about {rate(speed.decode_tokens_per_s)} tokens/s at batch 1" in shown
    if speed.prefill_tokens_per_s:
        assert f"prefill (reading the prompt) about {rate(speed.prefill_tokens_per_s)}" in shown
    error = session.text("#hw-speed-error")
    assert error.startswith("This is an estimate, not a measurement") and speed.error in error
    assert session.text("#hw-flags") == hardware_view.flags_text(placement, est.options.engine)[1]


def test_two_different_gpus_and_ram(hw: Session) -> None:
    page = hw.page
    hw.change(lambda: page.click("#hw-list .hw-remove"))  # the page's default GPU
    assert page.input_value("#gpu") == ""
    add(hw, "RTX 3090")  # as people write it: Python resolves the name
    add(hw, "NVIDIA GeForce RTX 4060 8GB")  # picked from the search's list: its key
    set_field(hw, "ram", "32")
    options = EstimateOptions(**BASE, gpu="RTX 3090,rtx4060", ram_bytes=32 * GIB)
    est = estimate(LLAMA, options)
    assert page.input_value("#gpu") == "RTX 3090,rtx4060"
    # the mixed set does not hold it all: layers in RAM, llama.cpp's fit flags with a split
    assert est.placement.cpu.layers > 0 and any(f.startswith("-ts ") for f in est.placement.flags)
    chips = page.eval_on_selector_all("#hw-list .hw-chip span", "s => s.map(e => e.textContent)")
    assert chips == [d.name for d in est.placement.devices]
    assert hw.text("#hw-verdict").lower().startswith(est.placement.verdict.lower())
    assert page.get_attribute("#hw-results", "data-fit") == "yes"
    check_drawn(hw, est)
    query = parse_qs(urlsplit(page.url).query)
    assert query["gpu"] == ["RTX 3090,rtx4060"] and query["ram"] == ["32"]
    # the flags, copied
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click("#hw-copy-flags")
    page.wait_for_function("() => (document.documentElement.dataset.copied || '').startsWith('-c')")
    assert page.evaluate("document.documentElement.dataset.copied") == " ".join(
        est.placement.flags)


def test_back_button_restores_the_hardware(hw: Session) -> None:
    page = hw.page
    hw.change(page.go_back)  # before the RAM
    assert page.input_value("#ram") == ""
    assert page.input_value("#gpu") == "RTX 3090,rtx4060"
    est = estimate(LLAMA, EstimateOptions(**BASE, gpu="RTX 3090,rtx4060"))
    assert est.placement.fits is None  # RAM unknown: the verdict says how much it needs
    assert hw.text("#hw-verdict").lower().startswith("fits with cpu offload if system ram has")
    assert page.get_attribute("#hw-results", "data-fit") == "maybe"
    check_drawn(hw, est)
    hw.change(page.go_forward)
    assert page.input_value("#ram") == "32"
    check_drawn(hw, estimate(LLAMA, EstimateOptions(**BASE, gpu="RTX 3090,rtx4060",
                                                    ram_bytes=32 * GIB)))


def test_invalid_entries_show_their_error_beside_the_field(hw: Session) -> None:
    page = hw.page
    url = page.url
    set_field(hw, "ram", "lots")
    assert page.locator("#ram-error").is_visible()
    assert "not a memory size: 'lots'" in hw.text("#ram-error")
    assert page.get_attribute("#ram", "aria-invalid") == "true"
    assert page.input_value("#ram") == "lots"  # nothing typed is lost
    assert page.get_attribute("#results", "data-stale") == "invalid"
    assert page.url == url
    set_field(hw, "ram", "32")
    assert page.get_attribute("#ram", "aria-invalid") is None
    add(hw, "rtx 4900")
    error = page.locator("#gpu-error")
    assert error.is_visible() and "unknown GPU 'rtx 4900'" in hw.text("#gpu-error")
    # beside the search field, which is marked and described by it
    assert page.get_attribute("#hw-add", "aria-invalid") == "true"
    assert "gpu-error" in (page.get_attribute("#hw-add", "aria-describedby") or "")
    add_box = page.locator("#hw-add").bounding_box()
    error_box = error.bounding_box()
    assert add_box and error_box and 0 <= error_box["y"] - add_box["y"] < 150
    chips = page.eval_on_selector_all("#hw-list .hw-chip span", "s => s.map(e => e.textContent)")
    assert chips[-1] == "rtx 4900"  # kept as typed, to remove or fix
    assert page.get_attribute("#results", "data-stale") == "invalid"
    hw.change(lambda: page.click("#hw-list .hw-chip:last-child .hw-remove"))
    assert page.get_attribute("#hw-add", "aria-invalid") is None
    assert page.get_attribute("#results", "data-stale") is None
    assert page.input_value("#gpu") == "RTX 3090,rtx4060"


def test_other_gpu_by_its_gib(hw: Session) -> None:
    page = hw.page
    for _ in range(2):
        hw.change(lambda: page.click("#hw-list .hw-remove"))
    set_field(hw, "gpu_memory", "12")
    assert page.input_value("#gpu") == "custom"
    set_field(hw, "gpu_bandwidth", "360")
    options = EstimateOptions(**BASE, gpu="custom", gpu_memory_bytes=12 * GIB,
                              gpu_bandwidth_gbs=360.0, ram_bytes=32 * GIB)
    est = estimate(LLAMA, options)
    assert est.placement.devices[0].memory_bytes == 12 * GIB
    chips = page.eval_on_selector_all("#hw-list .hw-chip span", "s => s.map(e => e.textContent)")
    assert chips == ["Other GPU, 12 GiB"]
    check_drawn(hw, est)
    query = parse_qs(urlsplit(page.url).query)
    assert query["gpu_memory"] == ["12"] and query["gpu_bandwidth"] == ["360"]
    # removing the card clears its size
    hw.change(lambda: page.click("#hw-list .hw-remove"))
    assert page.input_value("#gpu_memory") == "" and page.input_value("#gpu") == ""
    assert page.get_attribute("#hw-results", "data-fit") == "none"


def test_a_link_with_hardware_opens_as_sent(browser: Any, base_url: str) -> None:
    """A shared link (and an embed's attributes) with a Mac and RAM: chips and figures."""
    query = "?engine=ollama&precision=Q4_K_M&gpu=m2-max-64gb&ram=64GiB"
    session = open_session(browser, base_url, query)
    try:
        est = estimate(LLAMA, EstimateOptions(engine="ollama", precision="Q4_K_M",
                                              gpu="m2-max-64gb", ram_bytes=64 * GIB))
        chips = session.page.eval_on_selector_all("#hw-list .hw-chip span",
                                                  "s => s.map(e => e.textContent)")
        assert chips == [est.placement.devices[0].name]
        check_drawn(session, est)
        assert session.text("#hw-flags") == "\n".join(
            f"PARAMETER {f}" for f in est.placement.flags)
        session.check_clean()
    finally:
        session.page.context.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_screenshots_fit_the_screen(browser: Any, base_url: str, size: str,
                                    tmp_path_factory: pytest.TempPathFactory) -> None:
    """At desktop and phone sizes the hardware card and its results stay within the
    screen (screenshots kept under the test's temporary folder, for people to look at)."""
    args = PHONE if size == "phone" else {"viewport": {"width": 1280, "height": 900}}
    query = QUERY + "&gpu=rtx3090,rtx4060&ram=32"
    session = open_session(browser, base_url, query, **args)
    try:
        page = session.page
        width = page.evaluate("window.innerWidth")
        out = tmp_path_factory.mktemp(f"hardware-{size}")
        for selector in ("#hardware", "#hw-results"):
            box = page.locator(selector).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= width + 1, selector
            page.locator(selector).screenshot(path=str(out / f"{selector[1:]}.png"))
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert len(bars(session)) == 3
        session.check_clean()
    finally:
        session.page.context.close()

"""Each control changes the figures in the right direction, to the CPython value.

The tests of this module share one booted page and run in order: each step
changes one more control on top of the previous ones, and the expected figures
are computed here with the same estimator package on CPython.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest
import view
from pagekit import Session, load_config, open_session

from estimator import GPUS, EstimateOptions, estimate

pytestmark = pytest.mark.e2e

CONFIG = load_config("meta-llama__Llama-3.1-8B")
DEFAULT_GPU = view.UI_DEFAULTS["gpu"]
OTHER_GPU = next(k for k in GPUS if k != DEFAULT_GPU)

# (control id, how to set it, value, EstimateOptions change, the figure it moves, how).
# Each step checks that figure as drawn against the library's answer for the same inputs,
# and that it moved the way the step claims (issue 16: a step that moves nothing catches
# nothing). The order matters: e.g. generated_tokens moves activations only before vLLM
# (whose profile run is sized by its batched-token budget, not the prompt).
STEPS: list[tuple[str, str, str, dict[str, Any], str, str]] = [
    # the page opens on vLLM (its default engine); the steps below start from generic
    ("engine", "select", "generic", {"engine": "generic"}, "activations", "down"),
    ("precision", "select", "int4", {"precision": "int4"}, "weights", "down"),
    ("kv_dtype", "select", "fp8", {"kv_dtype": "fp8"}, "kv_cache", "down"),
    ("batch", "fill", "8", {"batch": 8}, "kv_cache", "up"),
    ("context", "fill", "32768", {"context": 32768}, "kv_cache", "up"),
    ("context-slider", "slider", "", {}, "kv_cache", "up"),
    ("flash_attention", "uncheck", "", {"flash_attention": False}, "activations", "up"),
    ("generated_tokens", "fill", "130000", {"generated_tokens": 130000}, "activations", "down"),
    ("swa_full", "check", "", {"swa_full": True}, "kv_cache", "same"),  # Llama has no SWA
    # headroom before vLLM: vLLM judges a fit by its gpu_memory_utilization budget instead
    ("headroom", "fill", "0.3", {"headroom": 0.3}, "usable", "down"),
    ("engine", "select", "vllm", {"engine": "vllm"}, "reserved", "up"),
    ("block_size", "fill", "1000", {"block_size": 1000}, "kv_cache", "up"),
    ("paged_attention", "select", "false", {"paged_attention": False}, "kv_cache", "down"),
    ("group_size", "fill", "32", {"group_size": 32}, "weights", "up"),
    ("layers", "fill", "16", {"layers": 16}, "weights", "down"),
    ("kv_heads", "fill", "4", {"kv_heads": 4}, "kv_cache", "down"),
    ("gpus", "fill", "4", {"gpus": 4}, "per_gpu", "down"),
    ("tensor_parallel", "fill", "2", {"tensor_parallel": 2}, "per_gpu", "up"),
    ("pipeline_parallel", "fill", "2", {"pipeline_parallel": 2}, "per_gpu", "down"),
    ("gpu_memory_utilization", "fill", "0.8", {"gpu_memory_utilization": 0.8}, "reserved", "down"),
    ("max_num_batched_tokens", "fill", "512", {"max_num_batched_tokens": 512}, "activations",
     "down"),
    ("max_num_seqs", "fill", "16", {"max_num_seqs": 16}, "activations", "down"),
    # eager mode: vLLM captures no CUDA graphs, 0.85 GiB less on every GPU
    ("enforce_eager", "check", "", {"enforce_eager": True}, "per_gpu", "down"),
    # My hardware: the default GPU removed, another added by its catalog name
    ("hw-add", "device", GPUS[OTHER_GPU].name, {"gpu": OTHER_GPU}, "usable", "down"),
]

OPTIONS: dict[str, Any] = {"gpu": DEFAULT_GPU, "engine": view.UI_DEFAULTS["engine"]}
HISTORY: list[dict[str, Any]] = []
SLIDER_POSITION = view.context_to_slider(131072)


@pytest.fixture(scope="module")
def page_session(browser: Any, base_url: str) -> Any:
    session = open_session(browser, base_url)
    yield session
    session.check_clean()
    session.page.context.close()


def expected(options: dict[str, Any]) -> Any:
    return estimate(CONFIG, EstimateOptions(**options))


def shown(session: Session) -> tuple[str, str]:
    return session.text("#total-gib"), session.text("#pergpu-gib")


def test_boot_matches_cpython(page_session: Session) -> None:
    est = expected(OPTIONS)
    assert shown(page_session) == (view.fmt_gib(est.total_bytes), view.fmt_gib(est.per_gpu_bytes))
    assert page_session.text("#m-arch").startswith("LlamaForCausalLM")
    assert "GQA" in page_session.text("#m-attention")
    HISTORY.append(dict(OPTIONS))


def figure(est: Any, name: str) -> int:
    """The library's number behind one figure of the page."""
    if name == "per_gpu":
        return int(est.per_gpu_bytes)
    if name == "reserved":
        return int(est.engine_reserved_bytes or 0)
    if name == "usable":
        return int(est.fit.usable_bytes)
    return int(next(c.bytes for c in est.components if c.name == name))


def drawn(session: Session, name: str, est: Any) -> tuple[str, str]:
    """(what the page shows for the figure, what it must show for the library's answer)."""
    if name == "per_gpu":
        return session.text("#pergpu-gib"), view.fmt_gib(est.per_gpu_bytes)
    if name == "reserved":
        shown_text = session.text("#reserved")
        want = view.fmt_both(est.engine_reserved_bytes) if est.engine_reserved_bytes else ""
        return (want if want and want in shown_text else shown_text), want
    if name == "usable":
        shown_text = session.text("#fit-text")
        want = f"usable with headroom: {est.fit.usable_bytes / 2**30:.1f} GiB"
        return (want if want in shown_text and est.fit.gpu_name in shown_text else shown_text,
                want)
    return session.text(f"#legend-{name}"), view.fmt_gib(figure(est, name))


@pytest.mark.parametrize(
    ("control", "how", "value", "change", "moves", "move"), STEPS, ids=[s[0] for s in STEPS]
)
def test_control(
    page_session: Session, control: str, how: str, value: str, change: dict[str, Any],
    moves: str, move: str
) -> None:
    page = page_session.page
    if page.locator(f"#{control}").is_hidden():
        page.click("details.advanced summary")
    before = expected(OPTIONS)

    def act() -> None:
        if how == "select":
            page.select_option(f"#{control}", value)
        elif how == "fill":
            page.fill(f"#{control}", value)
            page.press(f"#{control}", "Tab")
        elif how == "uncheck":
            page.uncheck(f"#{control}")
        elif how == "check":
            page.check(f"#{control}")
        elif how == "device":
            page.fill("#hw-add", value)
            page.click("#hw-add-button")
        elif how == "slider":
            page.eval_on_selector(
                "#context-slider",
                "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true}));"
                " el.dispatchEvent(new Event('change', {bubbles: true})); }",
                str(SLIDER_POSITION),
            )

    if how == "device":  # the default GPU removed first: a state (and URL) of its own
        page_session.change(lambda: page.click("#hw-list .hw-remove"))
        HISTORY.append({**OPTIONS, "gpu": ""})
    page_session.change(act)
    if how == "slider":
        context = view.slider_to_context(SLIDER_POSITION)
        change = {"context": context}
        assert page.input_value("#context") == str(context)
    OPTIONS.update(change)
    HISTORY.append(dict(OPTIONS))
    after = expected(OPTIONS)
    assert shown(page_session) == (
        view.fmt_gib(after.total_bytes),
        view.fmt_gib(after.per_gpu_bytes),
    ), control
    # the figure this control moves, as drawn, is the library's answer...
    seen, want = drawn(page_session, moves, after)
    assert seen == want, (control, moves)
    # ...and it moved the way the step claims
    b, a = figure(before, moves), figure(after, moves)
    assert {"down": a < b, "up": a > b, "same": a == b}[move], (control, moves, b, a)
    # the URL carries the state
    query = urlsplit(page.url).query
    key = {"context-slider": "context", "hw-add": "gpu"}.get(control, control)
    if how == "select" and value == view.option_default(key):  # the default: a short link
        assert f"{key}=" not in query, query
    else:
        assert f"{key}=" in query, query


def test_invalid_option_shows_message_and_keeps_figures(page_session: Session) -> None:
    page = page_session.page
    figures = shown(page_session)
    url = page.url
    page_session.change(
        lambda: (page.fill("#tensor_parallel", "64"), page.press("#tensor_parallel", "Tab"))
    )
    error = page.locator("#options-error")
    assert error.is_visible()
    assert "tensor_parallel" in error.text_content()
    assert page.get_attribute("#tensor_parallel", "aria-invalid") == "true"
    assert page.get_attribute("#results", "data-stale") == "invalid"
    assert shown(page_session) == figures  # dimmed, with the reason above them
    assert page.url == url  # an invalid setting never reaches the URL
    page_session.change(
        lambda: (page.fill("#tensor_parallel", "2"), page.press("#tensor_parallel", "Tab"))
    )
    assert error.is_hidden()
    assert page.get_attribute("#results", "data-stale") is None
    assert page.url == url


def test_fit_answers_and_charts(page_session: Session) -> None:
    page = page_session.page
    est = expected(OPTIONS)
    assert GPUS[OPTIONS["gpu"]].name in page_session.text("#fit-text")
    # green only when it fits and the engine starts (the launch verdict above it)
    from estimator.estimate import prepare
    from estimator.launch import launch_verdict

    options = EstimateOptions(**OPTIONS)
    verdict = launch_verdict(*prepare(CONFIG, options), options)
    starts = verdict is None or verdict.starts
    assert page.get_attribute("#fit", "data-fit") == ("yes" if est.fit.fits and starts else "no")
    for chart in ("chart-ctx", "chart-batch"):
        d = (page.get_attribute(f"#{chart}-line", "d") or "") + (
            page.get_attribute(f"#{chart}-over", "d") or ""
        )
        assert d.count("L") > 10, chart
        assert page.get_attribute(f"#{chart}-cap", "visibility") == "visible"
        y = float(page.get_attribute(f"#{chart}-cap", "y1") or "nan")
        assert 0 <= y <= 260
    assert page_session.text("#max-batch")
    assert page_session.text("#max-context")
    rows = page.locator("#rows-compare tr")
    assert rows.count() >= 20
    assert page.locator("#rows-compare tr.current").count() <= 1


def test_copy_json_and_markdown(page_session: Session) -> None:
    page = page_session.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click("#copy-json")
    page.wait_for_function("() => (document.documentElement.dataset.copied || '').startsWith('{')")
    data = json.loads(page.evaluate("document.documentElement.dataset.copied"))
    assert data["total_bytes"] == expected(OPTIONS).total_bytes
    page.click("#copy-md")
    page.wait_for_function("() => (document.documentElement.dataset.copied || '').startsWith('#')")
    md = page.evaluate("document.documentElement.dataset.copied")
    assert "| **Total** |" in md


def test_url_round_trip(page_session: Session, browser: Any, base_url: str) -> None:
    query = "?" + urlsplit(page_session.page.url).query
    other = open_session(browser, base_url, query)
    try:
        est = expected(OPTIONS)
        assert shown(other) == (view.fmt_gib(est.total_bytes), view.fmt_gib(est.per_gpu_bytes))
        assert other.page.input_value("#precision") == "int4"
        assert other.page.input_value("#batch") == "8"
        assert other.page.input_value("#gpu") == OPTIONS["gpu"]
        assert not other.page.is_checked("#flash_attention")
        other.check_clean()
    finally:
        other.page.context.close()


def test_back_button_restores_previous_state(page_session: Session) -> None:
    page = page_session.page
    page_session.change(page.go_back)
    previous = HISTORY[-2]
    est = expected(previous)
    assert shown(page_session) == (view.fmt_gib(est.total_bytes), view.fmt_gib(est.per_gpu_bytes))
    assert page.input_value("#gpu") == previous["gpu"]

"""The launch verdict at the top of the results (issue 13), in the page and in the embed:
the verdict and the command shown are the library's answer for the same inputs, a fix
button applies its change and re-estimates, the command copies (or is selected when the
clipboard is refused), and the verdict goes stale with the figures."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import view
from pagekit import FakeHub, Session, load_config, open_session

from estimator.estimate import prepare
from estimator.launch import LaunchVerdict, launch_verdict

pytestmark = pytest.mark.e2e

QWEN = "Qwen/Qwen3-14B"  # fetched from the (fake) Hub, not bundled
LLAMA = "meta-llama/Llama-3.1-8B"  # the page's default model, bundled
BUNDLED_QWEN = "Qwen/Qwen3-8B"  # bundled with the page
CONFIGS = {QWEN: load_config("Qwen__Qwen3-14B"), LLAMA: load_config("meta-llama__Llama-3.1-8B"),
           BUNDLED_QWEN: load_config("Qwen__Qwen3-8B")}
# Qwen3-14B on 5 x H100 at TP=5: its memory fits, but vLLM refuses (its 151,936-row
# vocabulary does not divide by 5); the nearest valid size below, 4, starts.
REFUSING = "?model=Qwen/Qwen3-14B&gpus=5&tensor_parallel=5"
# The same refusal from a bundled model, for the embed: a widget's runtime is a SharedWorker,
# whose requests Playwright cannot route to the fake Hub (the page's Hub loads, the same
# runtime.load, are covered above with a dedicated worker).
EMBED_REFUSING = "?model=Qwen/Qwen3-8B&gpus=5&tensor_parallel=5"
EMBED_WIDTH = 360


def library(query: str) -> LaunchVerdict:
    """The library's verdict for the inputs a page URL states."""
    state = view.state_from_query(query, LLAMA)
    options = view.options_from_state(state)
    config = CONFIGS[state["model"]]
    verdict = launch_verdict(*prepare(config, options), options, model_id=state["model"],
                             revision=state.get("revision") or None)
    assert verdict is not None
    return verdict


def open_page(browser: Any, base_url: str, query: str, **kwargs: Any) -> Session:
    return open_session(browser, base_url, query, hub=FakeHub(configs={QWEN: CONFIGS[QWEN]}),
                        **kwargs)


def shown_query(session: Session) -> str:
    """The inputs the page's URL holds now (embed keys are ignored by the state)."""
    return "?" + urlsplit(session.page.url).query


def test_refusing_launch_and_a_fix_button(browser: Any, base_url: str) -> None:
    session = open_page(browser, base_url, REFUSING)
    page = session.page
    try:
        want = library(REFUSING)
        assert not want.starts and want.problems[0].code == "tp_vocab"
        # the first problem in the engine's words, then every other one it would hit
        verdict = session.text("#launch-verdict")
        assert verdict.startswith(want.summary)
        assert all(p.message in verdict for p in want.problems)
        assert verdict == (
            "vLLM will refuse to start: 151936 is not divisible by 5. Also: 8 is not divisible "
            "by 5; 17408 is not divisible by 5.")
        assert session.text("#launch-command") == want.command == (
            f"vllm serve {QWEN} --max-model-len 4096 --tensor-parallel-size 5")
        assert page.get_attribute("#launch", "data-starts") == "no"
        # the fit line beside it does not say a plain "fits"
        assert session.text("#fit-text").startswith(
            "The memory fits, but vLLM will refuse to start. 5× NVIDIA H100")
        assert page.get_attribute("#fit", "data-fit") == "no"
        assert session.text("#sum-fit") == "vLLM will refuse to start"
        # each fix the library found, in its order; the TP one is a button
        buttons = page.locator("#launch-fixes button.fix")
        assert [f.change for f in want.fixes] == [
            t.lower()[:1] + t[1:] for t in page.locator(
                "#launch-fixes li > :first-child").all_inner_texts()]
        tp = next(f for f in want.fixes if f.flags[0] == "--tensor-parallel-size")
        button = buttons.filter(has_text=tp.change[:1].upper() + tp.change[1:])
        assert button.count() == 1
        session.change(button.click)
        # the controls say the fix, the URL keeps it, focus stays in the results
        assert page.input_value("#tensor_parallel") == "4"
        assert page.input_value("#gpus") == "4"
        query = parse_qs(urlsplit(page.url).query)
        assert query["tensor_parallel"] == ["4"] and query["gpus"] == ["4"]
        assert page.evaluate("document.activeElement.id") == "launch-verdict"
        fixed = library(shown_query(session))
        assert fixed.starts and session.text("#launch-verdict") == fixed.summary
        assert session.text("#launch-verdict").startswith("vLLM will start: ")
        assert f"{fixed.concurrency:.2f} requests" in tp.result  # the result it promised
        assert session.text("#launch-command") == fixed.command == (
            f"vllm serve {QWEN} --max-model-len 4096 --tensor-parallel-size 4")
        assert page.locator("#launch-fixes li").count() == 0
        assert page.get_attribute("#launch", "data-starts") == "yes"
        # back: the refusing inputs and their verdict again
        session.change(page.go_back)
        assert session.text("#launch-verdict") == verdict
        session.check_clean()
    finally:
        page.context.close()


def test_command_names_the_hub_revision(browser: Any, base_url: str) -> None:
    """A model read at a revision other than main is launched at that revision."""
    query = f"?model={QWEN}&revision=v1.0"
    session = open_page(browser, base_url, query)
    try:
        want = library(query)
        assert session.text("#launch-command") == want.command == (
            f"vllm serve {QWEN} --revision v1.0 --max-model-len 4096")
        session.check_clean()
    finally:
        session.page.context.close()


def test_starting_launch_copy_and_stale(browser: Any, base_url: str) -> None:
    session = open_page(browser, base_url, "")
    page = session.page
    try:
        want = library("")
        assert want.starts and session.text("#launch-verdict") == want.summary
        assert session.text("#launch-verdict").startswith("vLLM will start: ")
        assert session.text("#launch-engine").startswith("Assumes vLLM V1 (`vllm serve`")
        assert session.text("#launch-command") == want.command == (
            f"vllm serve {LLAMA} --max-model-len 4096")
        # Copy command: to the clipboard, with a visible "Copied"
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        page.click("#copy-command")
        page.wait_for_function(
            "() => document.getElementById('copy-command').textContent === 'Copied'")
        assert page.evaluate("navigator.clipboard.readText()") == want.command
        # without clipboard access the command is selected, to copy by hand
        page.evaluate("() => { navigator.clipboard.writeText = () => Promise.reject("
                      "new DOMException('denied', 'NotAllowedError')); }")
        page.wait_for_function(
            "() => document.getElementById('copy-command').textContent === 'Copy command'")
        page.click("#copy-command")
        page.wait_for_function("() => getSelection().toString().length > 0")
        assert page.evaluate("getSelection().toString()") == want.command
        assert "Ctrl+C" in session.text("#copy-command-status")
        # an invalid input: the verdict is stale with the figures, its buttons wait
        session.change(lambda: (page.fill("#batch", "0"), page.press("#batch", "Tab")))
        assert page.get_attribute("#results", "data-stale") == "invalid"
        assert page.is_disabled("#copy-command")
        session.change(lambda: (page.fill("#batch", "1"), page.press("#batch", "Tab")))
        assert page.get_attribute("#results", "data-stale") is None
        assert not page.is_disabled("#copy-command")
        # generic stays a labelled choice, and says it assumes no engine
        session.change(lambda: page.select_option("#engine", "generic"))
        assert session.text("#launch-verdict").startswith("Assumes no engine (generic)")
        assert page.locator(".launch-command").is_hidden()
        assert "generic" in page.locator("#engine option:checked").inner_text()
        session.check_clean()
    finally:
        page.context.close()


def test_ollama_verdict_has_no_command_box(browser: Any, base_url: str) -> None:
    """Ollama has no launch command: no empty box claiming one, no "None"; its verdict is
    where its own estimate puts the layers (part in system RAM), not an out-of-memory."""
    query = "?engine=ollama&precision=Q4_K_M&context=8192&gpu=rtx2060"
    session = open_page(browser, base_url, query)
    page = session.page
    try:
        want = library(query)
        assert want.starts and want.command is None
        assert session.text("#launch-verdict") == want.summary == (
            "Ollama will start: 27/33 layers on the GPU, 1.4 GiB in system RAM (slower)")
        assert "llm/memory.go" in session.text("#launch-engine")
        assert "Ollama has no launch command: set num_ctx" in session.text("#launch-facts")
        assert page.get_attribute("#launch", "data-command") == "none"
        assert page.locator(".launch-command").is_hidden()
        assert "None" not in page.inner_text("#launch")
        session.change(lambda: page.select_option("#engine", "vllm"))
        assert page.locator(".launch-command").is_visible()
        assert session.text("#launch-command").startswith(f"vllm serve {LLAMA} ")
        session.check_clean()
    finally:
        page.context.close()


@pytest.mark.parametrize("query", [EMBED_REFUSING, "?gpu=rtx4090&context=32768"],
                         ids=["refuses", "starts"])
def test_embed_shows_the_verdict_and_the_copy_button(browser: Any, base_url: str,
                                                     query: str) -> None:
    session = open_page(browser, base_url, "embed.html" + query,
                        viewport={"width": EMBED_WIDTH, "height": 640})
    page = session.page
    try:
        want = library(query)
        assert want.starts == (query != EMBED_REFUSING)
        assert session.text("#launch-verdict").startswith(want.summary)
        assert page.locator("#launch-verdict").is_visible()
        assert page.locator("#copy-command").is_visible()
        assert page.locator("#launch-command").is_visible()
        assert session.text("#launch-command") == want.command
        assert page.get_attribute("#launch", "data-starts") == ("yes" if want.starts else "no")
        # the compact card stays inside 360 px: no sideways scroll, the button in view
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        box = page.locator("#copy-command").bounding_box()
        assert box is not None and box["x"] + box["width"] <= EMBED_WIDTH
        # the toggle says what it holds: the breakdown and the launch fixes
        assert session.text("details.embed-more > summary") == "Details and fixes"
        if not want.starts:  # the fixes fold under the toggle with the breakdown
            assert page.locator("#launch-fixes").is_hidden()
            page.click("details.embed-more summary")
            assert page.locator("#launch-fixes button.fix").first.is_visible()
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        page.click("#copy-command")
        page.wait_for_function(
            "() => document.getElementById('copy-command').textContent === 'Copied'")
        assert page.evaluate("navigator.clipboard.readText()") == want.command
        session.check_clean()
    finally:
        page.context.close()

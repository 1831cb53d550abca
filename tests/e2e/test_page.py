"""First paint, the Hub (simulated), uploads, escaping, tokens, suggestions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import view
from pagekit import FakeHub, Session, load_config, open_session

from estimator import EstimateOptions, estimate

pytestmark = pytest.mark.e2e

LLAMA = load_config("meta-llama__Llama-3.1-8B")
PHI = load_config("microsoft__phi-1")
DEFAULT = {"gpu": view.UI_DEFAULTS["gpu"], "engine": view.UI_DEFAULTS["engine"]}


def figures(config: dict[str, Any], **options: Any) -> tuple[str, str]:
    est = estimate(config, EstimateOptions(**{**DEFAULT, **options}))
    return view.fmt_gib(est.total_bytes), view.fmt_gib(est.per_gpu_bytes)


def shown(session: Session) -> tuple[str, str]:
    return session.text("#total-gib"), session.text("#pergpu-gib")


# ---------------------------------------------------------------------------
# first paint


def test_prerendered_estimate_without_javascript(browser: Any, base_url: str) -> None:
    """The HTML itself carries the CPython estimate of the default model."""
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(base_url)
        assert (page.text_content("#total-gib"), page.text_content("#pergpu-gib")) == figures(LLAMA)
        assert page.get_attribute("html", "data-ready") is None
        assert "LlamaForCausalLM" in (page.text_content("#m-arch") or "")
        assert page.locator("#rows-compare tr").count() >= 20
        assert (page.get_attribute("#chart-ctx-line", "d") or "").count("L") > 10
        assert page.get_attribute("#chart-ctx-cap", "visibility") == "visible"
    finally:
        context.close()


def test_first_paint_then_python_takes_over_without_a_jump(fresh: Any) -> None:
    session = fresh(wait_ready=False)
    page = session.page
    page.wait_for_selector("#total-gib", state="attached")
    first = shown(session)
    assert first == figures(LLAMA)
    page.wait_for_selector("html[data-ready]", state="attached", timeout=90_000)
    session.settle()
    assert shown(session) == first
    assert page.get_attribute("html", "data-loading") is None


def test_no_request_leaves_localhost_and_csp_holds(fresh: Any) -> None:
    session = fresh()
    csp = session.page.get_attribute('meta[http-equiv="Content-Security-Policy"]', "content")
    assert "script-src 'self' 'wasm-unsafe-eval'" in (csp or "")
    assert "unsafe-inline" not in (csp or "") and "'unsafe-eval'" not in (csp or "")
    assert session.page.locator("script:not([src])").count() == 0  # no inline scripts
    assert session.hub.seen == []  # the bundled default model needs no Hub


# ---------------------------------------------------------------------------
# the Hub


@pytest.fixture(scope="module")
def hub_session(browser: Any, base_url: str) -> Any:
    hub = FakeHub(
        configs={
            "test-org/phi-like": PHI,
            "test-org/encoder": {
                "model_type": "bert",
                "architectures": ["BertForMaskedLM"],
                "hidden_size": 768,
                "num_hidden_layers": 12,
                "num_attention_heads": 12,
                "intermediate_size": 3072,
                "vocab_size": 30522,
                "max_position_embeddings": 512,
            },
        },
        tokens={"hf_secret_test"},
    )
    session = open_session(browser, base_url, hub=hub)
    yield session
    session.check_clean()
    session.page.context.close()


def enter_model(session: Session, text: str) -> None:
    page = session.page
    page.fill("#model", text)
    page.press("#model", "Enter")


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        ("missing", ""),  # the wording for this one follows issue 10 (test_states.py)
        ("gated", "gated"),
        (429, "Rate-limited"),
        ("abort", "Cannot reach the Hub"),
        ("badjson", "unexpected"),
    ],
)
def test_hub_errors_show_a_message_and_keep_inputs(
    hub_session: Session, failure: Any, message: str
) -> None:
    page = hub_session.page
    repo = f"err-org/model-{failure}"
    if failure == "gated":
        hub_session.hub.gated[repo] = PHI
    elif failure != "missing":
        hub_session.hub.failures[repo] = failure
    batch = page.input_value("#batch")
    enter_model(hub_session, repo)
    # Wait for this repo's message: the previous case's one may still be shown until the
    # new request starts.
    page.wait_for_function(
        "([m, repo]) => { const t = document.getElementById('model-error').textContent;"
        " return t.toLowerCase().includes(m) && (repo === '' || t.includes(repo)); }",
        arg=[message.lower(), "" if failure == "abort" else repo],
        timeout=20_000,
    )
    assert page.locator("#model-error").is_visible()
    assert page.input_value("#model") == repo
    assert page.input_value("#batch") == batch
    # the previous model's figures are gone, the results say why
    assert page.get_attribute("#results", "data-stale") == "failed"
    assert f"Could not load {repo}" in hub_session.text("#stale-reason")
    assert shown(hub_session) == ("—", "—")


def test_unsupported_model_from_hub(hub_session: Session) -> None:
    page = hub_session.page
    enter_model(hub_session, "test-org/encoder")
    error = page.locator("#model-error")
    page.wait_for_function(
        "() => document.getElementById('model-error').textContent.includes('Cannot estimate')",
        timeout=20_000,
    )
    assert error.is_visible()
    assert page.get_attribute("#results", "data-stale") == "failed"
    assert shown(hub_session) == ("—", "—")


def test_hub_model_loads_with_token_in_header_only(hub_session: Session) -> None:
    page = hub_session.page
    page.fill("#token", "hf_secret_test")
    page.press("#token", "Tab")
    hub_session.hub.seen.clear()
    hub_session.change(
        lambda: enter_model(hub_session, "https://huggingface.co/test-org/phi-like/tree/main")
    )
    page.wait_for_function(
        "() => document.getElementById('model-label').textContent.includes('test-org/phi-like')",
        timeout=20_000,
    )
    hub_session.settle()
    assert page.input_value("#model") == "test-org/phi-like"  # the pasted URL, canonical
    assert page.locator("#model-error").is_hidden()
    assert shown(hub_session) == figures(PHI)
    assert hub_session.hub.seen, "the Hub was not asked"
    for url, headers in hub_session.hub.seen:
        assert "hf_secret_test" not in url
        if "/api/models?" in url:
            continue  # typing suggestions (possibly a previous test's, debounced) need no token
        assert headers.get("authorization") == "Bearer hf_secret_test", url
    assert page.evaluate("sessionStorage.getItem('llm-mem-hub-token')") == "hf_secret_test"
    assert page.evaluate("localStorage.getItem('llm-mem-hub-token')") is None
    page.check("#remember")
    assert page.evaluate("localStorage.getItem('llm-mem-hub-token')") == "hf_secret_test"
    page.uncheck("#remember")
    assert page.evaluate("localStorage.getItem('llm-mem-hub-token')") is None
    page.fill("#token", "")
    page.press("#token", "Tab")


def test_suggestions_from_bundle_and_hub_search(hub_session: Session) -> None:
    page = hub_session.page
    hub_session.hub.search["Qwen"] = ["Qwen/Qwen-From-Hub-Search"]
    page.fill("#model", "")
    page.type("#model", "Qwen")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#model-suggestions option')]"
        ".some(o => o.value === 'Qwen/Qwen-From-Hub-Search')",
        timeout=10_000,
    )
    values = page.eval_on_selector_all("#model-suggestions option", "os => os.map(o => o.value)")
    assert any(v.startswith("Qwen/") and v != "Qwen/Qwen-From-Hub-Search" for v in values)


# ---------------------------------------------------------------------------
# local configs, escaping


def test_config_upload(fresh: Any, tmp_path: Path) -> None:
    session = fresh()
    page = session.page
    path = tmp_path / "config.json"
    path.write_text(json.dumps(PHI))
    page.click("details.upload summary")
    session.change(lambda: page.set_input_files("#config-file", str(path)))
    assert "uploaded file config.json" in session.text("#model-label")
    assert shown(session) == figures(PHI)


def test_config_paste_and_bad_json(fresh: Any) -> None:
    session = fresh()
    page = session.page
    page.click("details.upload summary")
    before = shown(session)
    page.fill("#config-text", "{not json")
    page.press("#config-text", "Tab")
    page.locator("#model-error").wait_for(state="visible")
    assert "not valid JSON" in (page.text_content("#model-error") or "")
    assert shown(session) == before
    session.change(
        lambda: (page.fill("#config-text", json.dumps(PHI)), page.press("#config-text", "Tab"))
    )
    assert shown(session) == figures(PHI)
    assert page.locator("#model-error").is_hidden()


def test_markup_in_config_is_shown_as_text(fresh: Any) -> None:
    session = fresh()
    page = session.page
    evil = dict(PHI)
    payload = "<img src=x onerror=alert(1)>"
    evil["model_type"] = payload
    evil["architectures"] = [payload + "<b>bold</b>"]
    page.click("details.upload summary")
    session.change(
        lambda: (page.fill("#config-text", json.dumps(evil)), page.press("#config-text", "Tab"))
    )
    arch = session.text("#m-arch")
    assert payload in arch and "<b>bold</b>" in arch
    assert page.locator("main img, main b").count() == 0
    assert page.evaluate("document.querySelectorAll('img').length") == 0


# ---------------------------------------------------------------------------
# the Accuracy page


def test_accuracy_page_is_linked_and_shows_the_validation_run(fresh: Any) -> None:
    """The footer links to accuracy.html, which lists every measurement and its error."""
    from tests.validation.validate import run

    session = fresh()
    page = session.page
    page.click("footer a[href='accuracy.html']")
    page.wait_for_selector("h1")
    assert page.text_content("h1") == "How far to trust the numbers"
    page.wait_for_selector("#compared tbody tr")
    rows = run()
    assert page.locator("#compared tbody tr, #gaps tbody tr").count() == len(rows)
    compared = sum(r.status == "compared" for r in rows)
    header = page.text_content("header") or ""
    assert f"{compared} of {len(rows)} published measurements" in header
    first = next(r for r in rows if r.status == "compared")
    assert page.locator("td", has_text=first.model).count() >= 1
    assert page.locator("a[href^='https://github.com/']").count() >= 10
    # drawn by its own script file (strict CSP: no inline script)
    assert page.locator("script[src]").count() == 1

"""The results region always belongs to the inputs (issue 11): ``#results[data-stale]``
whenever its figures do not answer what the inputs say, with the reason shown inside it,
the fit banner never green, no fallback to the default model, and the URL changed only
once a model has loaded. The Hub answers with the real Hub's shapes (pagekit.FakeHub).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import view
from pagekit import FakeHub, Session, load_config, open_session

from estimator import EstimateOptions, estimate

pytestmark = pytest.mark.e2e

LLAMA = load_config("meta-llama__Llama-3.1-8B")
PHI = load_config("microsoft__phi-1")
GPU = view.UI_DEFAULTS["gpu"]
ENGINE = view.UI_DEFAULTS["engine"]  # the page's default engine (vLLM)
GREEN = ("rgb(30, 123, 52)", "rgb(111, 211, 138)")  # --ok, light and dark (site/app.css)


def answer(config: dict[str, Any], **options: Any) -> tuple[str, str]:
    est = estimate(config, EstimateOptions(**{"gpu": GPU, "engine": ENGINE, **options}))
    return view.fmt_gib(est.total_bytes), view.fmt_gib(est.per_gpu_bytes)


def shown(session: Session) -> tuple[str, str]:
    return session.text("#total-gib"), session.text("#pergpu-gib")


def stale(session: Session) -> str | None:
    value = session.page.get_attribute("#results", "data-stale")
    return None if value is None else str(value)


def reason(session: Session) -> str:
    return session.text("#stale-reason")


def fit_is_green(session: Session) -> bool:
    colour = session.page.eval_on_selector("#fit", "e => getComputedStyle(e).color")
    return colour in GREEN


def assert_fresh(session: Session, config: dict[str, Any], **options: Any) -> None:
    assert stale(session) is None, reason(session)
    assert session.page.locator("#stale-reason").is_hidden()
    assert shown(session) == answer(config, **options)


def assert_failed(session: Session, repo: str) -> None:
    """A model that could not be loaded: its id, the reason, no figures, nothing green."""
    assert stale(session) == "failed"
    text = reason(session)
    assert f"Could not load {repo}" in text, text
    assert session.page.locator("#stale-reason").is_visible()
    assert shown(session) == ("—", "—")  # another model's figures are cleared
    assert not fit_is_green(session)
    assert session.page.get_attribute("#fit", "data-fit") != "yes"
    assert session.page.locator(".charts").is_hidden()
    assert session.page.get_attribute("#model", "aria-invalid") == "true"
    assert session.page.input_value("#model") == repo  # what the visitor asked for stays


def query(session: Session) -> dict[str, list[str]]:
    return parse_qs(urlsplit(session.page.url).query)


def wait_stale(session: Session, kind: str) -> None:
    session.page.wait_for_selector(f"#results[data-stale='{kind}']", state="attached",
                                   timeout=20_000)


@pytest.fixture
def hub() -> FakeHub:
    return FakeHub(configs={"test-org/phi-like": PHI}, gated={"test-org/gated": PHI},
                   tokens={"hf_valid"})


# ---------------------------------------------------------------------------
# links that cannot be honoured: no silent fallback to the default model


def test_typo_link_never_shows_the_default_model(fresh: Any, hub: FakeHub) -> None:
    session = fresh("?model=test-org/phi-likee&batch=4", hub=hub)
    assert_failed(session, "test-org/phi-likee")
    assert query(session) == {"model": ["test-org/phi-likee"], "batch": ["4"]}  # untouched
    assert "LlamaForCausalLM" not in session.text("#m-arch") or session.page.locator(
        "#facts").is_hidden()


def test_typo_link_is_not_called_gated(fresh: Any, hub: FakeHub) -> None:
    # the real Hub answers a typo exactly like a private repo: 401, no X-Error-Code
    session = fresh("?model=test-org/phi-likee", hub=hub)
    text = reason(session).lower()
    assert "not found on the hub, or private" in text and "gated" not in text
    assert "hf_token" not in text  # the CLI's advice is not the page's


def test_refused_token_can_be_cleared(fresh: Any, hub: FakeHub) -> None:
    session = fresh(hub=hub)
    page = session.page
    page.fill("#token", "hf_expired")
    page.press("#token", "Tab")
    page.fill("#model", "test-org/phi-like")
    page.press("#model", "Enter")
    wait_stale(session, "failed")
    assert "refused the token" in reason(session) and "gated" not in reason(session).lower()
    session.change(lambda: page.click("#clear-token"))
    assert page.input_value("#token") == ""
    assert page.evaluate("sessionStorage.getItem('llm-mem-hub-token')") is None
    assert_fresh(session, PHI)


def test_gated_link_says_gated_and_a_pasted_token_retries_at_once(
        fresh: Any, hub: FakeHub) -> None:
    session = fresh("?model=test-org/gated", hub=hub)
    assert_failed(session, "test-org/gated")
    assert "gated" in reason(session).lower()
    page = session.page
    hub.seen.clear()
    page.fill("#token", "hf_valid")
    page.press("#token", "Tab")  # no other action: the load is retried at once
    page.wait_for_function("() => !document.getElementById('results').hasAttribute('data-stale')",
                           timeout=20_000)
    session.settle()
    assert_fresh(session, PHI)
    assert any(h.get("authorization") == "Bearer hf_valid" for _, h in hub.seen)
    assert all("hf_valid" not in url for url, _ in hub.seen)
    assert query(session) == {"model": ["test-org/gated"]}
    page.fill("#token", "")
    page.press("#token", "Tab")


def test_offline_link(fresh: Any, hub: FakeHub) -> None:
    hub.offline = True
    session = fresh("?model=test-org/phi-like", hub=hub)
    assert_failed(session, "test-org/phi-like")
    assert "reach the hub" in reason(session).lower()


def test_rate_limited_link(fresh: Any, hub: FakeHub) -> None:
    hub.failures["test-org/phi-like"] = 429
    session = fresh("?model=test-org/phi-like", hub=hub)
    assert_failed(session, "test-org/phi-like")
    assert "rate-limited" in reason(session).lower()


# ---------------------------------------------------------------------------
# changes on a booted page


def test_failed_change_then_recovery(fresh: Any, hub: FakeHub) -> None:
    session = fresh(hub=hub)
    page = session.page
    assert_fresh(session, LLAMA)
    url = page.url
    page.fill("#model", "test-org/nope")
    page.press("#model", "Enter")
    wait_stale(session, "failed")
    assert_failed(session, "test-org/nope")
    assert page.url == url  # the URL changes only once a model has loaded
    # settings changed while no model is loaded stay stale and stay out of the URL
    page.fill("#batch", "3")
    page.press("#batch", "Tab")
    assert stale(session) == "failed" and page.url == url
    session.change(lambda: (page.fill("#model", "test-org/phi-like"),
                            page.press("#model", "Enter")))
    assert_fresh(session, PHI, batch=3)
    assert query(session) == {"model": ["test-org/phi-like"], "batch": ["3"]}
    assert page.get_attribute("#model", "aria-invalid") is None


def test_loading_marks_results_stale(fresh: Any, hub: FakeHub) -> None:
    session = fresh(hub=hub)
    page = session.page
    held: list[Any] = []
    # hold the model's answers until the stale state has been checked
    page.context.route("https://huggingface.co/**", lambda route: held.append(route))
    page.fill("#model", "test-org/phi-like")
    page.press("#model", "Enter")
    wait_stale(session, "loading")
    assert "Loading test-org/phi-like" in reason(session)
    assert not fit_is_green(session)
    page.context.unroute("https://huggingface.co/**")
    before = session.page.evaluate("document.documentElement.dataset.generation")
    for route in held:
        hub.handle(route)
    page.wait_for_function("(b) => { const d = document.documentElement.dataset;"
                           " return d.generation !== b && d.settled === d.generation; }",
                           arg=before, timeout=20_000)
    assert_fresh(session, PHI)


def test_invalid_inputs_are_marked_beside_their_field(fresh: Any) -> None:
    session = fresh()
    page = session.page
    for field, value in (("context", "0"), ("batch", "0"), ("headroom", "2")):
        if page.locator(f"#{field}").is_hidden():
            page.click("details.advanced summary")
        session.change(lambda f=field, v=value: (page.fill(f"#{f}", v), page.press(f"#{f}", "Tab")))
        assert stale(session) == "invalid", field
        assert field in reason(session)
        assert page.get_attribute(f"#{field}", "aria-invalid") == "true"
        error = page.locator(f"#{field}-error")
        assert error.is_visible() and field in (error.text_content() or "")
        # the message sits beside its field, not only at the bottom of the form
        assert page.evaluate(f"document.getElementById('{field}').closest('.field')"
                             f".contains(document.getElementById('{field}-error'))")
        assert f"#{field}-error" in "#" + " #".join(
            (page.get_attribute(f"#{field}", "aria-describedby") or "").split())
        assert not fit_is_green(session)
        assert f"{field}=" not in page.url  # invalid settings stay out of the URL
        default = view.option_default(field) or ""
        session.change(lambda f=field, d=default: (page.fill(f"#{f}", d),
                                                   page.press(f"#{f}", "Tab")))
        assert stale(session) is None
        assert page.get_attribute(f"#{field}", "aria-invalid") is None
        assert error.is_hidden()
    assert_fresh(session, LLAMA)


# ---------------------------------------------------------------------------
# before Python has started


def test_shared_link_is_stale_until_computed(browser: Any, base_url: str) -> None:
    hub = FakeHub()
    session = open_session(browser, base_url, "?batch=16&context=16384", wait_ready=False,
                           hub=hub)
    try:
        page = session.page
        page.wait_for_selector("#total-gib", state="attached")
        assert page.get_attribute("html", "data-ready") is None
        assert stale(session) == "boot"
        assert "link" in reason(session)
        assert not fit_is_green(session)
        page.wait_for_selector("html[data-ready]", state="attached", timeout=90_000)
        session.settle()
        assert_fresh(session, LLAMA, batch=16, context=16384)
        session.check_clean()
    finally:
        session.page.context.close()


def test_value_typed_during_boot_is_applied(browser: Any, base_url: str) -> None:
    session = open_session(browser, base_url, wait_ready=False)
    try:
        page = session.page
        page.wait_for_selector("html[data-interactive]", state="attached")
        if page.get_attribute("html", "data-ready") is not None:
            pytest.skip("Python was ready before the test could type")
        page.fill("#batch", "12")
        # marked stale until Python has applied it (unless it already has, just now)
        assert stale(session) == "boot" or page.get_attribute("html", "data-ready") is not None
        page.wait_for_selector("html[data-ready]", state="attached", timeout=90_000)
        session.settle()
        assert page.input_value("#batch") == "12"
        assert_fresh(session, LLAMA, batch=12)
        session.check_clean()
    finally:
        session.page.context.close()


# ---------------------------------------------------------------------------
# the runtime itself fails to download


def test_boot_failure_is_shown_with_a_retry(browser: Any, base_url: str) -> None:
    session = open_session(browser, base_url, "?batch=2", wait_ready=False)
    page = session.page
    try:
        page.context.route("**/pyodide.asm.wasm", lambda route: route.abort("internetdisconnected"))
        page.reload()
        page.wait_for_selector("html[data-failed]", state="attached", timeout=60_000)
        assert page.locator("#boot-retry").is_visible()
        assert "could not be loaded" in session.text("#loading-text")
        assert stale(session) == "boot"
        assert "runtime could not be loaded" in reason(session)
        assert not fit_is_green(session)
        assert page.get_attribute("html", "data-ready") is None
        page.context.unroute("**/pyodide.asm.wasm")
        page.click("#boot-retry")
        page.wait_for_selector("html[data-ready]", state="attached", timeout=90_000)
        session.settle()
        assert page.get_attribute("html", "data-failed") is None
        assert_fresh(session, LLAMA, batch=2)
        # the failed wasm fetch is logged by the browser as a console error: expected here
        session.console.errors = [e for e in session.console.errors
                                  if "pyodide.asm.wasm" not in e and "Failed to fetch" not in e
                                  and "net::ERR" not in e]
        session.check_clean()
    finally:
        page.context.close()


def test_offline_banner_claims_only_what_works(browser: Any, base_url: str) -> None:
    """Offline before the runtime is stored: the banner must not promise bundled models."""
    session = open_session(browser, base_url, wait_ready=False)
    page = session.page
    held: list[Any] = []
    try:
        page.context.route("**/pyodide.asm.wasm", lambda route: held.append(route))
        page.reload()  # routing disables the HTTP cache: the wasm is asked for again, and held
        page.wait_for_selector("html[data-interactive]", state="attached")
        page.context.set_offline(True)
        page.wait_for_selector("html[data-offline-runtime]", state="attached", timeout=10_000)
        notice = session.text("#offline-notice")
        assert page.get_attribute("html", "data-offline-runtime") == "missing"
        assert "not stored on this device" in notice and "still work" not in notice
        page.context.set_offline(False)
    finally:
        page.context.close()

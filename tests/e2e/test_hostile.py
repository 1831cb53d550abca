"""Configs anyone can publish on the Hub, or paste, never break the page (issue 10): a deep
JSON, a number with thousands of digits, an infinite or absurd value each end as an error
beside the model field that names the config, the results stay stale, and the same
runtime then estimates the next model (no reload, no crash).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pagekit import FakeHub, load_config
from test_states import assert_failed, assert_fresh, reason, wait_stale

pytestmark = pytest.mark.e2e

PHI = load_config("microsoft__phi-1")
LLAMA = load_config("meta-llama__Llama-3.1-8B")


def _with(**keys: Any) -> str:
    return json.dumps({**LLAMA, **keys})


DEPTH = 100_000
HOSTILE = {
    # repo -> (config.json body, words the message must contain)
    "evil/deep": ('{"a":' * DEPTH + "1" + "}" * DEPTH, "nests more than 64 levels"),
    "evil/digits": (_with(hidden_size=0).replace('"hidden_size": 0', '"hidden_size": '
                                                 + "9" * 5000), "an integer with 5000 digits"),
    "evil/infinite": (_with(num_hidden_layers=0).replace('"num_hidden_layers": 0',
                                                         '"num_hidden_layers": 1e999'),
                      "1e999, too large for a float"),
    "evil/absurd": (_with(hidden_size=10**30), "'hidden_size' is implausibly large"),
    "evil/nan": (_with(rope_theta=0).replace('"rope_theta": 0', '"rope_theta": NaN'),
                 "NaN, which is not a JSON value"),
}


def test_hostile_hub_configs_are_errors_and_the_runtime_survives(fresh: Any) -> None:
    hub = FakeHub(configs={"test-org/phi-like": PHI},
                  raw={repo: body for repo, (body, _) in HOSTILE.items()})
    session = fresh(hub=hub)
    page = session.page
    for repo, (_, words) in HOSTILE.items():
        page.fill("#model", repo)
        page.press("#model", "Enter")
        wait_stale(session, "failed")
        session.settle()
        assert_failed(session, repo)
        text = reason(session)
        assert words in text, (repo, text)
        assert "gated" not in text.lower() and "reach the hub" not in text.lower(), text
        # the same runtime answers the next model at once
        session.change(lambda: (page.fill("#model", "test-org/phi-like"),
                                page.press("#model", "Enter")))
        assert_fresh(session, PHI)
    session.check_clean()


def test_hostile_pasted_config_is_an_error_beside_the_field(fresh: Any) -> None:
    session = fresh()
    page = session.page
    page.click("details.upload summary")
    body, words = HOSTILE["evil/digits"]
    page.fill("#config-text", body)
    page.press("#config-text", "Tab")
    page.locator("#model-error").wait_for(state="visible")
    message = page.text_content("#model-error") or ""
    assert words in message and "not valid JSON" not in message, message  # valid, refused
    assert page.input_value("#config-text") == body  # what was pasted stays
    deep, _ = HOSTILE["evil/deep"]
    page.fill("#config-text", deep)
    page.press("#config-text", "Tab")
    page.wait_for_function("() => (document.getElementById('model-error').textContent || '')"
                           ".includes('nests more than')", timeout=20_000)
    session.change(lambda: (page.fill("#config-text", json.dumps(PHI)),
                            page.press("#config-text", "Tab")))
    assert_fresh(session, PHI)
    session.check_clean()

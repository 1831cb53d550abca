"""site/evidence.py on CPython: the breakdown's formulas and measured errors, the records
links, the fit banner's caveat, and README's example of them (tests/e2e checks the drawn
page against the same library answers)."""

from __future__ import annotations

import re
import sys

from estimator import EstimateOptions, estimate
from estimator.confidence import confidence, fit_caveat, fit_verdict, total_confidence
from estimator.explain import explain
from tests.conftest import ROOT, load_config

sys.path.insert(0, str(ROOT / "site"))

import evidence

LLAMA = load_config("meta-llama__Llama-3.1-8B")


def test_rows_are_the_librarys_formulas_and_errors() -> None:
    est = estimate(LLAMA, EstimateOptions(engine="vllm", gpu="h100-80gb"))
    items = evidence.breakdown(est)
    conf = confidence(est)
    assert [i["key"] for i in items] == [c.name for c in est.components] + ["total"]
    for item, formula in zip(items[:-1], explain(est), strict=True):
        assert item["lines"] == list(formula.lines)
        assert item["trust"] == conf[item["key"]].text
    total = items[-1]
    assert total["lines"] == [" + ".join(f"{c.bytes:,}" for c in est.components)
                              + f" = {est.total_bytes:,} B"]
    assert total["trust"] == total_confidence(est, conf)[1]


def test_links_filter_the_accuracy_page_by_the_scope_measured() -> None:
    vllm = estimate(LLAMA, EstimateOptions(engine="vllm"))
    conf = confidence(vllm)
    assert conf["kv_cache"].scope == "engine+family"
    assert evidence.accuracy_link(vllm, conf["kv_cache"]) == (
        "accuracy.html#engine=vllm&family=dense")
    generic = estimate(LLAMA, EstimateOptions())
    conf = confidence(generic)
    assert conf["weights"].scope == "family"  # no generic-engine log: other engines' records
    assert evidence.accuracy_link(generic, conf["weights"]) == "accuracy.html#family=dense"
    assert not conf["activations"].validated
    assert evidence.accuracy_link(generic, conf["activations"]) == ""


def test_pool_line_only_where_an_engine_reserves() -> None:
    vllm = evidence.headline(estimate(LLAMA, EstimateOptions(engine="vllm", gpu="h100-80gb")))
    assert vllm["pool-conf"].startswith("Its KV pool's measured error: within ")
    assert evidence.headline(estimate(LLAMA, EstimateOptions(gpu="h100-80gb")))["pool-conf"] == ""


def test_fit_banner_ends_with_the_clis_caveat() -> None:
    # README's example: RTX 4090, transformers, 24k tokens: 1.2 % headroom against ±3.1 %
    config = load_config("meta-llama__Llama-3.1-8B-Instruct")
    est = estimate(config, EstimateOptions(engine="transformers", gpu="rtx4090", context=24576))
    text, caveat = evidence.fit_text(est)
    assert caveat == "within the estimate's error: 1.2 % headroom against ±3.1 %"
    assert fit_verdict(est) == f"fits, but {caveat}"
    assert text.startswith("Fits on 1× NVIDIA RTX 4090 24GB: ") and text.endswith(f", but {caveat}")
    wide = estimate(config, EstimateOptions(engine="transformers", gpu="rtx4090", context=4096))
    assert fit_caveat(wide) == ""
    assert ", but" not in evidence.fit_text(wide)[0]


def test_prerendered_rows_are_escaped_text() -> None:
    item = {"key": "weights", "label": "<b>", "gib": "1", "gb": "1", "lines": ["a < b & c"],
            "trust": "<script>", "validated": True, "link": 'accuracy.html#"x'}
    markup = evidence.breakdown_html([item])
    assert "<b>" not in markup and "<script>" not in markup
    assert "a &lt; b &amp; c" in markup and 'href="accuracy.html#&quot;x"' in markup


def test_readme_shows_the_page_rows_as_they_are() -> None:
    """README's page example (Llama-3.1-8B on vLLM, H100) is the library's answer today."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"For Llama-3.1-8B on vLLM:\n\n```text\n(.*?)```", readme, re.S)
    assert block is not None
    est = estimate(LLAMA, EstimateOptions(engine="vllm", gpu="h100-80gb"))
    for item in evidence.breakdown(est):
        if item["key"] not in ("kv_cache", "total"):
            continue
        assert re.search(rf"^{item['label']} +{item['gib']} GiB +{item['gb']} GB$", block[1], re.M)
        for line in item["lines"]:
            assert f"\n  {line}\n" in block[1]
        assert f"\n  Measured error: {item['trust']}" in block[1]


def test_accuracy_link_query_is_urlencode() -> None:
    """The worker writes the Accuracy link's query without urllib.parse (its import costs
    Pyodide ~0.15 s at start): the same text as urlencode for any keys and values."""
    import random
    from urllib.parse import urlencode

    import evidence

    rng = random.Random(7)
    alphabet = "abcXYZ09 _.-~+&=%/#?é漢\t"
    for _ in range(3000):
        query = {"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))):
                 "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 9)))
                 for _ in range(rng.randint(1, 3))}
        assert evidence._form_query(query) == urlencode(query), query
    assert evidence._form_query({"engine": "llama.cpp", "family": "dense GQA"}) == (
        "engine=llama.cpp&family=dense+GQA")

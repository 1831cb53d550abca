"""Confidence per figure: the measured error of the engine and family, widened only where the
arithmetic is shared, and a fit verdict that admits a margin smaller than that error.

Expected figures are recomputed here from the validation rows (tests/validation), not
copied: the library must report what the validation run measured.
"""

from __future__ import annotations

import statistics

import pytest

from estimator import EstimateOptions, estimate
from estimator.confidence import (
    COMPONENTS,
    architecture_family,
    confidence,
    estimate_error,
    fit_verdict,
)
from tests.conftest import load_config
from tests.validation.evidence import page_rows

ROWS = [r for r in page_rows() if r["status"] == "compared"]


def _measured(component: str, engine: str | None = None, family: str | None = None) -> list[float]:
    return [
        abs(r["error_pct"])
        for r in ROWS
        if r["component"] == component
        and (engine is None or r["engine"] == engine)
        and (family is None or r["family"] == family)
    ]


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("meta-llama__Llama-3.1-8B-Instruct", "dense"),
        ("mistralai__Mixtral-8x7B-v0.1", "moe"),
        ("deepseek-ai__DeepSeek-V3", "mla"),
        ("google__gemma-3-27b-it", "sliding"),
        ("openai__gpt-oss-20b", "sliding"),
        ("Qwen__Qwen3.5-9B", "hybrid"),
    ],
)
def test_architecture_family(model: str, family: str) -> None:
    assert architecture_family(estimate(load_config(model)).model) == family


def test_vllm_dense_figures_are_the_validation_runs() -> None:
    est = estimate(load_config("meta-llama__Llama-3.1-8B-Instruct"), EstimateOptions(engine="vllm"))
    conf = confidence(est)
    assert set(conf) == set(COMPONENTS)
    for name in ("weights", "kv_cache", "activations", "engine_kv_pool"):
        errors = _measured(name, "vllm", "dense")
        assert errors, name
        c = conf[name]
        assert c.scope == "engine+family"
        assert c.max_abs_error == round(max(errors), 2)
        assert c.median_abs_error == round(statistics.median(errors), 2)
        assert c.measurements == len(errors)
        assert set(c.engines) == {"vllm"}
        assert c.text.startswith(f"within {c.short[1:].split(' %')[0]} % (median ")
    assert "0.19.1" in conf["kv_cache"].engines["vllm"]
    assert conf["kv_cache"].note == "measured with vLLM 0.7–0.19 on dense models"
    assert not conf["total"].validated and conf["total"].short == "not validated"


def test_weights_widen_within_their_storage_format() -> None:
    """transformers has no weights log: its safetensors weights take vLLM's and SGLang's
    error, never a GGUF file's; a GGUF precision takes llama.cpp's."""
    cfg = load_config("mistralai__Mixtral-8x7B-v0.1")
    hf = confidence(estimate(cfg, EstimateOptions(engine="transformers")))["weights"]
    assert hf.validated and "llama.cpp" not in hf.engines
    assert hf.scope == "all" and "no transformers log of a mixture-of-experts model" in hf.note
    gguf = confidence(estimate(cfg, EstimateOptions(precision="Q4_K_M")))["weights"]
    assert set(gguf.engines) == {"llama.cpp"} and gguf.scope == "family"
    assert gguf.max_abs_error == round(max(_measured("weights", "llama.cpp", "moe")), 2)


def test_engine_behaviour_is_not_borrowed() -> None:
    """Activations, overhead, pool and total are each engine's own: never widened."""
    cfg = load_config("meta-llama__Llama-3.1-8B-Instruct")
    generic = confidence(estimate(cfg))
    assert not generic["activations"].validated
    assert generic["activations"].text == (
        "not validated: the generic profile is no engine's; no log measures its activation peak"
    )
    llama = confidence(estimate(cfg, EstimateOptions(engine="llama.cpp")))
    assert llama["engine_kv_pool"].note == "llama.cpp reserves no KV pool up front"
    assert llama["activations"].max_abs_error == round(
        max(_measured("activations", "llama.cpp", "dense")), 2
    )
    hf = confidence(estimate(cfg, EstimateOptions(engine="transformers")))
    assert hf["total"].max_abs_error == round(max(_measured("total", "transformers")), 2)


def test_estimate_error_weights_the_parts_by_their_bytes() -> None:
    est = estimate(load_config("meta-llama__Llama-3.1-8B-Instruct"), EstimateOptions(engine="vllm"))
    conf = confidence(est)
    expected = sum(c.bytes * (conf[c.name].max_abs_error or 0) for c in est.components)
    assert estimate_error(est) == pytest.approx(expected / est.total_bytes)
    assert estimate_error(estimate(load_config("meta-llama__Llama-3.1-8B-Instruct"))) is None


@pytest.mark.parametrize("context", [16384, 23552, 24576, 25600, 26624, 28672, 40960])
def test_fit_verdict_names_a_margin_inside_the_error(context: int) -> None:
    """transformers on an RTX 4090: its total is validated (peak allocated), so the verdict
    says when the margin to the usable memory is smaller than that error."""
    est = estimate(
        load_config("meta-llama__Llama-3.1-8B-Instruct"),
        EstimateOptions(engine="transformers", gpu="rtx4090", context=context),
    )
    assert est.fit is not None
    error = estimate_error(est)
    assert error is not None
    margin = (est.fit.usable_bytes - est.fit.per_gpu_bytes) / est.fit.per_gpu_bytes * 100
    verdict = fit_verdict(est)
    assert verdict is not None
    if est.fit.fits and margin >= error:
        assert verdict == "fits"
    elif est.fit.fits:
        assert verdict.startswith("fits, but within the estimate's error: ")
        assert verdict.endswith(f"% headroom against ±{error:.1f} %")
    elif -margin < error:
        assert verdict.startswith("does NOT fit, but within the estimate's error: ")
    else:
        assert verdict == "does NOT fit"


def test_fit_verdict_wording() -> None:
    """Llama-3.1-8B, 24k tokens, transformers on an RTX 4090: 20.99 GiB of 21.25 usable."""
    est = estimate(
        load_config("meta-llama__Llama-3.1-8B-Instruct"),
        EstimateOptions(engine="transformers", gpu="rtx4090", context=24576),
    )
    assert est.fit is not None
    margin = (est.fit.usable_bytes - est.fit.per_gpu_bytes) / est.fit.per_gpu_bytes * 100
    assert 1 < margin < 2
    assert fit_verdict(est) == (
        f"fits, but within the estimate's error: {margin:.1f} % headroom "
        f"against ±{estimate_error(est):.1f} %"
    )
    assert fit_verdict(estimate(load_config("meta-llama__Llama-3.1-8B-Instruct"))) is None


def test_json_has_the_issue_keys_for_every_figure() -> None:
    doc = estimate(load_config("Qwen__Qwen3.5-9B"), EstimateOptions(engine="llama.cpp")).to_dict()
    assert set(doc["confidence"]) == set(COMPONENTS)
    for c in doc["confidence"].values():
        assert {"records", "median_abs_error", "max_abs_error", "engines", "note"} <= set(c)
    kv = doc["confidence"]["kv_cache"]
    assert kv["records"] >= 1 and kv["scope"] == "engine+family"
    assert kv["max_abs_error"] == round(max(_measured("kv_cache", "llama.cpp", "hybrid")), 2)
    assert [f["component"] for f in doc["formulas"]] == [c["name"] for c in doc["components"]]

"""Accuracy bounds against published measurements: a change that makes them worse fails.

Every compared row is held to the bound of its figure (see tests/validation/README.md):
- weights: within 1% (documented exceptions for files from other quantizers: Ollama's
  Qwen3 Q4_K_M, 3%; a December-2023 Mixtral Q5_K_M, 3.5%);
- KV layouts (blocks and tokens from the measured KV memory, llama.cpp's cache sizes and cells,
  SGLang's K and V sizes, the recurrent state): within 0.5% (logs print 2-3 digits);
- the engine's pool itself, read from the product's own fields (vLLM's available KV memory and
  maximum concurrency, SGLang's pool tokens): within 3% of the engine's budget, i.e. the
  engine's whole footprint is right to 3%;
- llama.cpp's compute buffer: within 25% (the graph allocator's reuse is approximated);
- vLLM's profiled activation peak: within 25%;
- the CUDA context against vLLM's non-torch memory: within 0.25 GiB;
- transformers' peak allocated memory during generate: within 5%.
A row that raised while compared, or that no rule compares, fails; a row not modelled carries
its reason, and their number is pinned.
"""

from __future__ import annotations

import pytest

from tests.validation.validate import NO_RULE, Row, run

ROWS = run()
COMPARED = [r for r in ROWS if r.status == "compared"]
NOT_MODELLED = [r for r in ROWS if r.status == "not modelled"]
KV = ("gpu_blocks", "kv_cache_tokens", "kv_cache", "kv_cache_k", "kv_cache_v",
      "kv_cache_swa", "kv_cache_non_swa", "kv_cache_swa_cells", "recurrent_state")
# Documented exceptions, files made by other quantizers than the llama.cpp we model:
# - Ollama's library Qwen3 Q4_K_M keeps one 5120x1024-class tensor per layer in F16 (its
#   tensor census: f16:40 for 14B, 64 for 32B) where llama.cpp's mix quantizes it (-2 to -3%);
# - TheBloke's December-2023 Mixtral Q5_K_M: that llama.cpp stored experts as separate
#   blk.N.ffn_down.E tensors that its ffn_down rule did not match, so none got Q6_K; the
#   16 layers x 8 experts the current rule upgrades account for the +3.1% (30.017 GiB
#   without them vs 30.02 measured).
LOOSE_WEIGHTS = {
    "ollama-qwen3-32b-q4km-filesize": 3.0,
    "llamacpp-qwen3-14b-q4_k_m-ollama": 3.0,
    "llamacpp-mixtral-8x7b-v01-q5_k_m-rocm-apu-uma": 3.5,
}
# No exception for vLLM's profiled peak any more: V0's sampler, profiled with top_k = vocab - 1
# and top_p = 0.99 (model_runner.profile_run), is modelled at 36 B per logit whatever the TP
# (vllm_v1.sampler_bytes_per_logit), so Meta-Llama-3-8B's 1.26 GiB at TP=1 and TP=2
# (vllm-project/vllm#10511) reads -7.7% at both (it read -42% at TP=2 when held to 50%).
LOOSE_ACTIVATION: dict[str, float] = {}
#: Percent of the measured value, per figure.
PERCENT = {"weights": 1.0, "peak_allocated": 5.0, "compute_buffer": 25.0,
           "activation_peak": 25.0, **dict.fromkeys(KV, 0.5)}
POOL_SHARE = 0.03  # of the engine's budget
CONTEXT_GIB = 0.25  # non_torch: absolute, GiB
#: Rows not modelled, each with its reason in records.json or validate.py; a new one must be
#: added here on purpose (the Accuracy page shows each with its reason).
NOT_MODELLED_COUNT = 14


def bound(row: Row) -> tuple[float, float]:
    """(|estimated - measured|, the largest allowed) for one compared row."""
    assert row.estimated is not None
    delta = abs(row.estimated - row.measured)
    if row.budget is not None:
        return delta, POOL_SHARE * row.budget
    if row.component == "non_torch":
        assert row.unit == "GiB"
        return delta, CONTEXT_GIB
    percent = PERCENT[row.component]  # KeyError: a compared figure without a bound
    percent = LOOSE_WEIGHTS.get(row.record, percent) if row.component == "weights" else percent
    if row.component == "activation_peak":
        percent = LOOSE_ACTIVATION.get(row.record, percent)
    return delta, percent / 100 * abs(row.measured)


def test_enough_measurements_are_compared() -> None:
    """The issue's floor: 40 measurements on 15 models, every component kind the engines print."""
    assert len(ROWS) >= 120
    assert len(COMPARED) >= 100
    assert len({r.model for r in COMPARED}) >= 20
    assert {r.component for r in COMPARED} >= {
        "weights",
        "gpu_blocks",
        "kv_cache",
        "kv_cache_tokens",
        "kv_cache_swa",
        "compute_buffer",
        "activation_peak",
        "recurrent_state",
        "peak_allocated",
        "max_concurrency",
        "non_torch",
    }


@pytest.mark.parametrize("row", COMPARED, ids=lambda r: f"{r.record}-{r.component}-{r.unit}")
def test_every_compared_row_within_its_bound(row: Row) -> None:
    delta, allowed = bound(row)
    assert delta <= allowed, (
        f"{row.component}: {row.estimated} vs {row.measured} {row.unit} "
        f"({row.error_pct:+.2f}%), allowed {allowed:.4g}"
    )


def test_no_row_failed_or_went_unchecked() -> None:
    """An exception while comparing, or a figure no rule compares, fails instead of vanishing."""
    broken = [(r.record, r.component, r.note) for r in ROWS if r.status not in (
        "compared", "not modelled", "no config")]
    assert not broken
    assert not [r for r in ROWS if r.note == NO_RULE]


def test_not_modelled_rows_say_why_and_do_not_grow() -> None:
    for row in NOT_MODELLED:
        assert len(row.note) >= 40 and row.note != NO_RULE, (row.record, row.component)
    listed = sorted(f"{r.record} {r.component}" for r in NOT_MODELLED)
    assert len(NOT_MODELLED) == NOT_MODELLED_COUNT, listed


def test_engine_pool_rows_read_the_products_fields() -> None:
    """vLLM's pool and concurrency and SGLang's pool tokens come from engine_kv_capacity_tokens
    and engine_max_concurrency (the harness reports which), each with the engine's budget."""
    pool = [
        r for r in COMPARED
        if (r.engine == "vllm" and r.component in ("kv_cache", "max_concurrency"))
        or (r.engine == "sglang" and r.component == "kv_cache_tokens")
    ]
    assert len(pool) >= 10
    for row in pool:
        assert row.budget is not None and row.budget > 0
        assert "the product's engine_" in row.note
    assert {r.component for r in pool} == {"kv_cache", "max_concurrency", "kv_cache_tokens"}


def test_bounds_are_what_the_readme_says() -> None:
    """A loosened bound is a visible change of this table, not of a lambda."""
    assert PERCENT["weights"] == 1.0 and PERCENT["peak_allocated"] == 5.0
    assert PERCENT["compute_buffer"] == PERCENT["activation_peak"] == 25.0
    assert all(PERCENT[k] == 0.5 for k in KV)
    assert (POOL_SHARE, CONTEXT_GIB) == (0.03, 0.25)


def test_a_wrong_figure_fails_its_bound() -> None:
    """The bound catches what the issue planted: a -2.24% recurrent state."""
    state = next(r for r in COMPARED if r.component == "recurrent_state")
    wrong = Row(**{**state.__dict__, "estimated": state.measured * (1 - 0.0224)})
    delta, allowed = bound(wrong)
    assert delta > allowed
    pool = next(r for r in COMPARED if r.budget is not None)
    off = Row(**{**pool.__dict__, "estimated": pool.measured + 0.04 * pool.budget})  # type: ignore[operator]
    delta, allowed = bound(off)
    assert delta > allowed

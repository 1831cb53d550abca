"""Accuracy bounds against published measurements: a change that makes them worse fails.

Bounds (see tests/validation/README.md for why):
- weights: within 1% (documented exceptions for files from other quantizers: Ollama's
  Qwen3 Q4_K_M, 3%; a December-2023 Mixtral Q5_K_M, 3.5%);
- KV cache: block and token counts derived from the measured KV memory, and llama.cpp's
  "KV self size", within 0.5% (the logs print 2-3 significant digits);
- llama.cpp's compute buffer: within 25% (the graph allocator's reuse is approximated);
- vLLM's profiled activation peak (one block's tokens + sampler logits): within 25%
  (engine-version dependent profile run);
- vLLM's KV pool (its budget minus weights, activations and non-torch memory): within 3% of
  the budget, i.e. the engine's whole footprint is right to 3%;
- transformers' peak allocated memory during generate: within 5%.
"""

from __future__ import annotations

import json

import pytest

from tests.validation.validate import RECORDS as RECORDS_PATH
from tests.validation.validate import Row, run

ROWS = run()
COMPARED = [r for r in ROWS if r.status == "compared"]
KV = ("gpu_blocks", "kv_cache_tokens", "kv_cache", "kv_cache_k", "kv_cache_v",
      "kv_cache_swa", "kv_cache_non_swa", "kv_cache_swa_cells")
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


def test_enough_measurements_are_compared() -> None:
    """The issue's floor: 40 measurements on 15 models, every component kind the engines print."""
    assert len(ROWS) >= 120
    assert len(COMPARED) >= 40
    assert len({r.model for r in COMPARED}) >= 15
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
    }


@pytest.mark.parametrize(
    "row", [r for r in COMPARED if r.component == "weights"], ids=lambda r: f"{r.record}-{r.unit}"
)
def test_weights_within_one_percent(row: Row) -> None:
    assert row.error_pct is not None
    assert abs(row.error_pct) <= LOOSE_WEIGHTS.get(row.record, 1.0)


@pytest.mark.parametrize(
    "row", [r for r in COMPARED if r.component == "peak_allocated"], ids=lambda r: r.record
)
def test_transformers_peak_within_five_percent(row: Row) -> None:
    """torch's peak during generate: exact weights and cache plus the prefill's transient
    tensors; allocator rounding and library state (cuBLAS workspace, bitsandbytes' int8
    buffers) are not modelled, hence 5% of the total."""
    assert row.error_pct is not None and abs(row.error_pct) <= 5


def _is_vllm_pool(row: Row) -> bool:
    return row.engine == "vllm" and row.component == "kv_cache"


@pytest.mark.parametrize(
    "row",
    [r for r in COMPARED if r.component in KV and not _is_vllm_pool(r)],
    ids=lambda r: f"{r.record}-{r.component}",
)
def test_kv_cache_matches_engine_layout(row: Row) -> None:
    assert row.error_pct is not None and abs(row.error_pct) <= 0.5


RECORDS = {r["id"]: r for r in json.loads(RECORDS_PATH.read_text())}


@pytest.mark.parametrize("row", [r for r in COMPARED if _is_vllm_pool(r)], ids=lambda r: r.record)
def test_vllm_kv_pool_within_three_percent_of_the_budget(row: Row) -> None:
    """vLLM's KV pool is what its budget (total x gpu_memory_utilization) leaves after
    weights, the profiled activation peak and non-torch memory, so every error in those
    lands in the pool whole: the bound is on the budget, i.e. on the engine's total."""
    settings = RECORDS[row.record]["settings"]
    budget_gib = settings["total_gpu_memory_gib"] * settings.get("gpu_memory_utilization", 0.9)
    assert row.estimated is not None and row.unit == "GiB"
    assert abs(row.estimated - row.measured) <= 0.03 * budget_gib


@pytest.mark.parametrize(
    "row", [r for r in COMPARED if r.component == "compute_buffer"], ids=lambda r: r.record
)
def test_llama_cpp_compute_buffer_bound(row: Row) -> None:
    assert row.error_pct is not None and abs(row.error_pct) <= 25


# Documented exception: vLLM V0 (before its FlashInfer sampler) profiled the sampler with
# top_k = vocab - 1 and top_p = 0.99 (model_runner.profile_run: "Enable top-k sampling to
# reflect the accurate memory usage"): the sort, softmax, cumsum, masks and inverse indices
# hold about 40 B per logit, 256 x 128256 x 40 B = 1.22 GiB + 64 MiB of hidden states,
# whatever the TP size - the 1.26 GiB Meta-Llama-3-8B logged at TP=1 and TP=2
# (vllm-project/vllm#10511). The estimator models V1, whose profile skips top-k/top-p, so
# at TP=2, where one block's share halves, the V0 record reads -42% (held to 50%).
LOOSE_ACTIVATION = {"vllm-llama3-8b-h100-tp2-v0-profiling": 50.0}


@pytest.mark.parametrize(
    "row", [r for r in COMPARED if r.component == "activation_peak"], ids=lambda r: r.record
)
def test_vllm_activation_peak_bound(row: Row) -> None:
    assert row.error_pct is not None
    assert abs(row.error_pct) <= LOOSE_ACTIVATION.get(row.record, 25.0)

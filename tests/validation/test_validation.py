"""Accuracy bounds against published measurements: a change that makes them worse fails.

Bounds (see tests/validation/README.md for why):
- weights: within 1% (one documented exception: Ollama's own Q4_K_M mix, 3%);
- KV cache: block and token counts derived from the measured KV memory, and llama.cpp's
  "KV self size", within 0.5% (the logs print 2-3 significant digits);
- llama.cpp's compute buffer: within 25% (the graph allocator's reuse is approximated);
- vLLM's profiled activation peak (one block's tokens + sampler logits): within 25%
  (engine-version dependent profile run).
"""

from __future__ import annotations

import pytest

from tests.validation.validate import Row, run

ROWS = run()
COMPARED = [r for r in ROWS if r.status == "compared"]
KV = ("gpu_blocks", "kv_cache_tokens", "kv_cache", "kv_cache_k", "kv_cache_v",
      "kv_cache_swa", "kv_cache_non_swa", "kv_cache_swa_cells")
# Documented exception: Ollama's own quantizer keeps 64 tensors in F16 where llama.cpp's
# Q4_K_M mix (which we model) does not.
LOOSE_WEIGHTS = {"ollama-qwen3-32b-q4km-filesize": 3.0}


def test_enough_measurements_are_compared() -> None:
    assert len(ROWS) >= 80
    assert len(COMPARED) >= 15
    assert {r.component for r in COMPARED} >= {"weights", "gpu_blocks", "kv_cache"}


@pytest.mark.parametrize(
    "row", [r for r in COMPARED if r.component == "weights"], ids=lambda r: f"{r.record}-{r.unit}"
)
def test_weights_within_one_percent(row: Row) -> None:
    assert row.error_pct is not None
    assert abs(row.error_pct) <= LOOSE_WEIGHTS.get(row.record, 1.0)


@pytest.mark.parametrize(
    "row", [r for r in COMPARED if r.component in KV], ids=lambda r: f"{r.record}-{r.component}"
)
def test_kv_cache_matches_engine_layout(row: Row) -> None:
    assert row.error_pct is not None and abs(row.error_pct) <= 0.5


@pytest.mark.parametrize(
    "row", [r for r in COMPARED if r.component == "compute_buffer"], ids=lambda r: r.record
)
def test_llama_cpp_compute_buffer_bound(row: Row) -> None:
    assert row.error_pct is not None and abs(row.error_pct) <= 25


# Documented exception: at TP=2 vLLM logged the same 1.26 GiB peak for Meta-Llama-3-8B as at
# TP=1 (vllm-project/vllm#10511), while one block's intermediates halve; what sets that peak
# at TP=2 is not identified, so the record is shown (-42%) but held to 50%.
LOOSE_ACTIVATION = {"vllm-llama3-8b-h100-tp2-v0-profiling": 50.0}


@pytest.mark.parametrize(
    "row", [r for r in COMPARED if r.component == "activation_peak"], ids=lambda r: r.record
)
def test_vllm_activation_peak_bound(row: Row) -> None:
    assert row.error_pct is not None
    assert abs(row.error_pct) <= LOOSE_ACTIVATION.get(row.record, 25.0)

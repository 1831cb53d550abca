"""Every EstimateOptions field by its effect: changing it moves the figures it should, to a
value worked out by hand, and leaves every other figure alone.

The model is meta-llama/Llama-3.1-8B (tests/fixtures/configs), whose shape gives the
arithmetic below: h = 4096, 32 layers, 32 heads, 8 KV heads of 128 dims, intermediate
14336 (gated), vocab 128256, 131072 positions, untied embeddings, bf16.

- parameters: per layer q,o 4096x4096 + k,v 4096x1024 = 41,943,040; MLP 3 x 4096 x 14336
  = 176,160,768; two norms 8,192 -> 218,112,000. Embedding + LM head 2 x 128256 x 4096 =
  1,050,673,152, final norm 4,096. Total 32 x 218,112,000 + 1,050,677,248 = 8,030,261,248.
- KV per token: 32 layers x 8 heads x (128 + 128) x 2 B = 131,072 B.
- one block's peak per token (activations.py): residual 3h = 12,288 values + the widest
  branch, the gated MLP 3 x 14336 = 43,008 (attention: (32 + 2 x 8) x 128 + 32 x 128 =
  10,240) -> 55,296 values x 2 B = 110,592 B per token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from estimator import EstimateOptions, estimate
from estimator.estimate import Estimate
from tests.conftest import load_config

GIB = 1024**3
MIB = 1024**2
PARAMS = 8_030_261_248
OUTER = 2 * 128256 * 4096 + 32 * 2 * 4096 + 4096  # embedding, LM head and norms stay 16-bit
LINEAR = PARAMS - OUTER  # 6,979,321,856 block-linear parameters
KV_TOKEN = 32 * 8 * (128 + 128) * 2  # 131,072
BLOCK_TOKEN = (3 * 4096 + 3 * 14336) * 2  # 110,592
VOCAB = 128256
H100 = round(79.11 * GIB)  # estimator/gpus.py: what CUDA reports on an H100 80GB
CONTEXT_BYTES = 512 * MIB  # engines.py _CUDA_CONTEXT
GRAPH_BYTES = 512 * MIB  # vLLM's CUDA graphs (engines.py _VLLM)

LLAMA = load_config("meta-llama__Llama-3.1-8B")


def figures(est: Estimate) -> dict[str, Any]:
    """Every figure an option can move."""
    act = next(c for c in est.components if c.name == "activations").inputs
    kv = next(c for c in est.components if c.name == "kv_cache").inputs
    return {
        "params": est.params,
        "weights": est.weights_bytes,
        "kv_cache": est.kv_cache_bytes,
        "kv_per_token": est.kv_bytes_per_token,
        "kv_tokens_per_sequence": kv["tokens_per_sequence"],
        "activations": est.activation_bytes,
        "logits": act["logits_bytes"],
        "overhead": est.overhead_bytes,
        "per_gpu": est.per_gpu_bytes,
        "usable": None if est.fit is None else est.fit.usable_bytes,
        "fits": None if est.fit is None else est.fit.fits,
        "reserved": est.engine_reserved_bytes,
        "kv_capacity": est.engine_kv_capacity_tokens,
        "concurrency": est.engine_max_concurrency,
        "recommended": None if est.recommendation is None else est.recommendation.count,
        "precision": est.precision,
        "kv_dtype": est.kv_dtype,
    }


def effect(
    base: EstimateOptions, config: dict[str, Any] | None = None, **change: Any
) -> tuple[set[str], dict[str, Any], dict[str, Any]]:
    """Names of the figures that differ, and both sets of figures."""
    config = config or LLAMA
    before = figures(estimate(config, base))
    after = figures(estimate(config, base.with_(**change)))
    return {k for k in before if before[k] != after[k]}, before, after


GENERIC = EstimateOptions(engine="generic", precision="bf16", context=4096)
TRANSFORMERS = GENERIC.with_(engine="transformers")
VLLM = GENERIC.with_(engine="vllm")


def test_base_figures_by_hand() -> None:
    """transformers at 4096 tokens: the generate prefill is the whole prompt, one block of
    4096 x 110,592 B, plus one last-token row of logits in bf16 and two fp32 copies."""
    est = estimate(LLAMA, TRANSFORMERS)
    assert est.params == PARAMS
    assert est.weights_bytes == 2 * PARAMS
    assert est.kv_bytes_per_token == KV_TOKEN
    assert est.kv_cache_bytes == 4096 * KV_TOKEN
    assert est.activation_bytes == 4096 * BLOCK_TOKEN + VOCAB * (2 + 4 + 4) == 454_267_392
    assert est.overhead_bytes == CONTEXT_BYTES
    assert est.per_gpu_bytes == est.total_bytes == 2 * PARAMS + 4096 * KV_TOKEN + 454_267_392 + (
        CONTEXT_BYTES
    )


def test_precision_moves_only_the_weights() -> None:
    """fp8 W8A8: block linears at 1 B, embeddings, LM head and norms at 2 B."""
    changed, _, after = effect(GENERIC, precision="fp8")
    assert changed == {"weights", "per_gpu", "precision"}
    assert after["weights"] == LINEAR * 1 + OUTER * 2 == 9_081_200_640


def test_precision_fp32_also_widens_activations_and_cache() -> None:
    """fp32 runs activations and the auto KV cache in 4 bytes."""
    changed, _, after = effect(TRANSFORMERS, precision="fp32")
    assert changed == {"weights", "kv_cache", "kv_per_token", "activations", "logits",
                       "per_gpu", "precision", "kv_dtype"}
    assert after["weights"] == 4 * PARAMS
    assert after["kv_per_token"] == 2 * KV_TOKEN
    assert after["activations"] == 4096 * BLOCK_TOKEN * 2 + VOCAB * (4 + 4 + 4)


def test_kv_dtype_moves_only_the_cache() -> None:
    """fp8 KV: 1 B per value, half of bf16's 131,072 B per token."""
    changed, _, after = effect(GENERIC, kv_dtype="fp8")
    assert changed == {"kv_cache", "kv_per_token", "per_gpu", "kv_dtype"}
    assert after["kv_per_token"] == 32 * 8 * 256 * 1 == 65_536
    assert after["kv_cache"] == 4096 * 65_536


def test_engine_transformers_keeps_two_fp32_copies_of_the_logits() -> None:
    """generic keeps the bf16 row and one fp32 copy, transformers' generate two (its
    _sample upcasts the last logits): one row of 128256 x 4 B more."""
    changed, before, after = effect(GENERIC, engine="transformers")
    assert changed == {"activations", "logits", "per_gpu"}
    assert after["activations"] - before["activations"] == VOCAB * 4


def test_engine_vllm_by_hand() -> None:
    """vLLM profiles a full 8192-token budget and 256 sampler rows, adds its RoPE cache
    (131072 x 128 x 2 B) to the weights, CUDA graphs to the overhead, and rounds to blocks."""
    changed, _, after = effect(GENERIC, engine="vllm")
    assert changed == {"weights", "activations", "logits", "overhead", "per_gpu"}
    assert after["weights"] == 2 * PARAMS + 131072 * 128 * 2
    assert after["activations"] == 8192 * BLOCK_TOKEN + 256 * VOCAB * (2 + 4 + 4)
    assert after["overhead"] == CONTEXT_BYTES + GRAPH_BYTES


def test_batch_scales_cache_and_prefill() -> None:
    """Four sequences: four caches, a 4 x 4096-token prefill and four rows of logits."""
    changed, _, after = effect(TRANSFORMERS, batch=4)
    assert changed == {"kv_cache", "activations", "logits", "per_gpu"}
    assert after["kv_cache"] == 4 * 4096 * KV_TOKEN
    assert after["activations"] == 4 * 4096 * BLOCK_TOKEN + 4 * VOCAB * 10


def test_context_scales_cache_and_prefill() -> None:
    changed, _, after = effect(TRANSFORMERS, context=8192)
    assert changed == {"kv_cache", "kv_tokens_per_sequence", "activations", "per_gpu"}
    assert after["kv_cache"] == 8192 * KV_TOKEN
    assert after["activations"] == 8192 * BLOCK_TOKEN + VOCAB * 10


def test_generated_tokens_shorten_the_prefill_not_the_cache() -> None:
    """1024 of the 4096 tokens are decoded: the prefill forward holds 3072 tokens."""
    changed, _, after = effect(TRANSFORMERS, generated_tokens=1024)
    assert changed == {"activations", "per_gpu"}
    assert after["activations"] == 3072 * BLOCK_TOKEN + VOCAB * 10


def test_flash_attention_off_materializes_the_scores() -> None:
    """Eager attention: 32 heads x 4096 x 4096 scores in bf16 plus the fp32 softmax."""
    changed, before, after = effect(TRANSFORMERS, flash_attention=False)
    assert changed == {"activations", "per_gpu"}
    assert after["activations"] - before["activations"] == 32 * 4096 * 4096 * (2 + 4)


def test_flash_attention_off_pads_llama_cpp_cells_to_32() -> None:
    """llama.cpp pads the KV cells to 256 with FA and to 32 without (get_padding), and
    without FA builds a KQ of n_ubatch 512 x n_kv x 32 heads in F32: context 4000 -> 4096
    or 4000 cells; the graph peak is max(block + KQ, logits + hidden rows in F32)."""
    base = EstimateOptions(engine="llama.cpp", precision="bf16", context=4000)
    changed, before, after = effect(base, flash_attention=False)
    assert changed == {"kv_cache", "activations", "per_gpu"}
    assert before["kv_cache"] == 4096 * KV_TOKEN and after["kv_cache"] == 4000 * KV_TOKEN
    # With FA the output branch is the peak: 512 rows x 128256 x 4 B + 512 x 4096 x 4 B.
    assert before["activations"] == 512 * VOCAB * 4 + 512 * 4096 * 4 == 271_056_896
    # Without: the block plus the F32 scores, 56,623,104 + 262,144,000 B, is larger.
    assert after["activations"] == 512 * BLOCK_TOKEN + 512 * 4000 * 32 * 4 == 318_767_104


def test_swa_full_moves_only_llama_cpp_sliding_caches() -> None:
    """Gemma-3-4B, llama.cpp, 4096 tokens, no FA: 29 sliding layers keep pad(1024 + 512, 32)
    = 1536 cells, or all 4096 with --swa-full; 4 KV heads x 256 x (K+V) x 2 B per layer."""
    gemma = load_config("google__gemma-3-4b-it")
    base = EstimateOptions(engine="llama.cpp", context=4096, flash_attention=False)
    changed, before, after = effect(base, gemma, swa_full=True)
    assert changed == {"kv_cache", "per_gpu"}
    per_layer_token = 4 * 256 * 2 * 2
    assert before["kv_cache"] == (5 * 4096 + 29 * 1536) * per_layer_token
    assert after["kv_cache"] == 34 * 4096 * per_layer_token == 544 * MIB
    # Llama has no sliding layers: nothing to widen.
    changed, _, _ = effect(base, swa_full=True)
    assert changed == set()


def test_paged_attention_rounds_each_sequence_to_blocks() -> None:
    """vLLM, 1000 tokens: 63 blocks of 16 = 1008 tokens paged, 1000 unpaged."""
    base = VLLM.with_(context=1000)
    changed, before, after = effect(base, paged_attention=False)
    assert changed == {"kv_cache", "kv_tokens_per_sequence", "per_gpu"}
    assert before["kv_cache"] == 1008 * KV_TOKEN and after["kv_cache"] == 1000 * KV_TOKEN
    changed, _, after = effect(GENERIC.with_(context=1000), paged_attention=True)
    assert changed == set()  # generic's block is one token: paging rounds nothing


def test_block_size_sets_the_rounding() -> None:
    """Blocks of 32: 1000 tokens take 32 blocks = 1024 tokens."""
    changed, _, after = effect(VLLM.with_(context=1000), block_size=32)
    assert changed == {"kv_cache", "kv_tokens_per_sequence", "per_gpu"}
    assert after["kv_cache"] == 1024 * KV_TOKEN


def test_block_size_sets_the_vllm_pool_granularity() -> None:
    """The pool is cut in whole blocks: available // (16 x 131072) x 16 tokens."""
    base = VLLM.with_(context=32768, gpu="h100-80gb")
    est = estimate(LLAMA, base)
    available = int(H100 * 0.9) - (est.total_bytes - est.kv_cache_bytes - GRAPH_BYTES)
    assert est.engine_kv_capacity_tokens == available // (16 * KV_TOKEN) * 16
    big = estimate(LLAMA, base.with_(block_size=4096))
    assert big.engine_kv_capacity_tokens == available // (4096 * KV_TOKEN) * 4096


def test_group_size_moves_only_grouped_weights() -> None:
    """INT4 with a scale per 64 weights: 4 + 16/64 = 4.25 bits per block-linear weight."""
    base = GENERIC.with_(precision="int4")
    changed, before, after = effect(base, group_size=64)
    assert changed == {"weights", "per_gpu"}
    assert before["weights"] == int(LINEAR * (4 + 16 / 128) / 8 + OUTER * 2)
    assert after["weights"] == int(LINEAR * 4.25 / 8 + OUTER * 2)
    changed, _, _ = effect(GENERIC, group_size=64)
    assert changed == set()  # bf16 has no groups


def test_layers_runs_fewer_layers() -> None:
    """16 of 32 layers: 16 x 218,112,000 + 1,050,677,248 parameters, half the KV."""
    changed, _, after = effect(TRANSFORMERS, layers=16)
    assert changed == {"params", "weights", "kv_cache", "kv_per_token", "per_gpu"}
    assert after["params"] == 16 * 218_112_000 + 1_050_677_248 == 4_540_469_248
    assert after["weights"] == 2 * 4_540_469_248
    assert after["kv_per_token"] == KV_TOKEN // 2


def test_kv_heads_override_moves_only_the_cache() -> None:
    """4 KV heads instead of 8: 32 x 4 x 256 x 2 B = 65,536 B per token."""
    changed, _, after = effect(TRANSFORMERS, kv_heads=4)
    assert changed == {"kv_cache", "kv_per_token", "per_gpu"}
    assert after["kv_per_token"] == 32 * 4 * 256 * 2 == 65_536
    assert after["kv_cache"] == 4096 * 65_536
    changed, _, after = effect(TRANSFORMERS, kv_heads=32)  # MHA: four times GQA's
    assert after["kv_per_token"] == 4 * KV_TOKEN


def test_gpu_adds_the_fit_and_changes_no_figure() -> None:
    """An H100 as CUDA reports it (79.11 GiB), 10% kept free."""
    changed, _, after = effect(GENERIC, gpu="h100-80gb")
    assert changed == {"usable", "fits", "recommended"}
    assert after["usable"] == int(H100 * 0.9)
    assert after["fits"] is True and after["recommended"] == 1


def test_gpus_split_the_model_over_tensor_parallel_ranks() -> None:
    """TP=2: weights, KV and the block halve; the logits rows stay whole on each rank."""
    changed, before, after = effect(GENERIC, gpus=2)
    assert changed == {"per_gpu"}
    logits = VOCAB * (2 + 4)
    act = before["activations"]
    assert after["per_gpu"] == int(
        2 * PARAMS / 2 + 4096 * KV_TOKEN / 2 + (act - logits) / 2 + logits + CONTEXT_BYTES
    )


def test_tensor_parallel_against_gpus() -> None:
    """Four GPUs at TP=2 (the other two idle) hold what two at TP=2 hold."""
    changed, _, four_tp2 = effect(GENERIC.with_(gpus=4), tensor_parallel=2)
    assert changed == {"per_gpu"}
    two = figures(estimate(LLAMA, GENERIC.with_(gpus=2)))
    assert four_tp2["per_gpu"] == two["per_gpu"]


def test_pipeline_parallel_splits_layers_and_keeps_the_end_stage() -> None:
    """PP=2: half the layers on each stage plus the heavier end (embedding or LM head,
    128256 x 4096 x 2 B each); KV halves; activations stay whole (no TP)."""
    changed, before, after = effect(GENERIC.with_(gpus=2), pipeline_parallel=2)
    assert changed == {"per_gpu"}
    layers = 2 * PARAMS - 2 * (2 * 128256 * 4096)
    expected = layers / 2 + 128256 * 4096 * 2 + 4096 * KV_TOKEN / 2
    expected += before["activations"] + CONTEXT_BYTES
    assert after["per_gpu"] == pytest.approx(expected, abs=1)


def test_headroom_moves_only_the_usable_memory() -> None:
    base = GENERIC.with_(gpu="h100-80gb")
    changed, _, after = effect(base, headroom=0.25)
    assert changed == {"usable"}
    assert after["usable"] == int(H100 * 0.75)
    changed, _, after = effect(base.with_(gpu="l4"), headroom=0.0)
    assert after["usable"] == round(22.05 * GIB)


def test_gpu_memory_utilization_sizes_vllm_reservation_and_pool() -> None:
    """0.8 of 79.11 GiB reserved; the pool is that minus weights, activations and context."""
    base = VLLM.with_(context=32768, gpu="h100-80gb")
    changed, before, after = effect(base, gpu_memory_utilization=0.8)
    assert changed == {"usable", "reserved", "kv_capacity", "concurrency"}
    assert after["reserved"] == after["usable"] == int(H100 * 0.8)
    held = before["weights"] + before["activations"] + CONTEXT_BYTES
    assert after["kv_capacity"] == (int(H100 * 0.8) - held) // (16 * KV_TOKEN) * 16
    assert after["concurrency"] == round(after["kv_capacity"] / 32768, 2)
    changed, _, _ = effect(GENERIC.with_(gpu="h100-80gb"), gpu_memory_utilization=0.5)
    assert changed == set()  # the generic engine reserves nothing


def test_max_num_batched_tokens_sets_vllm_profile_tokens() -> None:
    """vLLM profiles one forward of max_num_batched_tokens: 2048 x 110,592 B + 256 rows."""
    changed, _, after = effect(VLLM, max_num_batched_tokens=2048)
    assert changed == {"activations", "per_gpu"}
    assert after["activations"] == 2048 * BLOCK_TOKEN + 256 * VOCAB * 10


def test_max_num_batched_tokens_widens_vllm_sliding_caches() -> None:
    """gpt-oss-20b, vLLM: its 12 sliding layers keep window - 1 + chunk tokens (128 - 1 +
    chunk), rounded to blocks of 16; 8 KV heads x 64 x (K+V) x 2 B per layer."""
    gpt = load_config("openai__gpt-oss-20b")
    base = EstimateOptions(engine="vllm", context=32768)
    chunk_1k = estimate(gpt, base.with_(max_num_batched_tokens=1024))
    kv = next(c for c in chunk_1k.components if c.name == "kv_cache").inputs
    assert kv["sliding_tokens"] == 1152  # 127 + 1024 = 1151 -> 72 blocks
    assert chunk_1k.kv_cache_bytes == (12 * 32768 + 12 * 1152) * 8 * 64 * 2 * 2


def test_max_num_seqs_sets_vllm_sampler_rows() -> None:
    changed, before, after = effect(VLLM, max_num_seqs=16)
    assert changed == {"activations", "logits", "per_gpu"}
    assert before["logits"] == 256 * VOCAB * 10 and after["logits"] == 16 * VOCAB * 10


def test_every_option_has_an_effect_test() -> None:
    """A new EstimateOptions field needs its own test here."""
    from dataclasses import fields

    source = Path(__file__).read_text(encoding="utf-8")
    for field in fields(EstimateOptions):
        assert f"{field.name}=" in source, field.name

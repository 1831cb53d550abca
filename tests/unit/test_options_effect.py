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
GRAPH_BYTES = int(0.85 * GIB)  # vLLM V1's CUDA graphs (vllm_v1.CUDA_GRAPH_BYTES, v0.19 logs)
NON_TORCH = int(0.25 * GIB)  # vLLM V1's profile run outside torch at TP 1 (non_torch_bytes)
# vLLM's profiled peak without a GPU (`vllm serve` under 70 GiB: 2048 batched tokens, 256
# sequences; vllm_v1.serve_defaults): the sampler's 256 rows x 128256 x (2 + 13) B (v0.17+,
# sampler_bytes_per_logit) while 2048 x 4096 bf16 hidden states are alive, larger than one
# block of 2048 x 110,592 B = 226,492,416.
VLLM_PEAK = 256 * VOCAB * 15 + 2048 * 4096 * 2  # 509,280,256

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
    plan = est.parallel
    assert (plan.tensor_parallel, plan.pipeline_parallel, plan.gpus) == (1, 1, 1)
    assert plan.kv_per_gpu_bytes == 4096 * KV_TOKEN and plan.weights_per_gpu_bytes == 2 * PARAMS
    weights = next(c for c in est.components if c.name == "weights").inputs
    assert weights["bits_per_weight"] == 16.0  # 2 B per parameter


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
    """vLLM profiles its batched-token budget and sampler rows (VLLM_PEAK), adds its RoPE
    cache (131072 x 128 x 2 B) to the weights, CUDA graphs and the profile's non-torch memory
    to the overhead, and rounds to blocks (4096 is whole blocks of 16)."""
    changed, _, after = effect(GENERIC, engine="vllm")
    assert changed == {"weights", "activations", "logits", "overhead", "per_gpu"}
    assert after["weights"] == 2 * PARAMS + 131072 * 128 * 2
    assert after["activations"] == after["logits"] == VLLM_PEAK == 509_280_256
    assert after["overhead"] == CONTEXT_BYTES + GRAPH_BYTES + NON_TORCH


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
    """The pool is cut in whole blocks (kv_cache_utils.get_num_blocks): available //
    (block x 131072) x block tokens. On an H100 `vllm serve` profiles 8192 tokens and 1024
    rows: 1024 x 128256 x 15 + 8192 x 4096 x 2 = 2,037,121,024 B; the budget is 0.9 of
    79.11 GiB less that, the weights with the RoPE cache and 0.25 GiB outside torch."""
    base = VLLM.with_(context=32768, gpu="h100-80gb")
    est = estimate(LLAMA, base)
    weights = 2 * PARAMS + 131072 * 128 * 2
    available = int(H100 * 0.9) - weights - 2_037_121_024 - NON_TORCH
    assert est.engine_kv_capacity_tokens == available // (16 * KV_TOKEN) * 16 == 442_880
    assert est.engine_max_concurrency == round(442_880 // 16 / (32768 // 16), 2) == 13.52
    big = estimate(LLAMA, base.with_(block_size=4096))
    assert big.engine_kv_capacity_tokens == available // (4096 * KV_TOKEN) * 4096 == 442_368
    assert big.engine_max_concurrency == round(108 / 8, 2) == 13.5
    unpaged = estimate(LLAMA, base.with_(paged_attention=False))
    assert unpaged.engine_kv_capacity_tokens == available // KV_TOKEN


def test_group_size_moves_only_grouped_weights() -> None:
    """INT4 with a scale per 64 weights: 4 + 16/64 = 4.25 bits per block-linear weight."""
    base = GENERIC.with_(precision="int4")
    changed, before, after = effect(base, group_size=64)
    assert changed == {"weights", "per_gpu"}
    assert before["weights"] == int(LINEAR * (4 + 16 / 128) / 8 + OUTER * 2)
    assert after["weights"] == int(LINEAR * 4.25 / 8 + OUTER * 2)
    # the parts explain shows: the block linears at 4.25 bits, the rest kept in 16
    terms = next(c for c in estimate(LLAMA, base.with_(group_size=64)).components
                 if c.name == "weights").inputs["terms"]
    assert terms == [
        {"label": "block linear weights", "params": LINEAR, "bits": 4.25},
        {"label": "kept in 16 bits", "params": OUTER, "bits": 16.0},
    ]
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
    # KV heads are shared by equal groups of query heads: 5 does not divide 32.
    from estimator.errors import OptionError

    with pytest.raises(OptionError, match=r"kv_heads \(5\) must divide the attention heads \(32\)"):
        estimate(LLAMA, TRANSFORMERS.with_(kv_heads=5))


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


def test_tensor_parallel_must_divide_the_heads() -> None:
    """32 heads split over 2 or 4 ranks; 3 does not divide them (vLLM refuses: "Total number
    of attention heads (32) must be divisible by tensor parallel size (3)")."""
    for gpus in (1, 2, 4):
        est = estimate(LLAMA, GENERIC.with_(gpus=gpus))
        assert not any("does not divide" in w for w in est.warnings), gpus
    three = estimate(LLAMA, GENERIC.with_(gpus=3))
    assert "tensor parallel 3 does not divide the 32 attention heads; engines such as vLLM " \
        "refuse this" in three.warnings


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
    """0.8 of 79.11 GiB reserved; the pool is that minus weights, the profiled peak and the
    0.25 GiB the profile added outside torch. V1 budgets from the snapshot taken after the
    CUDA context and captures CUDA graphs after sizing the pool, so what fits on the GPU is
    the reservation plus both (gpu_worker.determine_available_memory)."""
    base = VLLM.with_(context=32768, gpu="h100-80gb")
    changed, before, after = effect(base, gpu_memory_utilization=0.8)
    assert changed == {"usable", "reserved", "kv_capacity", "concurrency"}
    assert after["reserved"] == int(H100 * 0.8)
    assert after["usable"] == int(H100 * 0.8) + CONTEXT_BYTES + GRAPH_BYTES
    held = 2 * PARAMS + 131072 * 128 * 2 + 2_037_121_024 + NON_TORCH
    assert before["weights"] + before["activations"] + NON_TORCH == held
    assert after["kv_capacity"] == (int(H100 * 0.8) - held) // (16 * KV_TOKEN) * 16
    assert after["concurrency"] == round(after["kv_capacity"] / 32768, 2)
    changed, _, _ = effect(GENERIC.with_(gpu="h100-80gb"), gpu_memory_utilization=0.5)
    assert changed == set()  # the generic engine reserves nothing


def test_max_num_batched_tokens_sets_vllm_profile_tokens() -> None:
    """vLLM profiles one forward of max_num_batched_tokens, then the sampler with that
    forward's hidden states alive; the peak is the larger. 4096 tokens: the sampler,
    492,503,040 + 4096 x 4096 x 2 = 526,057,472 B, above the block's 4096 x 110,592 =
    452,984,832; 8192 tokens: the block, 905,969,664 B, above 492,503,040 + 67,108,864."""
    changed, _, after = effect(VLLM, max_num_batched_tokens=4096)
    assert changed == {"activations", "logits", "per_gpu"}
    assert after["activations"] == 256 * VOCAB * 15 + 4096 * 4096 * 2 == 526_057_472
    changed, _, after = effect(VLLM, max_num_batched_tokens=8192)
    assert after["activations"] == 8192 * BLOCK_TOKEN == 905_969_664


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
    """16 rows: the sampler's 16 x 128256 x 15 B + the hidden states (32,019,584 B) fall
    below one block of 2048 tokens (226,492,416 B), which becomes the peak; 1024 rows:
    1024 x 128256 x 15 + 16,777,216 = 1,986,789,376."""
    changed, before, after = effect(VLLM, max_num_seqs=16)
    assert changed == {"activations", "logits", "per_gpu"}
    assert before["activations"] == VLLM_PEAK
    assert after["activations"] == 2048 * BLOCK_TOKEN == 226_492_416
    changed, _, after = effect(VLLM, max_num_seqs=1024)
    assert after["activations"] == 1024 * VOCAB * 15 + 2048 * 4096 * 2 == 1_986_789_376


def test_enforce_eager_drops_only_the_cuda_graphs() -> None:
    """vLLM --enforce-eager captures no CUDA graphs (GPUModelRunner.capture_model returns 0):
    the overhead and the per-GPU need lose vLLM's 0.85 GiB of graphs, and so does the share
    vLLM holds outside gpu_memory_utilization; the KV pool, sized before graph capture,
    keeps every token. SGLang (--disable-cuda-graph) and TGI (--cuda-graphs 0) lose their
    512 MiB of graphs (their pools, sized before capture, keep every token); llama.cpp and
    Ollama capture none, so the option changes nothing there."""
    base = VLLM.with_(gpu="h100-80gb")
    changed, before, after = effect(base, enforce_eager=True)
    assert changed == {"overhead", "per_gpu", "usable"}
    assert before["overhead"] == CONTEXT_BYTES + GRAPH_BYTES + NON_TORCH
    assert after["overhead"] == CONTEXT_BYTES + NON_TORCH == 805_306_368
    assert before["per_gpu"] - after["per_gpu"] == GRAPH_BYTES == 912_680_550
    assert before["usable"] - after["usable"] == GRAPH_BYTES
    for engine in ("sglang", "tgi"):
        changed, before, after = effect(base.with_(engine=engine), enforce_eager=True)
        assert changed == {"overhead", "per_gpu"}, engine
        assert before["overhead"] - after["overhead"] == 512 * MIB, engine
        assert after["overhead"] == CONTEXT_BYTES, engine
        assert before["per_gpu"] - after["per_gpu"] == 512 * MIB, engine
    for engine in ("llama.cpp", "ollama"):
        assert effect(base.with_(engine=engine), enforce_eager=True)[0] == set(), engine


def test_enforce_eager_reaches_the_launch_verdict_and_command() -> None:
    """At gpu_memory_utilization 0.99 an H100 keeps 0.79 GiB outside vLLM's budget: less than
    the CUDA context and graphs (1.36 GiB), warned about; in eager mode the context alone
    (0.51 GiB) fits, and the command carries --enforce-eager. The fix that proposes it sets
    the option itself (the page's "Eager mode" control), and each engine writes its own flag:
    SGLang --disable-cuda-graph (server_args.py), TGI --cuda-graphs 0 (launcher/src/main.rs);
    llama.cpp has none to write."""
    from estimator.estimate import prepare
    from estimator.launch import launch_verdict

    base = VLLM.with_(gpu="h100-80gb", gpu_memory_utilization=0.99)
    verdicts = {}
    for eager in (False, True):
        options = base.with_(enforce_eager=eager)
        spec, counts = prepare(LLAMA, options)
        verdicts[eager] = launch_verdict(spec, counts, options, model_id="m")
    graphs, eager = verdicts[False], verdicts[True]
    assert graphs is not None and eager is not None
    assert any("CUDA graphs (0.85 GiB)" in w for w in graphs.warnings)
    assert not any("CUDA graphs" in w for w in eager.warnings)
    assert "--enforce-eager" not in graphs.command and eager.command.endswith("--enforce-eager")
    commands = {}
    for engine in ("sglang", "tgi", "llama.cpp"):
        for on in (False, True):
            options = base.with_(engine=engine, enforce_eager=on)
            spec, counts = prepare(LLAMA, options)
            v = launch_verdict(spec, counts, options, model_id="m")
            assert v is not None and v.command is not None
            commands[engine, on] = v.command
    assert commands["sglang", True] == commands["sglang", False] + " --disable-cuda-graph"
    assert commands["tgi", True] == commands["tgi", False] + " --cuda-graphs 0"
    assert commands["llama.cpp", True] == commands["llama.cpp", False]


def test_eager_fix_sets_the_option() -> None:
    """A launch whose only problem is the CUDA graphs' room: the fix is the eager option (a
    control the page has), flagged as the engine spells it, and it re-judges as starting."""
    from estimator.breakdown import breakdown
    from estimator.estimate import prepare
    from estimator.launch import launch_verdict
    from estimator.launch_checks import Judgement, Problem, Setup
    from estimator.launch_fixes import fixes

    options = VLLM.with_(gpu="h100-80gb", gpu_memory_utilization=0.99)
    spec, counts = prepare(LLAMA, options)
    v = launch_verdict(spec, counts, options, model_id="m")
    assert v is not None and v.starts  # a warning, not a refusal: no fix offered
    est = breakdown(spec, counts, options, None)
    judged = Judgement([Problem("cuda_oom", "x")], list(v.warnings), None, None, True, [])
    seen: list[bool] = []

    def rejudge(trial: Setup) -> Any:
        seen.append(trial.options.enforce_eager)
        return launch_verdict(spec, counts, trial.options, model_id="m")

    found = [f for f in fixes(spec, counts, Setup(options, "m", None), est, judged, None,
                              rejudge) if f.change.startswith("skip CUDA graphs")]
    assert [(f.flags, f.options) for f in found] == [
        (("--enforce-eager",), (("enforce_eager", True),))
    ]
    assert True in seen


def test_every_option_has_an_effect_test() -> None:
    """A new EstimateOptions field needs its own test here."""
    from dataclasses import fields

    source = Path(__file__).read_text(encoding="utf-8")
    for field in fields(EstimateOptions):
        assert f"{field.name}=" in source, field.name


# Own hardware (issue 14): the options below move the fit, the placement over GPUs and
# system RAM, and the speed estimate; their figures join the ones above.
LLAMA_70B = load_config("meta-llama__Llama-3.1-70B-Instruct")
QWEN3_MOE = load_config("Qwen__Qwen3-30B-A3B")
LLAMA_CPP = EstimateOptions(engine="llama.cpp", precision="Q4_K_M", context=4096)
# Q4_K: 144 B per 256 values (ggml-quants block_q4_K), 4.5 bits per weight; llama.cpp keeps
# token_embd (Q4_K in a Q4_K_M file) in system RAM whatever -ngl says.
EMBED_Q4K = 128256 * 4096 * 144 // 256  # 295,501,824


def hardware(est: Estimate) -> dict[str, Any]:
    p, s = est.placement, est.speed
    return {
        **figures(est),
        "capacity": None if est.fit is None else est.fit.capacity_bytes,
        "gpu_layers": None if p is None else p.gpu_layers,
        "device_layers": None if p is None else [d.layers for d in p.devices],
        "expert_layers": None if p is None else [d.expert_layers for d in p.devices],
        "cpu_moe_layers": None if p is None else p.cpu_moe_layers,
        "ram": None if p is None or p.cpu is None else p.cpu.memory_bytes,
        "ram_weights": None if p is None or p.cpu is None else p.cpu.weights_bytes,
        "placement_fits": None if p is None else p.fits,
        "flags": None if p is None else tuple(p.flags),
        "decode": None if s is None else s.decode_tokens_per_s,
        "prefill": None if s is None else s.prefill_tokens_per_s,
    }


def hardware_effect(
    base: EstimateOptions, config: dict[str, Any] | None = None, **change: Any
) -> tuple[set[str], dict[str, Any], dict[str, Any]]:
    config = config or LLAMA
    before = hardware(estimate(config, base))
    after = hardware(estimate(config, base.with_(**change)))
    return {k for k in before if before[k] != after[k]}, before, after


def test_gpu_memory_bytes_is_a_custom_gpu() -> None:
    """A 24 GiB custom GPU: taken as what a process can allocate, 10% kept free."""
    changed, before, after = hardware_effect(GENERIC, gpu_memory_bytes=24 * GIB)
    assert {"usable", "fits", "capacity", "gpu_layers"} <= changed
    assert not changed & {"weights", "kv_cache", "activations", "overhead", "per_gpu"}
    assert before["capacity"] is None and after["capacity"] == 24 * GIB
    assert after["usable"] == int(24 * GIB * 0.9) == 23_192_823_398


def test_gpu_bandwidth_sets_the_custom_gpus_decode_roofline() -> None:
    """An uncalibrated GPU decodes at an assumed 80% of its bandwidth (speed.py's roofline):
    each token reads the bf16 weights and the 4096-token cache, 16,060,522,496 + 536,870,912
    B: 0.8 x 500 GB/s / 16,597,393,408 B = 24.1 tokens/s."""
    base = GENERIC.with_(gpu_memory_bytes=24 * GIB)
    changed, before, after = hardware_effect(base, gpu_bandwidth_gbs=500.0)
    assert changed == {"decode"}
    assert before["decode"] is None
    assert after["decode"] == round(0.8 * 500e9 / (2 * PARAMS + 4096 * KV_TOKEN), 1) == 24.1


def test_ram_bytes_lets_layers_stay_in_system_ram() -> None:
    """Llama-3.1-70B Q4_K_M on one RTX 3090: 43 of 81 layers fit; the rest need RAM, which
    only --ram makes known (without it the offload cannot be judged)."""
    base = LLAMA_CPP.with_(gpu="rtx3090")
    changed, before, after = hardware_effect(base, LLAMA_70B, ram_bytes=64 * GIB)
    assert changed == {"ram", "placement_fits"}
    assert (before["ram"], after["ram"]) == (0, 64 * GIB)
    assert (before["placement_fits"], after["placement_fits"]) == (None, True)
    assert after["gpu_layers"] == 43 and after["device_layers"] == [42]


def test_offload_none_keeps_every_layer_on_the_gpus() -> None:
    """offload="none": the same 70B no longer fits instead of spilling into RAM."""
    base = LLAMA_CPP.with_(gpu="rtx3090", ram_bytes=64 * GIB)
    changed, before, after = hardware_effect(base, LLAMA_70B, offload="none")
    assert changed == {"placement_fits"}
    assert (before["placement_fits"], after["placement_fits"]) == (True, False)
    changed, _, _ = hardware_effect(base, offload="none")
    assert changed == set()  # the 8B fits whole on the GPU: nothing to keep back


def test_n_gpu_layers_puts_the_first_layers_in_ram() -> None:
    """-ngl 20 of 33 (32 blocks + output): llama.cpp's i_gpu_start = 33 - 20 = 13, so blocks
    0-12 run on the CPU and 13-31 plus the output layer on the GPU (llama_model::
    load_tensors); token_embd stays in RAM either way (Q4_K: 295,501,824 B)."""
    base = LLAMA_CPP.with_(gpu="rtx3090", ram_bytes=64 * GIB)
    changed, before, after = hardware_effect(base, n_gpu_layers=20)
    assert changed == {"gpu_layers", "device_layers", "expert_layers", "ram_weights", "flags",
                       "decode", "prefill"}
    assert (before["gpu_layers"], after["gpu_layers"]) == (33, 20)
    assert (before["device_layers"], after["device_layers"]) == ([32], [19])
    assert before["ram_weights"] == EMBED_Q4K
    assert after["ram_weights"] > EMBED_Q4K and after["decode"] < before["decode"]
    assert after["flags"] == ("-c 4096", "-ngl 20")


def test_tensor_split_follows_llama_cpps_layer_rule() -> None:
    """Two RTX 3090s, -ts 3,1: layer il goes to the first GPU while il / 33 < 0.75 (the
    cumulative split; llama_model::load_tensors upper_bound), blocks 0-24 -> 25 and 7 on
    the second, which takes the output layer (32 / 33); equal GPUs split evenly by default:
    il / 33 < 0.5 -> 17 and 15."""
    base = LLAMA_CPP.with_(gpu="rtx3090,rtx3090")
    changed, before, after = hardware_effect(base, tensor_split="3,1")
    assert changed == {"device_layers", "expert_layers", "flags"}
    assert (before["device_layers"], after["device_layers"]) == ([17, 15], [25, 7])
    assert after["flags"] == ("-c 4096", "-ngl 33", "-ts 3,1")


def test_n_cpu_moe_keeps_the_first_layers_experts_in_ram() -> None:
    """Qwen3-30B-A3B, --n-cpu-moe 10: the routed experts of layers 0-9 (128 x 3 x 2048 x 768
    weights each) move to RAM; attention and the rest of those layers stay on the GPU."""
    base = LLAMA_CPP.with_(gpu="rtx3090", ram_bytes=64 * GIB)
    changed, before, after = hardware_effect(base, QWEN3_MOE, n_cpu_moe=10)
    assert changed == {"cpu_moe_layers", "expert_layers", "ram_weights", "flags", "decode",
                       "prefill"}
    assert (before["cpu_moe_layers"], after["cpu_moe_layers"]) == (0, 10)
    assert (before["expert_layers"], after["expert_layers"]) == ([48], [38])
    assert before["device_layers"] == after["device_layers"] == [48]
    assert before["ram_weights"] == 151936 * 2048 * 144 // 256  # token_embd, Q4_K
    experts = after["ram_weights"] - before["ram_weights"]
    # 10 layers of gate+up in Q4_K and down in Q4_K or Q6_K (210 B per 256)
    per_matrix = 128 * 2048 * 768
    assert 10 * per_matrix * 3 * 144 // 256 <= experts <= 10 * per_matrix * (2 * 144 + 210) // 256
    assert after["decode"] < before["decode"]


def test_ram_bandwidth_moves_only_the_offloaded_decode() -> None:
    """With 13 blocks in RAM the decode step streams them at the RAM's bandwidth."""
    base = LLAMA_CPP.with_(gpu="rtx3060", ram_bytes=64 * GIB, n_gpu_layers=20)
    changed, before, after = hardware_effect(base, ram_bandwidth_gbs=50.0)
    assert changed == {"decode"}
    assert after["decode"] < before["decode"]
    est = estimate(LLAMA, base.with_(ram_bandwidth_gbs=50.0))
    assert est.speed is not None and any("50 GB/s" in n for n in est.speed.notes)
    changed, _, _ = hardware_effect(base.with_(n_gpu_layers=None), ram_bandwidth_gbs=50.0)
    assert changed == set()  # all on the GPU: the RAM is never read


def test_wired_limit_replaces_metals_working_set_cap() -> None:
    """An M2 Max with 32 GB: Metal lets the GPU keep 2/3 of the RAM (ggml_metal_init's
    recommendedMaxWorkingSetSize, 21845.33 MiB); iogpu.wired_limit_mb=28672 makes it 28 GiB.
    Usable is that less the 10% headroom."""
    base = LLAMA_CPP.with_(gpu="m2-max-32gb")
    changed, before, after = hardware_effect(base, wired_limit_mb=28672)
    assert "usable" in changed and not changed & {"weights", "kv_cache", "per_gpu", "capacity"}
    page = 16 * 1024
    share = -(-32 * GIB * 2 // 3)  # two thirds, rounded up
    metal = -(-share // page) * page  # to a 16 KiB page
    assert before["usable"] == int(metal * 0.9)
    assert after["usable"] == int(28672 * MIB * 0.9) == 27_058_293_964


def test_backend_picks_its_fitted_efficiencies() -> None:
    """The llama.cpp backend changes the speed estimate only (its own fitted efficiencies)."""
    base = LLAMA_CPP.with_(gpu="rtx3090")
    changed, _, _ = hardware_effect(base, backend="vulkan")
    assert changed == {"decode", "prefill"}
    est = estimate(LLAMA, base.with_(backend="vulkan"))
    assert est.speed is not None and est.speed.efficiency_source.startswith("llama.cpp vulkan")
    cuda = estimate(LLAMA, base)
    assert cuda.speed is not None and cuda.speed.efficiency_source.startswith("llama.cpp cuda")

"""Weights from metadata and precision rules, warnings, and the per-GPU plan, by hand.

Llama-3.1-8B's arithmetic is in test_options_effect.py (8,030,261,248 parameters, of which
1,050,939,392 in embeddings, LM head and norms).
"""

from __future__ import annotations

from estimator import EstimateOptions, WeightMetadata, estimate
from tests.conftest import load_config

LLAMA = load_config("meta-llama__Llama-3.1-8B")
PARAMS = 8_030_261_248
OUTER = 2 * 128256 * 4096 + 32 * 2 * 4096 + 4096
LINEAR = PARAMS - OUTER


def _weights(est):  # type: ignore[no-untyped-def]
    return next(c for c in est.components if c.name == "weights").inputs


def test_stored_bytes_per_safetensors_dtype() -> None:
    """The Hub's dtype -> element counts, 1000 of each: 8 B for F64/I64/U64, 4 for
    F32/I32/U32, 2 for F16/BF16/I16/U16, 1 for the F8 kinds, I8, U8, BOOL, 0.5 for F4 and
    0.75 for the F6 kinds: 1000 x 50 + 500 + 2 x 750 = 52,000 B (safetensors' dtype list)."""
    dtypes = ["F64", "I64", "U64", "F32", "I32", "U32", "F16", "BF16", "I16", "U16",
              "F8_E4M3", "F8_E5M2", "F8_E8M0", "I8", "U8", "BOOL", "F4", "F6_E2M3", "F6_E3M2"]
    meta = WeightMetadata(safetensors_parameters=dict.fromkeys(dtypes, 1000))
    est = estimate(LLAMA, EstimateOptions(), meta)
    assert est.weights_bytes == 52_000
    assert _weights(est)["source"] == "safetensors-metadata"
    # Packed integer dtypes: the count is of stored elements, so parameters come from the config.
    assert est.params == PARAMS and est.model.param_source == "config-arithmetic"
    assert any("packed quantized checkpoint" in w for w in est.warnings)


def test_unknown_dtype_falls_back_to_arithmetic() -> None:
    meta = WeightMetadata(safetensors_parameters={"BF16": PARAMS, "Q3_WEIRD": 5})
    est = estimate(LLAMA, EstimateOptions(), meta)
    assert _weights(est)["source"] == "config-arithmetic"
    assert est.weights_bytes == 2 * (PARAMS + 5)  # the Hub's count, at bf16


def test_metadata_parameters_replace_the_arithmetic_and_say_so() -> None:
    """A float checkpoint's own count is trusted (3% more here: a note names the gap)."""
    stored = PARAMS * 103 // 100
    meta = WeightMetadata(safetensors_parameters={"BF16": stored})
    est = estimate(LLAMA, EstimateOptions(precision="fp32"), meta)
    assert est.params == stored and est.model.param_source == "safetensors-metadata"
    assert est.weights_bytes == 4 * stored  # fp32 stores every counted parameter
    assert any(f"stores {stored:,} parameters" in w for w in est.warnings)
    close = estimate(LLAMA, EstimateOptions(), WeightMetadata(safetensors_parameters={
        "BF16": PARAMS + 1000}))
    assert not any("parameters, the config implies" in w for w in close.warnings)


def test_auto_precision_follows_the_checkpoint_dtype() -> None:
    """vLLM's dtype=auto: bf16 stays bf16, fp16 and fp32 checkpoints run as fp16, none: bf16."""
    expected = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp16", None: "bf16"}
    for dtype, key in expected.items():
        cfg = {k: v for k, v in LLAMA.items() if k != "torch_dtype"}
        if dtype:
            cfg["torch_dtype"] = dtype
        est = estimate(cfg)
        assert est.precision == key, dtype
        assert est.weights_bytes == 2 * PARAMS, dtype


def test_mxfp4_quantizes_experts_on_moe_and_every_linear_on_dense_models() -> None:
    """MXFP4 (4.25 bits): gpt-oss keeps attention in bf16 and quantizes experts only; a dense
    model quantizes its block linears. INT4 on an MoE quantizes attention and experts alike."""
    dense = estimate(LLAMA, EstimateOptions(precision="mxfp4"))
    assert dense.weights_bytes == int(LINEAR * 4.25 / 8 + OUTER * 2)
    qwen = load_config("Qwen__Qwen3-30B-A3B")
    # 48 layers: q, o 2048 x 4096 and k, v 2048 x 512 = 18,874,368; 128 experts x 3 x 2048 x 768
    # = 603,979,776. The rest (embeddings, LM head, norms, routers) stays 16-bit.
    attention, experts, total = 48 * 18_874_368, 48 * 603_979_776, 30_532_122_624
    int4 = estimate(qwen, EstimateOptions(precision="int4"))
    assert int4.weights_bytes == int((attention + experts) * 4.125 / 8
                                     + (total - attention - experts) * 2)
    mxfp4 = estimate(qwen, EstimateOptions(precision="mxfp4"))
    assert mxfp4.weights_bytes == int(experts * 4.25 / 8 + (total - experts) * 2)


def test_kv_type_warnings_name_the_engine_that_has_it() -> None:
    fp8_cpp = estimate(LLAMA, EstimateOptions(engine="llama.cpp", kv_dtype="fp8"))
    assert any("llama.cpp has no fp8 KV cache" in w for w in fp8_cpp.warnings)
    q8_vllm = estimate(LLAMA, EstimateOptions(engine="vllm", kv_dtype="q8_0"))
    assert any("q8_0 exists only in llama.cpp" in w for w in q8_vllm.warnings)
    for engine, kv in (("vllm", "fp8"), ("llama.cpp", "q8_0"), ("llama.cpp", "fp16")):
        est = estimate(LLAMA, EstimateOptions(engine=engine, kv_dtype=kv))
        assert not any("KV cache" in w for w in est.warnings), (engine, kv)


def test_input_embeddings_on_the_cpu_only_for_llama_cpp() -> None:
    """llama.cpp keeps token_embd in host memory: 128256 x 4096 values at the file's type
    (F32 4 B, F16 2 B); other engines keep everything on the GPU."""
    for precision, width in (("fp32", 4), ("bf16", 2)):
        est = estimate(LLAMA, EstimateOptions(engine="llama.cpp", precision=precision))
        assert _weights(est)["cpu_bytes"] == 128256 * 4096 * width
        assert est.weights_bytes == PARAMS * width - 128256 * 4096 * width
    vllm = estimate(LLAMA, EstimateOptions(engine="vllm", precision="bf16"))
    assert _weights(vllm)["cpu_bytes"] == 0


def test_generating_the_whole_context_prefills_one_token() -> None:
    est = estimate(LLAMA, EstimateOptions(engine="transformers", context=100,
                                          generated_tokens=100))
    act = next(c for c in est.components if c.name == "activations").inputs
    assert act["tokens"] == 1


def test_max_num_seqs_warning_only_above_it() -> None:
    at = estimate(LLAMA, EstimateOptions(engine="vllm", batch=16, max_num_seqs=16))
    assert not any("schedules at most" in w for w in at.warnings)
    above = estimate(LLAMA, EstimateOptions(engine="vllm", batch=17, max_num_seqs=16))
    assert any("the other 1 requests wait" in w for w in above.warnings)


def test_hybrid_state_is_split_by_tensor_parallel() -> None:
    """Qwen3.5-9B at TP=2: each rank holds half the attention KV (4 KV heads / 2) and half of
    the DeltaNet state (value heads split)."""
    cfg = load_config("Qwen__Qwen3.5-9B")
    est = estimate(cfg, EstimateOptions(engine="transformers", context=1000, gpus=2))
    kv = next(c for c in est.components if c.name == "kv_cache").inputs
    attention = est.kv_cache_bytes - kv["state_bytes"]
    assert kv["state_bytes"] == 24 * 2_162_688
    assert est.parallel.kv_per_gpu_bytes == int(attention / 2 + kv["state_bytes"] / 2)


def test_concurrency_of_sliding_models_does_not_depend_on_the_batch() -> None:
    """gpt-oss on vLLM: how many requests the pool holds is a property of one request."""
    cfg = load_config("openai__gpt-oss-20b")
    one = estimate(cfg, EstimateOptions(engine="vllm", context=32768, gpu="h100-80gb"))
    four = estimate(cfg, EstimateOptions(engine="vllm", context=32768, gpu="h100-80gb", batch=4))
    assert one.engine_max_concurrency is not None and four.engine_max_concurrency is not None
    per_request = one.kv_cache_bytes
    assert abs(four.engine_max_concurrency - one.engine_max_concurrency) < 0.5 * (
        4 * 8192 * 201088 * 10 / per_request)  # only the profiled logits rows differ


def test_summary_of_dense_and_moe_models() -> None:
    dense = estimate(LLAMA).model
    assert (dense.experts, dense.experts_per_token) == (0, 0)
    moe = estimate(load_config("Qwen__Qwen3-30B-A3B")).model
    assert (moe.experts, moe.experts_per_token) == (128, 8)


def test_replicated_kv_heads_with_pipeline_stages() -> None:
    """TP 16 over Llama-3.1-8B's 8 KV heads: each rank holds one whole KV head of its stage's
    layers (vLLM replicates KV heads below TP); PP 2 halves the layers: KV / 2 / 8 per GPU."""
    est = estimate(LLAMA, EstimateOptions(context=4096, gpus=32, tensor_parallel=16,
                                          pipeline_parallel=2))
    assert est.parallel.kv_per_gpu_bytes == 4096 * 131072 // 2 // 8
    assert any("KV heads are replicated" in n for n in est.parallel.notes)


def test_no_refusal_when_one_request_fits() -> None:
    """vLLM refuses to start below one request of max_model_len; 1.x requests is fine.

    Llama-3.1-8B on an L4 (22.05 GiB as CUDA reports it): the budget 0.9 x 23,676,007,219 =
    21,308,406,497 B less the weights with the RoPE cache (16,094,076,928), the profiled
    sampler peak (`vllm serve` under 70 GiB: 256 rows x 128256 x 15 B + 2048 x 4096 x 2 B =
    509,280,256) and 0.25 GiB outside torch leaves 4,436,613,857 B: 2115 blocks of 16 tokens
    x 131,072 B. A 24576-token request needs 1536 blocks: 2115 / 1536 = 1.38 requests; a
    40960-token one 2560 blocks: 0.83, and vLLM refuses to start."""
    est = estimate(LLAMA, EstimateOptions(engine="vllm", context=24576, gpu="l4"))
    assert est.engine_kv_capacity_tokens == 2115 * 16
    assert est.engine_max_concurrency == round(2115 / 1536, 2) == 1.38
    assert not any("refuse to start" in w for w in est.warnings)
    refused = estimate(LLAMA, EstimateOptions(engine="vllm", context=40960, gpu="l4"))
    assert refused.engine_max_concurrency == round(2115 / 2560, 2) == 0.83
    assert any("refuse to start" in w for w in refused.warnings)


def test_a_pool_below_nothing_holds_no_request() -> None:
    """gpt-oss-120b on SGLang on one L4: the weights alone exceed the reservation, so the pool
    holds 0 requests (never a negative count) and SGLang would refuse to start."""
    est = estimate(load_config("openai__gpt-oss-120b"),
                   EstimateOptions(engine="sglang", gpu="l4", context=8192))
    assert est.engine_max_concurrency == 0.0
    assert any("SGLang would refuse to start" in w for w in est.warnings)

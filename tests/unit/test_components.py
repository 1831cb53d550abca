"""Each component and engine rule against numbers worked out by hand.

The arithmetic in each docstring is the check: if a rule changes, the test says
which published behaviour it no longer matches.
"""

from __future__ import annotations

from typing import Any

import pytest

from estimator import (
    ConfigError,
    EstimateOptions,
    MissingConfigKeyError,
    OptionError,
    UnsupportedModelError,
    estimate,
)
from tests.conftest import load_config

GIB = 1024**3


def _kv(est):  # type: ignore[no-untyped-def]
    return next(c for c in est.components if c.name == "kv_cache")


def test_llama31_8b_kv_cache_is_128_kib_per_token() -> None:
    """32 layers x 8 KV heads x 128 dims x (K+V) x 2 bytes = 131072 B per token."""
    cfg = load_config("meta-llama__Llama-3.1-8B")
    est = estimate(cfg, EstimateOptions(context=8192, batch=4, kv_dtype="bf16"))
    assert est.kv_bytes_per_token == 32 * 8 * 128 * 2 * 2
    assert est.kv_cache_bytes == 131072 * 8192 * 4  # 4 GiB
    assert est.model.attention == "GQA" and est.model.num_kv_heads == 8


def test_kv_dtype_scales_the_cache() -> None:
    """fp8 halves the bf16 cache; llama.cpp q8_0 stores 34 bytes per 32 values."""
    cfg = load_config("meta-llama__Llama-3.1-8B")
    bf16 = estimate(cfg, EstimateOptions(context=4096)).kv_cache_bytes
    fp8 = estimate(cfg, EstimateOptions(context=4096, kv_dtype="fp8")).kv_cache_bytes
    q8 = estimate(cfg, EstimateOptions(context=4096, kv_dtype="q8_0", engine="llama.cpp"))
    assert fp8 * 2 == bf16
    assert q8.kv_cache_bytes == 32 * 2048 * 4096 * 34 // 32  # 2048 K+V values per layer


def test_weights_at_bf16_are_two_bytes_per_parameter() -> None:
    cfg = load_config("meta-llama__Llama-3.1-8B")
    est = estimate(cfg, EstimateOptions(precision="bf16"))
    assert est.params == 8_030_261_248
    assert est.weights_bytes == 2 * 8_030_261_248


def test_int4_quantizes_only_the_block_linears() -> None:
    """INT4 g128: 4.125 bits for block linears; embeddings and lm_head stay 16-bit.

    Llama-3.1-8B: embed + lm_head = 2 x 128256 x 4096 = 1,050,673,152 params at 2 B;
    norms 32 x 2 x 4096 + 4096 = 266,240 params at 2 B; the rest at 4.125/8 B.
    """
    cfg = load_config("meta-llama__Llama-3.1-8B")
    est = estimate(cfg, EstimateOptions(precision="int4"))
    outer = 2 * 128256 * 4096 + 32 * 2 * 4096 + 4096
    linear = 8_030_261_248 - outer
    assert est.weights_bytes == int(linear * 4.125 / 8 + outer * 2)


def test_vllm_adds_the_rope_cache_to_weights() -> None:
    """vLLM's cos_sin_cache: 131072 positions x 128 dims x 2 B = 32 MiB, in 'weights took'."""
    cfg = load_config("meta-llama__Llama-3.1-8B")
    plain = estimate(cfg, EstimateOptions(engine="transformers")).weights_bytes
    vllm = estimate(cfg, EstimateOptions(engine="vllm")).weights_bytes
    assert vllm - plain == 131072 * 128 * 2
    assert round(vllm / GIB, 4) == 14.9888  # "Loading model weights took 14.9888 GB"


def test_vllm_rounds_each_sequence_up_to_whole_blocks() -> None:
    cfg = load_config("meta-llama__Llama-3.1-8B")
    est = estimate(cfg, EstimateOptions(engine="vllm", context=1000, batch=3))
    assert _kv(est).inputs["tokens_per_sequence"] == 1008  # 63 blocks of 16
    assert est.kv_cache_bytes == 3 * 1008 * 131072


def test_mla_caches_the_latent_not_per_head_kv() -> None:
    """DeepSeek-V3: (512 + 64) values x 61 layers x 2 B = 70,272 B per token."""
    cfg = load_config("deepseek-ai__DeepSeek-V3")
    est = estimate(cfg, EstimateOptions(engine="vllm", precision="bf16", kv_dtype="bf16"))
    assert est.model.attention == "MLA"
    assert est.kv_bytes_per_token == 576 * 61 * 2


def test_sliding_window_layers_stop_growing() -> None:
    """gpt-oss-120b: 18 of 36 layers slide over 128 tokens; transformers keeps 127."""
    cfg = load_config("openai__gpt-oss-120b")
    per_layer = 8 * 64 * 2 * 2  # 8 KV heads x 64 dims x K,V x 2 B
    est = estimate(cfg, EstimateOptions(engine="transformers", context=100_000))
    assert est.model.sliding_layers == 18 and est.model.sliding_window == 128
    assert est.kv_cache_bytes == 18 * per_layer * 100_000 + 18 * per_layer * 127


def test_hybrid_linear_attention_holds_a_fixed_state() -> None:
    """Qwen3.5-9B: 8 full-attention layers grow; 24 DeltaNet layers hold 2,162,688 B each."""
    cfg = load_config("Qwen__Qwen3.5-9B")
    short = estimate(cfg, EstimateOptions(engine="transformers", context=1000))
    long = estimate(cfg, EstimateOptions(engine="transformers", context=2000))
    assert _kv(short).inputs["state_bytes"] == 24 * 2_162_688
    assert long.kv_cache_bytes - short.kv_cache_bytes == 1000 * 8 * 4096


def test_moe_needs_all_experts_but_activates_few() -> None:
    """Qwen3-30B-A3B: 128 experts, 8 active -> about 3.3B active of 30.5B."""
    cfg = load_config("Qwen__Qwen3-30B-A3B")
    est = estimate(cfg, EstimateOptions(precision="bf16"))
    assert est.params == 30_532_122_624
    assert 3.0e9 < est.model.active_params < 3.5e9
    assert est.weights_bytes == 2 * est.params


def test_pre_quantized_checkpoint_is_detected() -> None:
    cfg = load_config("openai__gpt-oss-120b")
    est = estimate(cfg)
    assert est.precision == "mxfp4"
    assert est.model.pre_quantization == "MXFP4"
    # Experts at 4.25 bits, everything else 16-bit: about 61 GiB (vLLM loads 65.97 GiB
    # with its padding; see the validation set).
    assert 58 * GIB < est.weights_bytes < 66 * GIB


def test_eager_attention_materializes_scores() -> None:
    """Eager: batch x heads x q x kv x (2 B + 4 B fp32 softmax) on top of the block peak."""
    cfg = load_config("meta-llama__Llama-3.1-8B")
    flash = estimate(cfg, EstimateOptions(engine="transformers", context=4096))
    eager = estimate(
        cfg, EstimateOptions(engine="transformers", context=4096, flash_attention=False)
    )
    assert eager.activation_bytes - flash.activation_bytes == 32 * 4096 * 4096 * 6


def test_tensor_parallel_splits_weights_and_kv() -> None:
    cfg = load_config("meta-llama__Llama-3.1-70B-Instruct")
    one = estimate(cfg, EstimateOptions(context=8192))
    four = estimate(cfg, EstimateOptions(context=8192, gpus=4))
    assert four.parallel.tensor_parallel == 4
    assert four.per_gpu_bytes < one.per_gpu_bytes / 3
    assert four.total_bytes == one.total_bytes


def test_recommendation_finds_the_smallest_fitting_count() -> None:
    cfg = load_config("meta-llama__Llama-3.1-70B-Instruct")
    est = estimate(cfg, EstimateOptions(context=8192, gpu="h100-80gb", precision="bf16"))
    assert est.fit is not None and not est.fit.fits  # 131 GiB of weights
    assert est.recommendation is not None
    assert est.recommendation.count == 2 and est.recommendation.tensor_parallel == 2


def test_layers_option_runs_fewer_layers() -> None:
    cfg = load_config("meta-llama__Llama-3.1-8B")
    full = estimate(cfg, EstimateOptions())
    half = estimate(cfg, EstimateOptions(layers=16))
    assert half.kv_bytes_per_token * 2 == full.kv_bytes_per_token
    with pytest.raises(OptionError, match="more than the model has"):
        estimate(cfg, EstimateOptions(layers=33))


def test_context_beyond_the_limit_warns() -> None:
    cfg = load_config("meta-llama__Llama-3.1-8B")
    est = estimate(cfg, EstimateOptions(context=1_000_000))
    assert any("beyond the model's trained limit" in w for w in est.warnings)


def test_unknown_model_type_uses_generic_path_with_warning() -> None:
    cfg = dict(load_config("meta-llama__Llama-3.1-8B"), model_type="brand_new_arch")
    est = estimate(cfg)
    assert est.params == 8_030_261_248
    assert any("unknown model_type 'brand_new_arch'" in w for w in est.warnings)


def test_missing_key_names_the_key() -> None:
    cfg = dict(load_config("meta-llama__Llama-3.1-8B"))
    del cfg["num_attention_heads"]
    with pytest.raises(MissingConfigKeyError, match="num_attention_heads"):
        estimate(cfg)


def test_bad_values_give_config_errors() -> None:
    cfg = dict(load_config("meta-llama__Llama-3.1-8B"), hidden_size="big")
    with pytest.raises(ConfigError, match="hidden_size"):
        estimate(cfg)
    with pytest.raises(UnsupportedModelError, match="encoder-only"):
        estimate({"model_type": "bert", "hidden_size": 768})


@pytest.mark.parametrize(
    "bad",
    [
        {"batch": 0},
        {"context": 0},
        {"engine": "nope"},
        {"kv_dtype": "int3"},
        {"gpus": 2, "tensor_parallel": 4},
        {"headroom": 1.5},
    ],
)
def test_bad_options_raise_option_error(bad: dict[str, object]) -> None:
    with pytest.raises(OptionError):
        EstimateOptions(**bad)  # type: ignore[arg-type]


def test_unknown_precision_is_named() -> None:
    with pytest.raises(OptionError, match="unknown precision 'fp3'"):
        estimate(load_config("meta-llama__Llama-3.1-8B"), EstimateOptions(precision="fp3"))


def test_json_shape_has_integer_bytes() -> None:
    data = estimate(load_config("Qwen__Qwen3-8B"), EstimateOptions(gpu="l4")).to_dict()
    for key in (
        "weights_bytes",
        "kv_cache_bytes",
        "kv_bytes_per_token",
        "activation_bytes",
        "overhead_bytes",
        "total_bytes",
        "per_gpu_bytes",
    ):
        assert isinstance(data[key], int), key
    assert data["total_bytes"] == (
        data["weights_bytes"]
        + data["kv_cache_bytes"]
        + data["activation_bytes"]
        + data["overhead_bytes"]
    )
    assert data["param_source"] == "config-arithmetic"
    assert isinstance(data["fits"], bool)


def test_vllm_kv_pool_is_what_the_reservation_leaves() -> None:
    """V1: KV pool = 0.9 x capacity - (weights + profiled peak + the non-torch memory the
    profile added: 0.25 GiB at TP 1), in blocks of 16; the CUDA context and CUDA graphs lie
    outside the budget (gpu_worker.determine_available_memory). The H100's capacity is what
    CUDA reports (79.11 GiB), not nvidia-smi's 81559 MiB."""
    cfg = load_config("meta-llama__Llama-3.1-8B")
    est = estimate(cfg, EstimateOptions(engine="vllm", context=32768, gpu="h100-80gb"))
    assert est.engine_reserved_bytes == int(round(79.11 * 1024**3) * 0.9)
    non_torch = est.components[-1].inputs["non_torch_bytes"]
    assert non_torch == int(0.25 * 1024**3)
    free = est.engine_reserved_bytes - est.weights_bytes - est.activation_bytes - non_torch
    blocks = free // (131072 * 16)
    assert est.engine_kv_capacity_tokens == blocks * 16
    assert est.engine_max_concurrency == round(blocks / (32768 // 16), 2)
    two = estimate(cfg, EstimateOptions(engine="vllm", context=32768, gpu="h100-80gb", gpus=2))
    assert two.components[-1].inputs["non_torch_bytes"] == int(2.07 * 1024**3)  # NCCL buffers
    assert two.engine_kv_capacity_tokens > 2 * est.engine_kv_capacity_tokens  # half the KV heads


def test_vllm_non_torch_memory_at_tp2_follows_the_interconnect() -> None:
    """vllm_v1.non_torch_bytes: 2.07 GiB per GPU at TP 2 on NVLink machines (H100 v0.19),
    0.30 GiB on GPUs without NVLink (two L40S, vllm#15815); TP 1 is 0.25 GiB either way.
    Without NVLink: every Ada GPU (L40S, RTX 4090), laptops, GeForce cards without the bridge
    connector (RTX 3080) and the T4 (its datasheet); SXM parts, bridge-capable cards (RTX
    3090) and custom GPUs keep the NVLink figure. Qwen2.5-32B at TP 2 on two L40S (44.42 GiB):
    the pool is 0.9 x 44.42 GiB - weights - peak - 0.30 GiB, 1.77 GiB more than with 2.07."""
    cfg = load_config("Qwen__Qwen2.5-32B-Instruct")
    gib = 1024**3

    def non_torch(gpu: str, **options: Any) -> int:
        est = estimate(cfg, EstimateOptions(engine="vllm", gpu=gpu, context=10000, **options))
        return int(est.components[-1].inputs["non_torch_bytes"])

    for gpu in ("l40s", "rtx4090", "rtx3080", "t4", "rtx4090-laptop"):
        assert non_torch(gpu, gpus=2) == int(0.30 * gib), gpu
        assert non_torch(gpu) == int(0.25 * gib), gpu
    for gpu in ("h100-80gb", "a100-80gb", "rtx3090"):
        assert non_torch(gpu, gpus=2) == int(2.07 * gib), gpu
    assert non_torch("custom", gpus=2, gpu_memory_bytes=48 * gib) == int(2.07 * gib)
    assert non_torch("l40s,h100-80gb") == int(0.30 * gib)  # a PCIe card in the group
    est = estimate(cfg, EstimateOptions(engine="vllm", gpu="l40s", gpus=2, context=10000))
    plan = est.parallel
    assert est.engine_reserved_bytes == int(round(44.42 * gib) * 0.9)
    free = (est.engine_reserved_bytes - plan.weights_per_gpu_bytes
            - plan.activations_per_gpu_bytes - int(0.30 * gib))
    page = 16 * (8 // 2) * (128 + 128) * 2  # 16 tokens x 4 KV heads per rank x (K+V) x bf16
    assert est.engine_kv_capacity_tokens == free // page // 64 * 16  # 64 layers, one group


def test_gptq_checkpoints_of_any_width_and_group() -> None:
    """GPTQ: bits + (fp16 scale + packed zero) per group; group -1 is one group per row."""
    cfg = load_config("TheBloke__Llama-2-13B-chat-GPTQ")  # 4-bit, group 128
    est = estimate(cfg)
    assert est.precision == "gptq-int4" and est.model.pre_quantization == "GPTQ 4-bit"
    assert 6.7 * GIB < est.weights_bytes < 6.8 * GIB  # the Hub file: 7.26 GB
    genz = estimate(load_config("TheBloke__Genz-70b-GPTQ"))  # 3-bit, no grouping
    assert genz.precision == "gptq-int3"
    linear = genz.model.params - 2 * 32000 * 8192 - (80 * 2 + 1) * 8192
    kept = genz.model.params - linear
    assert genz.weights_bytes == int(linear * (3 + 19 / 8192) / 8 + kept * 2)


def test_llama_cpp_keeps_input_embeddings_on_the_cpu() -> None:
    """Llama-2-7B Q4_K_M: CUDA0 buffer 3820.94 MiB + CPU buffer 70.31 MiB (token_embd at Q4_K)."""
    cfg = load_config("meta-llama__Llama-2-7b-hf")
    est = estimate(cfg, EstimateOptions(engine="llama.cpp", precision="Q4_K_M", context=2048))
    weights = est.components[0]
    assert weights.inputs["cpu_bytes"] == 32000 * 4096 * 144 // 256  # 70.31 MiB
    assert round(est.weights_bytes / 1024**2) == 3821
    tied = estimate(
        load_config("meta-llama__Llama-3.2-1B-Instruct"),
        EstimateOptions(engine="llama.cpp", precision="Q4_K_M"),
    )
    plain = estimate(
        load_config("meta-llama__Llama-3.2-1B-Instruct"),
        EstimateOptions(engine="generic", precision="Q4_K_M"),
    )
    assert tied.weights_bytes == plain.weights_bytes  # the tied output stays on the GPU


def test_vllm_start_up_check_for_one_full_request() -> None:
    """vLLM refuses to start when one max_model_len request does not fit its KV pool."""
    cfg = load_config("meta-llama__Llama-3.1-8B")
    tight = estimate(cfg, EstimateOptions(engine="vllm", context=131072, gpu="l4"))
    assert tight.engine_kv_capacity_tokens is not None
    assert tight.engine_kv_capacity_tokens < 131072
    assert any("would refuse to start" in w for w in tight.warnings)
    roomy = estimate(cfg, EstimateOptions(engine="vllm", context=8192, gpu="h100-80gb"))
    assert not any("refuse" in w for w in roomy.warnings)


def test_engine_concurrency_for_sliding_window_models() -> None:
    """gpt-oss-120b: 18 sliding (window 128) and 18 full layers make two KV groups of 18
    (kv_cache_utils._get_kv_cache_groups_uniform_page_size); a request of 32768 tokens takes
    2048 full blocks + cdiv(127 + 8192, 16) + 1 = 521 sliding ones (8192 batched tokens:
    the H100's `vllm serve` default), pages of 16 x 8 heads x 128 x 2 B."""
    cfg = load_config("openai__gpt-oss-120b")
    est = estimate(cfg, EstimateOptions(engine="vllm", context=32768, gpu="h100-80gb"))
    non_torch = est.components[-1].inputs["non_torch_bytes"]
    free = est.engine_reserved_bytes - est.weights_bytes - est.activation_bytes - non_torch
    blocks = free // (16 * 8 * 128 * 2) // 18
    assert est.engine_kv_capacity_tokens == blocks // 2 * 16
    assert est.engine_max_concurrency == round(blocks / (2048 + 521), 2)
    assert est.engine_max_concurrency > 1


def _weights_inputs(est):  # type: ignore[no-untyped-def]
    return next(c for c in est.components if c.name == "weights").inputs


def test_vllm_pads_mxfp4_experts_to_the_marlin_layout() -> None:
    """gpt-oss-120b (36 MoE layers, 128 experts, hidden = intermediate = 2880), vLLM's
    Mxfp4MoEMethod.create_weights with Marlin: intermediate -> 2944 (x128), hidden -> 3072
    (x256). Per layer, padded: w13 128x5888x1536 + scales 128x5888x96 + w2 128x3072x1472
    + scales 128x3072x92 + bf16 biases 128x(5888+3072)x2 = 1,847,263,232 B; stored:
    1,694,269,440 B; x 36 layers = 5,507,776,512 B more (the H100 log's 65.9651 GiB)."""
    cfg = load_config("openai__gpt-oss-120b")
    vllm = estimate(cfg, EstimateOptions(engine="vllm", context=4096))
    assert _weights_inputs(vllm)["layout_padding_bytes"] == 5_507_776_512
    generic = estimate(cfg, EstimateOptions(engine="generic", context=4096))
    assert _weights_inputs(generic)["layout_padding_bytes"] == 0
    # The H100 log (vllm-project/vllm#23278): "Model loading took 65.9651 GiB".
    assert abs(vllm.weights_bytes / GIB - 65.9651) / 65.9651 < 0.002


def test_mxfp4_padding_follows_the_gpu_and_tensor_parallel_split() -> None:
    """B200 (FlashInfer): both dims to 256 -> 3072 x 3072: per layer w13 128x6144x(1536+96),
    w2 128x3072x(1536+96), biases 128x9216x2 = 1,927,544,832 B, +233,275,392 over stored.
    TP=2 with Marlin: each rank pads 1440 to 1536, hidden 3072: per rank w13 128x3072x(1536
    +96), w2 128x3072x(768+48), biases 128x(3072+3072)x2 -> 2 ranks = 1,928,331,264 B."""
    cfg = load_config("openai__gpt-oss-120b")
    b200 = estimate(cfg, EstimateOptions(engine="vllm", context=4096, gpu="b200"))
    assert _weights_inputs(b200)["layout_padding_bytes"] == 36 * 233_275_392
    tp2 = estimate(cfg, EstimateOptions(engine="vllm", context=4096, gpus=2))
    assert _weights_inputs(tp2)["layout_padding_bytes"] == 36 * (1_928_331_264 - 1_694_269_440)


def test_llama_cpp_swa_full_caches_the_whole_context_on_sliding_layers() -> None:
    """Gemma-3-4B: 34 layers x 4 KV heads x 256 x (K+V) x 2 B = 139,264 B per token. With
    --swa-full (and before llama.cpp's iSWA cache) every layer keeps n_ctx = 4096 cells:
    544 MiB, as a pre-iSWA build logged (llama.cpp PR #12907). Without it the 29 sliding
    layers keep pad(1024 + 512, 32) = 1536 cells: 5 x 4096 + 29 x 1536 cells x 4096 B."""
    cfg = load_config("google__gemma-3-4b-it")
    base = dict(engine="llama.cpp", context=4096, flash_attention=False)
    full = estimate(cfg, EstimateOptions(**base, swa_full=True))
    assert full.kv_cache_bytes == 544 * 1024**2
    iswa = estimate(cfg, EstimateOptions(**base))
    assert iswa.kv_cache_bytes == (5 * 4096 + 29 * 1536) * 4 * 256 * 2 * 2
    vllm = estimate(cfg, EstimateOptions(engine="vllm", context=4096, swa_full=True))
    assert any("swa_full" in w for w in vllm.warnings)


def test_vllm_profiles_max_num_seqs_rows_of_logits() -> None:
    """vLLM's profile samples max_num_seqs rows of the vocabulary after the forward: each
    logit holds 2 B (bf16) + 13 B of sampler intermediates, beside the forward's hidden
    states; the peak is the larger of that and one block (estimator/vllm_v1.py). Without a
    GPU, `vllm serve` defaults to 256 rows and 2048 batched tokens (Llama-3.1-8B: a block
    of 2048 x (3 x 4096 + 3 x 14336) x 2 B); --max-num-seqs 16 leaves the block as peak."""
    cfg = load_config("meta-llama__Llama-3.1-8B")
    default = estimate(cfg, EstimateOptions(engine="vllm", context=4096))
    few = estimate(cfg, EstimateOptions(engine="vllm", context=4096, max_num_seqs=16))
    assert default.activation_bytes == 256 * 128256 * 15 + 2048 * 4096 * 2
    assert few.activation_bytes == 2048 * (3 * 4096 + 3 * 14336) * 2
    crowded = estimate(cfg, EstimateOptions(engine="vllm", context=4096, batch=32, max_num_seqs=16))
    assert any("at most 16 sequences" in w for w in crowded.warnings)
    other = estimate(cfg, EstimateOptions(engine="llama.cpp", max_num_seqs=16))
    assert any("max_num_seqs" in w for w in other.warnings)


def test_sglang_keeps_the_rope_cache_in_fp32() -> None:
    """vLLM registers the cos/sin cache in the model dtype, SGLang in FP32 on CUDA:
    Llama-3.1-8B, 131072 positions x 128 dims x 2 or 4 bytes."""
    cfg = load_config("meta-llama__Llama-3.1-8B")
    vllm = estimate(cfg, EstimateOptions(engine="vllm", context=4096))
    sglang = estimate(cfg, EstimateOptions(engine="sglang", context=4096))
    assert _weights_inputs(vllm)["rope_cache_bytes"] == 131072 * 128 * 2
    assert _weights_inputs(sglang)["rope_cache_bytes"] == 131072 * 128 * 4


def test_vllm_rope_caches_follow_the_scaling_and_stay_whole_per_rank() -> None:
    """Gemma-3-4B: global layers' linear scaling x8 gives a 131072 x 8 = 1,048,576-row cache
    and the local layers a second 131072-row one, 256 dims in bf16: 576 MiB that every
    tensor-parallel rank holds whole (vLLM gemma3.py + LinearScalingRotaryEmbedding)."""
    cfg = load_config("google__gemma-3-4b-it")
    one = estimate(cfg, EstimateOptions(engine="vllm", context=4096))
    rope = (1048576 + 131072) * 256 * 2
    assert _weights_inputs(one)["rope_cache_bytes"] == rope == 576 * 1024**2
    two = estimate(cfg, EstimateOptions(engine="vllm", context=4096, gpus=2))
    logits = next(c for c in two.components if c.name == "activations").inputs["logits_bytes"]
    expected = (
        (two.weights_bytes - rope) / 2
        + rope  # not halved
        + two.kv_cache_bytes / 2
        + (two.activation_bytes - logits) / 2
        + logits
        + two.overhead_bytes
    )
    assert two.per_gpu_bytes == int(expected)


def test_sglang_sizes_its_pool_before_any_forward() -> None:
    """SGLang's pool is the memory free after the weights less (1 - mem_fraction_static) of the
    total (model_runner profile_max_num_token), measured before any forward: activations and
    CUDA graphs live in the share left free, so only weights and the CUDA context shrink it.
    Llama-3.1-8B-Instruct, 0.88 of an 80 GB card: 443,160 tokens (its docs log: 444,500)."""
    cfg = load_config("meta-llama__Llama-3.1-8B-Instruct")
    est = estimate(
        cfg, EstimateOptions(engine="sglang", gpu="h100-80gb", gpu_memory_utilization=0.88,
                             context=131072)
    )
    reserved = int(round(79.11 * GIB) * 0.88)
    assert est.engine_reserved_bytes == reserved
    weights_and_context = est.weights_bytes + 512 * 1024**2
    assert est.engine_kv_capacity_tokens == (reserved - weights_and_context) // 131072 == 443_160
    # vLLM V1 profiles first: its pool is 0.9 of the total less the weights (with the RoPE
    # cache, 131072 x 128 x 2 B), the profiled peak and the 0.25 GiB the profile added outside
    # torch (gpu_worker.determine_available_memory; the CUDA context is in the snapshot it
    # measures from). On an H100 `vllm serve` profiles 8192 tokens and 1024 sampler rows
    # (vllm_v1.serve_defaults); the sampler is the peak: 1024 x 128256 x (2 + 13) B of logits
    # + 8192 x 4096 x 2 B of hidden states = 2,037,121,024 B (1.90 GiB; the v0.19 H100 log
    # of Llama-3.1-8B: 1.89 GiB), above one block, 8192 x 55,296 x 2 B = 905,969,664.
    vllm = estimate(cfg, EstimateOptions(engine="vllm", gpu="h100-80gb", context=131072))
    peak = 1024 * 128256 * 15 + 8192 * 4096 * 2
    assert vllm.activation_bytes == peak == 2_037_121_024
    weights = 8_030_261_248 * 2 + 131072 * 128 * 2
    assert vllm.weights_bytes == weights
    available = int(round(79.11 * GIB) * 0.9) - weights - peak - int(0.25 * GIB)
    # get_num_blocks: available // page (16 tokens x 8 heads x 256 x 2 B) // 32 layers
    assert vllm.engine_kv_capacity_tokens == available // (16 * 131072) * 16 == 442_880

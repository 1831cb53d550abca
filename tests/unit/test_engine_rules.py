"""Each engine's rule for activations, sliding windows and recurrent state, on models whose
branch or layer kind the Llama-based tests do not reach, with the arithmetic written out.

Block peak per token (activations.py): residual 3h + the widest of attention, MLP / MoE and
SSM branches; the tests pick models where each branch is the widest.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from estimator import EstimateOptions, estimate
from estimator.estimate import Estimate
from tests.conftest import GOLDEN, load_config

MAMBA = json.loads((GOLDEN / "defaults" / "mamba.json").read_text())["config"]
GPT_OSS_20B = load_config("openai__gpt-oss-20b")


def _inputs(est: Estimate, name: str) -> dict[str, Any]:
    return next(c for c in est.components if c.name == name).inputs


def _transformers(config: dict[str, Any], **options: Any) -> Estimate:
    return estimate(config, EstimateOptions(engine="transformers", precision="bf16", **options))


def test_attention_branch_is_the_peak_when_the_mlp_is_narrow() -> None:
    """Llama-3.1-8B with a 128-wide MLP: q 32 x 128, k and v 8 x 128 each, attention output
    32 x 128 -> 10,240 values beat the MLP's 3 x 128 = 384; plus 3 x 4096 residual values."""
    narrow = dict(load_config("meta-llama__Llama-3.1-8B"), intermediate_size=128)
    est = _transformers(narrow, context=1024)
    assert _inputs(est, "activations")["block_bytes"] == 1024 * (3 * 4096 + 10_240) * 2


def test_mla_attention_is_the_peak_on_deepseek_v3() -> None:
    """DeepSeek-V3: 128 heads x (q 192 + k 192 + v 128) + the 576-wide latent = 66,112 values,
    wider than the MoE's 8 experts x 3 x 2048 + shared 3 x 2048 + 2 x 256 router logits =
    55,808 (and the dense layers' 3 x 18432 = 55,296); residual 3 x 7168."""
    est = _transformers(load_config("deepseek-ai__DeepSeek-V3"), context=1024)
    act = _inputs(est, "activations")
    assert act["block_bytes"] == 1024 * (3 * 7168 + 66_112) * 2 == 179_437_568
    assert act["logits_bytes"] == 129280 * (2 + 4 + 4)


def test_moe_branch_counts_the_routed_experts_of_a_token() -> None:
    """Qwen3-30B-A3B: 8 experts x 3 x 768 + 2 x 128 router logits = 18,688 values, wider than
    attention's (32 + 2 x 4) x 128 + 32 x 128 = 9,216; residual 3 x 2048."""
    est = _transformers(load_config("Qwen__Qwen3-30B-A3B"), context=1024)
    assert _inputs(est, "activations")["block_bytes"] == 1024 * (3 * 2048 + 18_688) * 2


def test_ssm_branch_on_a_pure_mamba_model() -> None:
    """Mamba (transformers' default config: h 768, d_inner 1536, d_state 16): in_proj's two
    d_inner halves, the conv's 1536 channels, B and C (2 x 16) and the gated output d_inner:
    2 x 1536 + 1536 + 32 + 1536 = 6,176 values; residual 3 x 768."""
    est = _transformers(MAMBA, context=1024)
    assert _inputs(est, "activations")["block_bytes"] == 1024 * (3 * 768 + 6_176) * 2


def test_mamba_state_per_engine() -> None:
    """32 layers, conv 1536 channels x width, state 1536 x 16 values, per sequence:
    generic: width d_conv 4, both in bf16 -> (1536 x 4 x 2 + 24576 x 2) x 32 = 1,966,080;
    transformers: recurrent state in fp32 -> (12,288 + 24576 x 4) x 32 = 3,538,944 (golden);
    vLLM: width d_conv - 1 = 3 -> (1536 x 3 x 2 + 24576 x 2) x 32 = 1,867,776;
    llama.cpp: width 3, both in F32 -> (1536 x 3 x 4 + 24576 x 4) x 32 = 3,735,552."""
    expected = {"generic": 1_966_080, "transformers": 3_538_944, "vllm": 1_867_776,
                "llama.cpp": 3_735_552}
    for engine, state in expected.items():
        est = estimate(MAMBA, EstimateOptions(engine=engine, precision="bf16", batch=3,
                                              context=2048))
        assert _inputs(est, "kv_cache")["state_bytes"] == 3 * state, engine
        assert est.kv_bytes_per_token == 0 and est.kv_cache_bytes == 3 * state, engine


def test_sliding_window_keep_per_engine() -> None:
    """gpt-oss-20b: 12 full and 12 sliding layers (window 128), 8 KV heads x 64 x (K+V) x 2 B
    = 2048 B per layer and token. At 32768 tokens a sliding layer keeps: generic the window,
    128; transformers window - 1 = 127; vLLM window - 1 + max_num_batched_tokens (without a
    GPU `vllm serve`'s default for GPUs under 70 GiB, 2048: vllm_v1.serve_defaults, from
    arg_utils.get_batch_defaults) = 2175 -> 2176 in blocks of 16 (SlidingWindowSpec
    max_memory_usage_bytes); TGI the window in blocks, 128; llama.cpp pad(128 + 512, 256) =
    768."""
    kept = {"generic": 128, "transformers": 127, "vllm": 2176, "tgi": 128, "llama.cpp": 768}
    for engine, tokens in kept.items():
        est = estimate(GPT_OSS_20B, EstimateOptions(engine=engine, context=32768))
        kv = _inputs(est, "kv_cache")
        assert kv["sliding_tokens"] == tokens, engine
        assert kv["sliding_bytes"] == 12 * 2048 * tokens, engine
        assert est.kv_cache_bytes == 12 * 2048 * 32768 + 12 * 2048 * tokens, engine
        assert est.kv_bytes_per_token == 24 * 2048, engine


def test_short_contexts_are_not_capped_by_the_window() -> None:
    """Below the window every layer keeps the whole context."""
    for engine in ("generic", "transformers", "vllm", "tgi"):
        est = estimate(GPT_OSS_20B, EstimateOptions(engine=engine, context=96, block_size=None))
        kv = _inputs(est, "kv_cache")
        tokens = 96  # 6 blocks of 16 on paged engines
        assert est.kv_cache_bytes == 24 * 2048 * tokens, engine
        assert kv["sliding_tokens"] == tokens, engine


def test_logits_rows_per_engine() -> None:
    """Rows of logits at the peak: generic and transformers one per sequence (transformers with
    two fp32 copies), llama.cpp one ubatch of 512 rows in F32. Llama-3.1-8B, vocab 128256,
    batch 2.

    vLLM samples max_num_seqs rows (`vllm serve`'s 256 without a GPU) of the model dtype plus
    13 B of fp32/index intermediates per logit from v0.17 (vllm_v1.sampler_bytes_per_logit:
    gpu_model_runner._dummy_sampler_run), while the forward's 2048 x 4096 hidden states in
    bf16 are alive; its profiled peak is the larger of that and one block of 2048 tokens
    (2048 x 55,296 x 2 B = 226,492,416), so the sampler: 256 x 128256 x 15 + 16,777,216."""
    cfg = load_config("meta-llama__Llama-3.1-8B")
    rows = {"generic": 2 * (2 + 4), "transformers": 2 * (2 + 8), "tgi": 2 * (2 + 8),
            "llama.cpp": 512 * 4}
    for engine, per_vocab in rows.items():
        est = estimate(cfg, EstimateOptions(engine=engine, precision="bf16", batch=2,
                                            context=4096))
        assert _inputs(est, "activations")["logits_bytes"] == 128256 * per_vocab, engine
    vllm = estimate(cfg, EstimateOptions(engine="vllm", precision="bf16", batch=2, context=4096))
    parts = _inputs(vllm, "activations")["vllm_profile"]
    assert (parts["rows"], parts["bytes_per_logit"]) == (256, 2 + 13)
    assert parts["logits"] == 256 * 128256 * 15 == 492_503_040
    assert parts["hidden"] == 2048 * 4096 * 2 and parts["block"] == 226_492_416
    assert vllm.activation_bytes == 492_503_040 + 16_777_216 == 509_280_256
    # v0.16 and older held about 36 B per logit at the sampler's peak (Qwen3-14B: 5.64 GiB at
    # v0.16, 2.23 GiB at v0.17, llm-d-planner's report): 256 x 128256 x 36 + the hidden states.
    old = estimate(cfg, EstimateOptions(engine="vllm", precision="bf16", batch=2, context=4096),
                   engine_version="0.16.0")
    assert old.activation_bytes == 256 * 128256 * 36 + 16_777_216


def test_eager_scores_for_several_sequences() -> None:
    """transformers, eager, batch 3 of 1000-token prompts: 3 x 32 heads x 1000 x 1000 scores
    in bf16 plus the fp32 softmax."""
    cfg = load_config("meta-llama__Llama-3.1-8B")
    est = _transformers(cfg, context=1000, batch=3, flash_attention=False)
    assert _inputs(est, "activations")["attention_scores_bytes"] == 3 * 32 * 1000 * 1000 * 6


def test_vllm_ignores_the_flash_toggle() -> None:
    """vLLM always runs fused attention: FlashAttention off changes nothing but a warning."""
    cfg = load_config("meta-llama__Llama-3.1-8B")
    on = estimate(cfg, EstimateOptions(engine="vllm", context=4096))
    off = estimate(cfg, EstimateOptions(engine="vllm", context=4096, flash_attention=False))
    assert off.activation_bytes == on.activation_bytes
    assert any("FlashAttention off has no effect" in w for w in off.warnings)
    assert not any("FlashAttention" in w for w in on.warnings)


def test_decode_step_processes_one_token_per_sequence() -> None:
    """A batch larger than the prefill chunk still runs one token per sequence: llama.cpp's
    ubatch is 512, a batch of 600 one-token prompts is a 600-token forward."""
    cfg = load_config("meta-llama__Llama-3.1-8B")
    est = estimate(cfg, EstimateOptions(engine="llama.cpp", precision="bf16", batch=600,
                                        context=1, flash_attention=True))
    assert _inputs(est, "activations")["tokens"] == 600


def test_non_gated_experts_hold_two_intermediates() -> None:
    """Up/down experts (Nemotron-H's NemotronHMoE, no gate projection): each routed expert
    holds 2 x its intermediate. Qwen3-30B-A3B's shape with such experts and no dense MLP:
    8 x 2 x 768 + 2 x 128 router logits = 12,544 values, still wider than attention's 9,216;
    residual 3 x 2048."""
    import dataclasses

    from estimator.activations import block_values_per_token
    from estimator.spec import parse_config

    spec = parse_config(load_config("Qwen__Qwen3-30B-A3B"))
    assert spec.moe is not None
    gated = block_values_per_token(spec)
    up_down = block_values_per_token(
        dataclasses.replace(spec, mlp=None, moe=dataclasses.replace(spec.moe, gated=False))
    )
    assert (gated, up_down) == (3 * 2048 + 18_688, 3 * 2048 + 12_544)


def test_eager_scores_when_the_prefill_is_chunked() -> None:
    """A 1000-token forward of 300-token prompts (batch 4, chunk 1000) holds three whole
    prompts' scores: 3 x 32 heads x 300 x 300 x (2 + 4) B. One-token prompts: one score
    per sequence, 4 x 32 x 1 x 1 x 6 B."""
    cfg = load_config("meta-llama__Llama-3.1-8B")
    base = EstimateOptions(engine="generic", precision="bf16", flash_attention=False, batch=4)
    chunked = estimate(cfg, base.with_(context=300, max_num_batched_tokens=1000))
    act = _inputs(chunked, "activations")
    assert act["tokens"] == 1000
    assert act["attention_scores_bytes"] == 3 * 32 * 300 * 300 * 6
    single = estimate(cfg, base.with_(context=1))
    assert _inputs(single, "activations")["attention_scores_bytes"] == 4 * 32 * 1 * 1 * 6


def test_estimate_kv_defaults_to_a_bf16_state() -> None:
    """A KV request's activation dtype defaults to 2 bytes: Mamba's conv state in bf16."""
    from estimator.engines import ENGINE_PROFILES
    from estimator.kv_cache import KVRequest, estimate_kv
    from estimator.spec import parse_config

    spec = parse_config(MAMBA)
    request = KVRequest(batch=1, context=16, element_bytes=2, block_size=1, paged=False, chunk=16)
    kv = estimate_kv(spec, ENGINE_PROFILES["generic"], request)
    assert kv.state_bytes == 1_966_080  # (1536 x 4 x 2 + 24576 x 2) x 32


def test_a_one_wide_conv_keeps_no_conv_state_on_vllm() -> None:
    """vLLM and llama.cpp keep d_conv - 1 conv columns: none for a 1-wide conv, never fewer."""
    narrow = dict(MAMBA, conv_kernel=1)
    est = estimate(narrow, EstimateOptions(engine="vllm", precision="bf16"))
    assert _inputs(est, "kv_cache")["state_bytes"] == 24576 * 2 * 32  # the SSM state only


def test_each_engines_cache_layout_and_fixed_costs() -> None:
    """Paged engines round to their block (vLLM, TGI 16), SGLang's pool is per token, the
    others are not paged; llama.cpp's CUDA context is 300 MiB without CUDA graphs, the CUDA
    engines' 512 MiB (+ 512 MiB of graphs for SGLang and TGI). vLLM V1 (the latest release,
    0.19) adds 0.85 GiB of CUDA graphs (vllm_v1.CUDA_GRAPH_BYTES: "Estimated CUDA graph
    memory", 0.70-1.05 GiB in the v0.19 H100 logs) and the 0.25 GiB its profile run adds
    outside torch on one GPU (vllm_v1.non_torch_bytes: 0.24-0.27 GiB at TP 1, v0.18+). TGI
    keeps no RoPE cache with the weights and pads no MXFP4 experts; SGLang pads none either."""
    cfg = load_config("meta-llama__Llama-3.1-8B")
    mib = 1024**2
    layout = {"generic": (False, 1), "transformers": (False, 1), "vllm": (True, 16),
              "sglang": (True, 1), "tgi": (True, 16), "llama.cpp": (False, 1)}
    gib = 1024**3
    vllm = 512 * mib + int(0.85 * gib) + int(0.25 * gib)
    overhead = {"generic": 512 * mib, "transformers": 512 * mib, "vllm": vllm,
                "sglang": 1024 * mib, "tgi": 1024 * mib, "llama.cpp": 300 * mib}
    for engine, (paged, block) in layout.items():
        est = estimate(cfg, EstimateOptions(engine=engine, precision="bf16", context=1001))
        kv = _inputs(est, "kv_cache")
        assert (kv["paged"], kv["block_size"]) == (paged, block), engine
        rounded = -(-1001 // block) * block if paged else 1001
        assert kv["tokens_per_sequence"] == rounded, engine
        assert est.overhead_bytes == overhead[engine], engine
    tgi = estimate(cfg, EstimateOptions(engine="tgi", precision="bf16"))
    assert _inputs(tgi, "weights")["rope_cache_bytes"] == 0
    gpt = load_config("openai__gpt-oss-120b")
    for engine in ("tgi", "sglang", "llama.cpp"):
        est = estimate(gpt, EstimateOptions(engine=engine, context=4096))
        assert _inputs(est, "weights")["layout_padding_bytes"] == 0, engine


def test_only_serving_engines_profile_the_whole_batched_token_budget() -> None:
    """A 1000-token prompt: generic and transformers run it whole even with an 8192 budget,
    llama.cpp in ubatches of 512, vLLM/SGLang/TGI profile their whole budget: SGLang's
    chunked_prefill_size 8192, TGI's 4096, and vLLM `vllm serve`'s 2048 without a GPU
    (vllm_v1.serve_defaults; 8192 on GPUs of 70 GiB or more but A100s)."""
    cfg = load_config("meta-llama__Llama-3.1-8B")
    h100 = estimate(cfg, EstimateOptions(engine="vllm", precision="bf16", context=1000,
                                         gpu="h100-80gb"))
    a100 = estimate(cfg, EstimateOptions(engine="vllm", precision="bf16", context=1000,
                                         gpu="a100-80gb"))
    assert _inputs(h100, "activations")["tokens"] == 8192
    assert _inputs(a100, "activations")["tokens"] == 2048
    tokens = {"generic": 1000, "transformers": 1000, "llama.cpp": 512, "vllm": 2048,
              "sglang": 8192, "tgi": 4096}
    for engine, expected in tokens.items():
        est = estimate(cfg, EstimateOptions(engine=engine, precision="bf16", context=1000))
        assert _inputs(est, "activations")["tokens"] == expected, engine
    chunked = estimate(cfg, EstimateOptions(engine="generic", context=1000,
                                            max_num_batched_tokens=8192))
    assert _inputs(chunked, "activations")["tokens"] == 1000
    short = estimate(cfg, EstimateOptions(engine="llama.cpp", context=100))
    assert _inputs(short, "activations")["tokens"] == 100


def test_mamba2_projection_biases() -> None:
    """Mamba-2 with use_bias: in_proj's bias (2 x d_inner + 2 x groups x state + heads) and
    out_proj's (h) per layer, on top of the bias-free count."""
    from estimator.spec import parse_config

    config = json.loads((GOLDEN / "defaults" / "mamba2.json").read_text())["config"]
    spec = parse_config(config)
    s = spec.ssm
    assert s is not None and not s.proj_bias
    plain = estimate(config).params
    biased = estimate(dict(config, use_bias=True)).params
    proj = 2 * s.d_inner + 2 * s.n_groups * s.d_state + s.n_heads
    assert biased - plain == spec.num_layers * (proj + spec.hidden_size)
    # transformers' default: h 4096, d_inner 2 x 4096, 8 groups of state 128, 128 heads, 64 layers
    assert biased - plain == 64 * (2 * 8192 + 2 * 8 * 128 + 128 + 4096) == 1_449_984


def test_estimate_kv_pads_llama_cpp_cells_as_with_flash_attention_by_default() -> None:
    """A KV request's flash_attention defaults to on: llama.cpp pads the cells to 256
    (get_padding with FA), 4000 -> 4096; without FA to 32, 4000."""
    from estimator.engines import ENGINE_PROFILES
    from estimator.kv_cache import KVRequest, estimate_kv
    from estimator.spec import parse_config

    spec = parse_config(load_config("meta-llama__Llama-3.1-8B"))
    request = KVRequest(batch=1, context=4000, element_bytes=2, block_size=1, paged=False,
                        chunk=512)
    default = estimate_kv(spec, ENGINE_PROFILES["llama.cpp"], request)
    off = estimate_kv(spec, ENGINE_PROFILES["llama.cpp"],
                      dataclasses.replace(request, flash_attention=False))
    assert (default.bytes, off.bytes) == (4096 * 131072, 4000 * 131072)


def test_no_recurrent_state_term_without_recurrent_layers() -> None:
    """MiniMax-Text-01 (transformers' defaults) starts with a softmax-attention layer: run one
    layer and there is no linear-attention state, not a state of zero layers; two layers
    have one."""
    minimax = json.loads((GOLDEN / "defaults" / "minimax.json").read_text())["config"]
    one = _inputs(estimate(minimax, EstimateOptions(layers=1)), "kv_cache")
    assert one["state"] is None and one["state_bytes"] == 0
    two = _inputs(estimate(minimax, EstimateOptions(layers=2)), "kv_cache")
    assert two["state"] is not None and two["state"]["layers"] == 1 and two["state_bytes"] > 0

"""Config-reading rules of estimator/spec.py that the Hub fixtures do not exercise: defaults
when a key is missing, aliases named in errors, malformed lists, uneven head widths."""

from __future__ import annotations

import json

import pytest

from estimator import ConfigError, EstimateOptions, MissingConfigKeyError, estimate
from tests.conftest import GOLDEN, load_config

LLAMA = load_config("meta-llama__Llama-3.1-8B")


def test_head_dim_needs_heads_that_divide_the_width() -> None:
    """Without a head_dim key the width is hidden / heads, which must be whole: 100 / 3 is a
    clean ConfigError, 96 / 3 gives 32 dims (2 layers x 1 KV head x (32 + 32) x 2 B)."""
    tiny = dict(LLAMA, hidden_size=100, num_attention_heads=3, num_key_value_heads=1,
                num_hidden_layers=2, intermediate_size=64, vocab_size=1000)
    with pytest.raises(ConfigError, match="not divisible by num_attention_heads"):
        estimate(tiny)
    est = estimate(dict(tiny, hidden_size=96), EstimateOptions(kv_dtype="bf16"))
    assert est.model.head_dim == 32
    assert est.kv_bytes_per_token == 2 * 1 * 64 * 2


def test_layer_index_lists_must_be_lists_of_integers() -> None:
    qwen = load_config("Qwen__Qwen3-30B-A3B")
    for bad in ("3", [1, "2"], [True], 5):
        with pytest.raises(ConfigError, match="'mlp_only_layers' should be a list of layer"):
            estimate(dict(qwen, mlp_only_layers=bad))


def test_a_missing_key_names_its_aliases() -> None:
    cfg = {k: v for k, v in LLAMA.items() if k != "num_hidden_layers"}
    with pytest.raises(MissingConfigKeyError) as err:
        estimate(cfg)
    assert "num_hidden_layers" in str(err.value)
    assert "also looked for n_layer, num_layers, n_layers" in str(err.value)


def test_falcon_mlp_has_no_bias_unless_the_config_says_so() -> None:
    falcon = load_config("tiiuae__falcon-7b")
    without_key = {k: v for k, v in falcon.items() if k != "bias"}
    assert estimate(without_key).params == estimate(falcon).params == 6_921_720_704


def test_jamba_dt_rank_auto_is_hidden_over_16() -> None:
    """Jamba's mamba_dt_rank "auto" is ceil(4096 / 16) = 256, as its default config states."""
    jamba = json.loads((GOLDEN / "defaults" / "jamba.json").read_text())["config"]
    assert jamba["mamba_dt_rank"] == 256
    assert estimate(dict(jamba, mamba_dt_rank="auto")).params == estimate(jamba).params


def test_mla_query_without_a_low_rank_projection() -> None:
    """DeepSeek-V2-Lite style (q_lora_rank null): q_proj is 7168 x 128 heads x 192 dims per
    layer instead of q_a (7168 x 1536), its norm (1536) and q_b (1536 x 128 x 192); 61 layers."""
    v3 = load_config("deepseek-ai__DeepSeek-V3")
    lite = dict(v3, q_lora_rank=None)
    per_layer = 7168 * 128 * 192 - (7168 * 1536 + 1536 + 1536 * 128 * 192)
    assert estimate(lite).params - estimate(v3).params == 61 * per_layer


def test_qwen2_slides_only_when_use_sliding_window_is_set() -> None:
    """Qwen2/2.5 configs carry sliding_window but slide only with use_sliding_window true,
    and then only layers from max_window_layers on (transformers Qwen2Config.layer_types).
    Qwen2.5-7B-Instruct with max_window_layers 14, 140,000 tokens, 2048 B per layer and token."""
    base = dict(load_config("Qwen__Qwen2.5-7B-Instruct"), max_window_layers=14)
    options = EstimateOptions(engine="transformers", context=140_000)
    off = estimate(base, options)
    assert off.kv_cache_bytes == 140_000 * 57_344
    on = estimate(dict(base, use_sliding_window=True), options)
    assert on.kv_cache_bytes == 14 * 2048 * 140_000 + 14 * 2048 * (131_072 - 1)


def test_rope_scaling_factor_below_one_is_accepted() -> None:
    cfg = dict(LLAMA, rope_scaling={"rope_type": "linear", "factor": 0.5})
    assert estimate(cfg).params == 8_030_261_248


def test_jamba_expert_layers_default_to_odd_layers() -> None:
    """Jamba: experts every expert_layer_period (2) layers from expert_layer_offset (1)."""
    jamba = json.loads((GOLDEN / "defaults" / "jamba.json").read_text())["config"]
    assert (jamba["expert_layer_offset"], jamba["expert_layer_period"]) == (1, 2)
    without = {k: v for k, v in jamba.items() if k != "expert_layer_offset"}
    assert estimate(without).params == estimate(jamba).params


def test_gemma3_first_layers_slide() -> None:
    """Gemma 3: every 6th layer (5, 11, ...) is global, so its first 5 layers all slide:
    5 x 4 KV heads x 256 x (K+V) x 2 B x 1023 tokens (transformers keeps window - 1)."""
    gemma = load_config("google__gemma-3-4b-it")
    est = estimate(gemma, EstimateOptions(engine="transformers", context=2048, layers=5))
    assert est.model.sliding_layers == 5
    assert est.kv_cache_bytes == 5 * 4096 * 1023
    six = estimate(gemma, EstimateOptions(engine="transformers", context=2048, layers=6))
    assert six.kv_cache_bytes == 5 * 4096 * 1023 + 4096 * 2048


def test_zamba2_shared_attention_adapters() -> None:
    """Zamba2 with use_shared_attention_adapter: three LoRA pairs (attn_in x rank and back)
    per hybrid layer for q, k and v; attn_in is 2 x hidden (5120), rank 128, 9 hybrid layers."""
    zamba = json.loads((GOLDEN / "defaults" / "zamba2.json").read_text())["config"]
    hybrid = zamba["layers_block_type"].count("hybrid")
    assert hybrid == 9
    more = estimate(dict(zamba, use_shared_attention_adapter=True)).params
    assert more - estimate(zamba).params == 9 * 3 * (5120 * 128 + 128 * 5120)


def test_mamba2_conv_bias_defaults_on() -> None:
    mamba2 = json.loads((GOLDEN / "defaults" / "mamba2.json").read_text())["config"]
    assert mamba2["use_conv_bias"] is True
    without = {k: v for k, v in mamba2.items() if k != "use_conv_bias"}
    assert estimate(without).params == estimate(mamba2).params


def test_qwen_moe_sparse_step_puts_experts_on_every_nth_layer() -> None:
    """decoder_sparse_step 2: layers 1, 3, ... are MoE, 0, 2, ... dense (transformers
    Qwen3MoeDecoderLayer: (layer_idx + 1) % decoder_sparse_step == 0). Qwen3-30B-A3B's shapes:
    attention 18,874,368 + q/k norms 256 + two layer norms 4,096; MoE 128 x 3 x 2048 x 768 +
    router 2048 x 128; dense MLP 3 x 2048 x 6144."""
    qwen = dict(load_config("Qwen__Qwen3-30B-A3B"), decoder_sparse_step=2)
    params = [estimate(qwen, EstimateOptions(layers=n)).params for n in (1, 2, 3)]
    common = 18_874_368 + 256 + 4096
    assert params[1] - params[0] == common + 128 * 3 * 2048 * 768 + 2048 * 128
    assert params[2] - params[1] == common + 3 * 2048 * 6144


def test_a_zero_moe_layer_frequency_is_every_layer() -> None:
    """moe_layer_freq 0 would divide by zero in transformers' DeepSeek layers
    (``layer_idx % moe_layer_freq``); it is read as 1, every layer past
    first_k_dense_replace, not as every other layer."""
    from estimator.spec import parse_config

    cfg = load_config("deepseek-ai__DeepSeek-V3")
    one = parse_config(dict(cfg, moe_layer_freq=1))
    zero = parse_config(dict(cfg, moe_layer_freq=0))
    assert [layer.moe for layer in zero.layers] == [layer.moe for layer in one.layers]
    assert sum(layer.moe for layer in zero.layers) == 61 - 3


def test_mamba_ssm_dtype_float32_keeps_the_state_in_fp32() -> None:
    """Bamba's mamba_ssm_dtype / Nemotron-H's mamba_ssm_cache_dtype "float32": the SSM state
    is cached in 4 bytes on every engine; absent (or another dtype), in the model's dtype."""
    from estimator.spec import parse_config

    bamba = json.loads((GOLDEN / "defaults" / "bamba.json").read_text())["config"]
    for value, fp32 in (("float32", True), ("bfloat16", False), (None, False)):
        cfg = dict(bamba) if value is None else dict(bamba, mamba_ssm_dtype=value)
        spec = parse_config(cfg)
        assert spec.ssm is not None and spec.ssm.state_fp32 is fp32, value
        kv = next(c for c in estimate(cfg, EstimateOptions(precision="bf16")).components
                  if c.name == "kv_cache").inputs
        assert kv["state"]["state_element_bytes"] == (4 if fp32 else 2), value


@pytest.mark.parametrize(
    "flags",
    [
        {"load_in_4bit": True},  # transformers before 4.37 wrote only this
        {"_load_in_4bit": True, "load_in_4bit": True},  # BitsAndBytesConfig.to_dict today
        {"_load_in_4bit": True},
    ],
)
def test_bitsandbytes_4bit_by_either_key(flags: dict[str, bool]) -> None:
    from estimator.spec import parse_config

    cfg = dict(load_config("meta-llama__Llama-3.1-8B"),
               quantization_config={"quant_method": "bitsandbytes", "bnb_4bit_quant_type": "nf4",
                                    **flags})
    quant = parse_config(cfg).quantization
    assert quant is not None and quant.bits == 4


def test_jamba_experts_sit_on_the_offset_layers() -> None:
    """Jamba: layer i has experts when i % expert_layer_period == expert_layer_offset
    (configuration_jamba.py layers_num_experts): odd layers with the defaults 2 and 1."""
    from estimator.spec import parse_config

    jamba = json.loads((GOLDEN / "defaults" / "jamba.json").read_text())["config"]
    flags = [layer.moe for layer in parse_config(jamba).layers]
    assert flags[:4] == [False, True, False, True]
    shifted = parse_config(dict(jamba, expert_layer_period=4, expert_layer_offset=2)).layers
    assert [layer.moe for layer in shifted][:8] == [False, False, True, False] * 2


def test_jamba_attention_period_defaults_to_eight() -> None:
    """JambaConfig's defaults: attn_layer_period 8, attn_layer_offset 4 - attention on layers
    4, 12, 20, 28 of 32 when the config leaves them out."""
    from estimator.spec import parse_config

    jamba = json.loads((GOLDEN / "defaults" / "jamba.json").read_text())["config"]
    bare = {k: v for k, v in jamba.items() if k not in ("attn_layer_period", "attn_layer_offset")}
    spec = parse_config(dict(bare, num_hidden_layers=32))
    assert [i for i, layer in enumerate(spec.layers) if layer.mixer == "attention"] == [
        4, 12, 20, 28]


def test_a_one_layer_model_is_accepted() -> None:
    """One decoder layer (tiny test models): 218,112,000 layer parameters of Llama-3.1-8B's
    shape plus its 1,050,677,248 embedding, head and final-norm parameters."""
    one = estimate(dict(load_config("meta-llama__Llama-3.1-8B"), num_hidden_layers=1))
    assert one.params == 218_112_000 + 1_050_677_248


def test_mamba_conv_bias_defaults_to_on() -> None:
    """MambaConfig's use_conv_bias defaults to True: a config without it counts the conv
    bias (d_inner per layer), as with it set."""
    mamba = json.loads((GOLDEN / "defaults" / "mamba.json").read_text())["config"]
    bare = {k: v for k, v in mamba.items() if k != "use_conv_bias"}
    with_bias = estimate(dict(bare, use_conv_bias=True)).params
    assert estimate(bare).params == with_bias
    assert with_bias - estimate(dict(bare, use_conv_bias=False)).params == 32 * 1536

"""Attention from a config: heads, KV heads, head size, MLA, biases, RoPE caches and limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from ..values import MAX_CONFIG_INT, config_float, config_int
from .family import Family
from .model import AttentionSpec, MLASpec
from .reader import Reader, name_value

__all__ = [
    "engine_max_context",
    "falcon_kv_heads",
    "parse_attention",
    "rope_cache_rows",
    "rotary_dim",
]


def parse_attention(r: Reader, family: Family, hidden: int) -> AttentionSpec:
    if family.is_ssm_only:
        return AttentionSpec(num_heads=0, num_kv_heads=0, head_dim=0, v_head_dim=0)
    heads = r.positive("num_attention_heads", "n_head", "num_heads", "n_heads")
    if family.kv_heads is not None:
        kv_heads = family.kv_heads(r, heads)
    else:
        kv_heads = r.opt_int(
            "num_key_value_heads", "num_kv_heads", "n_head_kv", "multi_query_group_num"
        )
    if kv_heads is None or kv_heads == 0:
        kv_heads = 1 if r.flag("multi_query") else heads
    if heads % kv_heads:
        raise ConfigError(
            f"num_attention_heads ({heads}) is not a multiple of num_key_value_heads ({kv_heads})"
        )
    head_dim = r.opt_int(*family.head_dim_keys)
    if not head_dim:
        if hidden % heads:
            raise ConfigError(
                f"hidden_size ({hidden}) is not divisible by num_attention_heads ({heads}) "
                "and the config gives no head_dim"
            )
        head_dim = hidden // heads
    mla = _parse_mla(r)
    if mla is not None:
        head_dim = mla.qk_nope_head_dim + mla.qk_rope_head_dim
    qkv_bias, o_bias = _biases(r, family)
    return AttentionSpec(
        num_heads=heads,
        num_kv_heads=kv_heads,
        head_dim=head_dim,
        v_head_dim=mla.v_head_dim if mla else head_dim,
        qkv_bias=qkv_bias,
        o_bias=o_bias,
        qk_norm=family.qk_norm,
        qk_norm_full=family.qk_norm_full,
        sinks=family.attention_sinks,
        output_gate=r.flag("attn_output_gate", default=family.output_gate_default),
        mla=mla,
    )


def _parse_mla(r: Reader) -> MLASpec | None:
    """DeepSeek-V2/V3 multi-head latent attention, when the config has a kv_lora_rank."""
    if not (r.has("kv_lora_rank") and r.raw("kv_lora_rank")):
        return None
    return MLASpec(
        q_lora_rank=r.opt_int("q_lora_rank") or None,
        kv_lora_rank=r.integer("kv_lora_rank"),
        qk_nope_head_dim=r.integer("qk_nope_head_dim"),
        qk_rope_head_dim=r.integer("qk_rope_head_dim"),
        v_head_dim=r.integer("v_head_dim"),
    )


def _biases(r: Reader, family: Family) -> tuple[bool, bool]:
    """(q/k/v bias, o_proj bias)."""
    if family.qkv_bias_only:
        # Qwen2Attention: q/k/v have bias=True, o_proj has bias=False (modeling_qwen2.py).
        return True, False
    bias = family.attn_bias_always or r.flag("attention_bias", "bias", default=family.attn_bias)
    o_bias = bias
    if r.has("attention_out_bias"):
        o_bias = r.flag("attention_out_bias")  # Seed-OSS: biased q/k/v, bias-free o_proj
    return bias, o_bias


def falcon_kv_heads(r: Reader, heads: int) -> int | None:
    """FalconConfig: new_decoder_architecture uses num_kv_heads; else multi_query -> 1 KV head."""
    if r.flag("new_decoder_architecture"):
        return r.integer("num_kv_heads", default=heads)
    if r.flag("multi_query", default=True):
        return 1
    return heads


def rotary_dim(r: Reader, attention: AttentionSpec, learned_positions: bool) -> int:
    if learned_positions or r.flag("alibi") or not attention.num_heads:
        return 0
    if attention.mla is not None:
        return attention.mla.qk_rope_head_dim
    factor = r.raw("partial_rotary_factor", "rotary_pct")
    if factor is None:
        return attention.head_dim
    share = config_float(r.key_of(("partial_rotary_factor", "rotary_pct")), factor, low=0, high=1)
    return int(attention.head_dim * share)


def _rope_scaling(r: Reader) -> Mapping[str, Any]:
    scaling = r.raw("rope_scaling")
    if not isinstance(scaling, Mapping):
        params = r.raw("rope_parameters")
        scaling = params if isinstance(params, Mapping) else {}
    return scaling


def rope_cache_rows(r: Reader, family: Family, max_context: int | None) -> tuple[int, ...]:
    """Positions covered by the cos/sin caches vLLM (and SGLang, which copied it) register.

    vllm/model_executor/layers/rotary_embedding get_rope: the default, llama3 and mrope
    caches hold max_position rows; linear and dynamic-NTK scaling hold max_position x factor
    (LinearScalingRotaryEmbedding: "max_len = self.max_position_embeddings * scaling_factor");
    YaRN holds original_max_position x factor; Phi-3's LongRoPE keeps a short and a long cache
    (original + max_position rows). Gemma 3 builds a second, unscaled cache for its local
    layers (models/gemma3.py: rope_local_base_freq, rope_scaling "default").
    """
    if not max_context:
        return ()
    scaling = _rope_scaling(r)
    kind = name_value("rope_scaling.rope_type", scaling.get("rope_type") or scaling.get("type"))
    factor = scaling.get("factor")
    original = scaling.get("original_max_position_embeddings")
    # RoPE scaling factors in published configs run from 0.25 to 64 (Qwen2.5-1M: 4, YaRN: 40).
    scale = 1.0 if factor is None else config_float("rope_scaling.factor", factor, low=0, high=1e4)
    base = (
        max_context
        if original is None
        else config_int("rope_scaling.original_max_position_embeddings", original, low=1)
    )
    rows = max_context
    if kind in ("linear", "dynamic") and scale > 1:
        rows = int(max_context * scale)
    elif kind in ("yarn", "deepseek_yarn") and scale > 1:
        rows = int(base * scale)
    elif kind == "longrope":
        rows = base + max_context
    if family.local_rope_cache:
        return (rows, max_context)
    return (rows,)


def engine_max_context(r: Reader, model_type: str, max_context: int | None) -> int | None:
    """vLLM's derived max_model_len (config/model.py _get_and_verify_max_len): the smallest
    length key, times the RoPE scaling factor unless the type is su/longrope/llama3; YaRN
    multiplies original_max_position_embeddings. vLLM skips the scaling for every model_type
    that contains "gemma3" (their limit is already scaled), so this tests the name as it does.
    """
    keys = ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length",
            "max_target_positions", "max_sequence_length", "max_seq_length", "seq_len")
    found = [v for v in (r.raw(k) for k in keys) if _plausible_length(v)]
    derived = min(found) if found else max_context
    model_max = r.raw("model_max_length")
    if _plausible_length(model_max):
        derived = model_max
    if derived is None:
        return None
    scaling = _rope_scaling(r)
    kind = str(scaling.get("rope_type") or scaling.get("type") or "default")
    factor = scaling.get("factor")
    if "gemma3" in model_type or kind in ("su", "longrope", "llama3", "default"):
        return int(derived)
    if not isinstance(factor, (int, float)) or isinstance(factor, bool):
        return int(derived)
    if not 0 < factor <= MAX_CONFIG_INT:  # NaN, inf and absurd factors: no scaling
        return int(derived)
    original = scaling.get("original_max_position_embeddings")
    if kind == "yarn" and isinstance(original, int) and _plausible_length(original):
        derived = original
    return min(int(derived * factor), MAX_CONFIG_INT)


def _plausible_length(value: Any) -> bool:
    """A sequence-length key that can be used as one: a positive int within range."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_CONFIG_INT

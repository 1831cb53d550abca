"""The model families the parser knows: one :class:`Family` entry per ``model_type``.

Each entry mirrors the transformers modeling/configuration file of the family
(``transformers/models/<family>/``): which layers carry biases, how many norms a block has,
whether the MLP is gated, the config class's defaults a config may omit, and the hooks
where its arithmetic differs from the generic decoder. A ``model_type`` missing here goes
through the generic (Llama-like) rules and is marked unknown. How to add a family: README,
"Adding a family".
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any

from .attention import falcon_kv_heads
from .family import Family, four_norms, one_norm
from .ffn import qwen_moe_layers
from .hybrid import (
    bamba_mixers,
    falcon_h1_layers,
    jamba_mixers,
    jamba_moe_layers,
    jamba_ssm,
    nemotron_h_blocks,
    nemotron_h_layers,
    zamba2_layers,
    zamba2_shared_params,
)
from .layers import all_ssm, gemma2_windows, gemma3_windows, qwen_windows
from .reader import Reader
from .ssm import lightning_ssm, mamba1_ssm

__all__ = ["FAMILIES", "MODEL_TYPE_ALIASES", "family_of"]


def _falcon_norms(r: Reader) -> int:
    # FalconDecoderLayer: new_decoder_architecture -> ln_attn + ln_mlp (num_ln_in_parallel_attn=2);
    # parallel_attn alone -> a single input_layernorm; otherwise input + post_attention.
    if r.flag("new_decoder_architecture"):
        return 2 if r.integer("num_ln_in_parallel_attn", default=2) == 2 else 1
    return 1 if r.flag("parallel_attn", default=True) else 2


def _lm_head_bias(r: Reader, _: int) -> int:
    """An lm_head with a bias (Phi, GPT-J): vocab_size parameters."""
    return r.integer("vocab_size")


def _opt_extra(r: Reader, hidden: int) -> int:
    proj = r.integer("word_embed_proj_dim", default=hidden)
    return 2 * proj * hidden if proj != hidden else 0  # OPTDecoder project_in/project_out


def _bloom_extra(_: Reader, hidden: int) -> int:
    return 2 * hidden  # word_embeddings_layernorm (weight + bias)


def _defaults(**values: Any) -> MappingProxyType[str, Any]:
    return MappingProxyType(values)


_LLAMA = Family()
_GPT2 = Family(
    mlp_gated=False,
    mlp_bias=True,
    attn_bias=True,
    norm="layer",
    tied_default=True,
    learned_positions=True,
)
# Qwen families: a sigmoid gate on the shared expert and Qwen's MoE layer rule.
_QWEN = Family(shared_expert_gate=True, moe_layers=qwen_moe_layers)
# Qwen2: q/k/v carry biases, o_proj does not (modeling_qwen2.py); sliding window from
# max_window_layers on (the -VL variants take it from their own configs, not this rule).
_QWEN2 = dataclasses.replace(_QWEN, qkv_bias_only=True)
_QWEN2_TEXT = dataclasses.replace(_QWEN2, window_pattern=qwen_windows)
# Qwen3: per-head RMSNorm on q and k.
_QWEN3 = dataclasses.replace(_QWEN, qk_norm=True)
# Qwen3-Next / Qwen3.5: gated attention every few layers, gated DeltaNet in between.
_QWEN_GATED = dataclasses.replace(_QWEN, qk_norm=True, output_gate_default=True)
# Per-head RMSNorm on q and k (EXAONE 4).
_QK_NORM = Family(qk_norm=True)
_GEMMA3 = Family(
    tied_default=True,
    norms_per_layer_fn=four_norms,
    qk_norm=True,
    local_rope_cache=True,
    window_pattern=gemma3_windows,
)
# OLMo 2/3, OLMoE: q_norm and k_norm span the whole projection (heads x head_dim).
_OLMO2 = Family(qk_norm_full=True)
# Llama 4: every block MoE by default (moe_layers) with one shared expert as wide as
# an expert; q/k L2 norms have no weights; chunked attention on RoPE layers.
_LLAMA4 = Family(shared_expert_is_expert=True)
_MAMBA2_HYBRID = Family(has_ssm=True)
_MAMBA1 = Family(
    has_ssm=True,
    is_ssm_only=True,
    tied_default=True,
    norms_per_layer_fn=one_norm,
    parse_ssm=mamba1_ssm,
    mixer_pattern=all_ssm,
)
_ENCODER = "an encoder-only model (no KV cache, no generation)"

FAMILIES: dict[str, Family] = {
    # LlamaConfig.__init__ defaults
    "llama": dataclasses.replace(
        _LLAMA,
        defaults=_defaults(
            vocab_size=32000,
            hidden_size=4096,
            intermediate_size=11008,
            num_hidden_layers=32,
            num_attention_heads=32,
            max_position_embeddings=2048,
        ),
    ),
    # MistralConfig.__init__ defaults
    "mistral": dataclasses.replace(
        _LLAMA,
        defaults=_defaults(
            vocab_size=32000,
            hidden_size=4096,
            intermediate_size=14336,
            num_hidden_layers=32,
            num_attention_heads=32,
            num_key_value_heads=8,
            max_position_embeddings=131072,
        ),
    ),
    "mixtral": _LLAMA,
    # Qwen2Config.__init__ defaults
    "qwen2": dataclasses.replace(
        _QWEN2_TEXT,
        defaults=_defaults(
            vocab_size=151936,
            hidden_size=4096,
            intermediate_size=22016,
            num_hidden_layers=32,
            num_attention_heads=32,
            num_key_value_heads=32,
            max_position_embeddings=32768,
        ),
    ),
    "qwen2_moe": _QWEN2_TEXT,
    "qwen3": dataclasses.replace(_QWEN3, window_pattern=qwen_windows),
    "qwen3_moe": dataclasses.replace(_QWEN3, window_pattern=qwen_windows),
    "qwen3_next": _QWEN_GATED,
    "qwen3_5_text": _QWEN_GATED,
    "qwen3_5_moe_text": _QWEN_GATED,
    "qwen3_vl_text": _QWEN3,
    "qwen2_vl": _QWEN2,
    "qwen2_5_vl": _QWEN2,
    "qwen2_vl_text": _QWEN2,
    "qwen2_5_vl_text": _QWEN2,
    # PhiForCausalLM: biases everywhere, one LayerNorm per (parallel) block, lm_head bias.
    "phi": Family(
        mlp_gated=False,
        mlp_bias=True,
        attn_bias_always=True,
        norm="layer",
        norms_per_layer_fn=one_norm,
        extra_params=_lm_head_bias,
    ),
    "phi3": _LLAMA,
    "granite": _LLAMA,
    "olmo2": _OLMO2,
    "olmo3": _OLMO2,
    "exaone4": _QK_NORM,
    "gemma": Family(tied_default=True),
    "gemma2": Family(
        tied_default=True, norms_per_layer_fn=four_norms, window_pattern=gemma2_windows
    ),
    # Gemma3TextConfig defaults (gemma-3 multimodal repos omit vocab_size and friends).
    "gemma3_text": dataclasses.replace(
        _GEMMA3,
        defaults=_defaults(
            vocab_size=262208,
            hidden_size=2304,
            intermediate_size=9216,
            num_hidden_layers=26,
            num_attention_heads=8,
            num_key_value_heads=4,
            head_dim=256,
            max_position_embeddings=131072,
            sliding_window=4096,
            sliding_window_pattern=6,
        ),
    ),
    "gemma3": dataclasses.replace(_GEMMA3, text_model_type="gemma3_text"),
    # FalconModel: fused query_key_value, dense, 4h MLP without gate; LayerNorm with bias;
    # MLP biases follow the config's "bias" key.
    "falcon": Family(
        mlp_gated=False,
        norm="layer",
        tied_default=True,
        norms_per_layer_fn=_falcon_norms,
        mlp_bias_key="bias",
        kv_heads=falcon_kv_heads,
    ),
    # GPT2Config defaults
    "gpt2": dataclasses.replace(
        _GPT2, defaults=_defaults(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12,
                                  n_head=12)
    ),
    # GPTBigCode (StarCoder): GPT-2 layout with multi-query attention (one KV head).
    "gpt_bigcode": _GPT2,
    # GPT-J: plain MLP with biases, bias-free attention, one LayerNorm per parallel block,
    # untied lm_head with a bias.
    "gptj": Family(
        mlp_gated=False,
        mlp_bias=True,
        norm="layer",
        norms_per_layer_fn=one_norm,
        extra_params=_lm_head_bias,
    ),
    # OLMo (1): LayerNorm without parameters.
    "olmo": Family(norm="none"),
    "olmoe": _OLMO2,
    "phimoe": Family(norm="layer"),
    "llama4_text": _LLAMA4,
    "llama4": _LLAMA4,
    "seed_oss": _LLAMA,
    # Granite 4.0 hybrid: Mamba-2 mixers ("linear_attention" in layer_types) and a few
    # attention blocks; every block has MoE experts plus an always-on shared MLP.
    "granitemoehybrid": _MAMBA2_HYBRID,
    # Bamba: Mamba-2 blocks with attention at attn_layer_indices; dense MLP in every block.
    "bamba": dataclasses.replace(_MAMBA2_HYBRID, mixer_pattern=bamba_mixers),
    # MiniMax-Text-01 / M1: lightning (linear) attention layers between softmax ones, MoE.
    "minimax": dataclasses.replace(_MAMBA2_HYBRID, parse_ssm=lightning_ssm),
    # Falcon-H1: attention and Mamba-2 in parallel in every block, gated MLP, two RMSNorms.
    "falcon_h1": dataclasses.replace(_MAMBA2_HYBRID, layers=falcon_h1_layers),
    # Zamba2: Mamba-2 blocks plus shared attention blocks (spec.hybrid); its head size is
    # attention_head_dim (kv_channels there is half of it).
    "zamba2": Family(
        has_ssm=True,
        tied_default=True,
        norms_per_layer_fn=one_norm,
        head_dim_keys=("attention_head_dim",),
        layers=zamba2_layers,
        extra_params=zamba2_shared_params,
    ),
    # Nemotron-H: single-purpose blocks (Mamba-2, attention, ReLU^2 MLP or MoE), one RMSNorm
    # each; experts and the shared expert are up/down only (NemotronHMoE, NemotronHMLP).
    "nemotron_h": Family(
        has_ssm=True,
        mlp_gated=False,
        moe_gated=False,
        norms_per_layer_fn=one_norm,
        block_kinds=nemotron_h_blocks,
        layers=nemotron_h_layers,
    ),
    # GPTNeoX: biases everywhere, untied embed_out, two LayerNorms per block.
    "gpt_neox": Family(mlp_gated=False, mlp_bias=True, attn_bias=True, norm="layer"),
    # OPT: learned positions with an offset of 2 rows (OPTLearnedPositionalEmbedding);
    # MLP biases follow enable_bias.
    "opt": Family(
        mlp_gated=False,
        mlp_bias=True,
        mlp_bias_key="enable_bias",
        attn_bias=True,
        norm="layer",
        tied_default=True,
        learned_positions=True,
        position_offset=2,
        extra_params=_opt_extra,
    ),
    "bloom": Family(
        mlp_gated=False,
        mlp_bias=True,
        attn_bias=True,
        norm="layer",
        tied_default=True,
        extra_params=_bloom_extra,
    ),
    "deepseek_v2": _LLAMA,
    "deepseek_v3": _LLAMA,
    # GptOss: q/k/v/o biases, per-head sinks, expert and router biases.
    "gpt_oss": Family(attn_bias=True, attention_sinks=True, expert_bias=True, router_bias=True),
    # Jamba: Mamba-1 mixers with periodic attention and MoE layers (spec.hybrid).
    "jamba": Family(
        has_ssm=True, parse_ssm=jamba_ssm, mixer_pattern=jamba_mixers, moe_layers=jamba_moe_layers
    ),
    "mamba": _MAMBA1,
    "falcon_mamba": _MAMBA1,
    # MllamaTextModel's embed_tokens has vocab_size + 8 rows (modeling_mllama.py).
    "mllama": dataclasses.replace(_LLAMA, text_model_type="mllama_text_model"),
    "mllama_text_model": Family(embed_rows_extra=8),
    # Outer multimodal types: which text family their text_config defaults to.
    "llava": dataclasses.replace(_LLAMA, text_model_type="llama"),
    "mistral3": dataclasses.replace(_LLAMA, text_model_type="mistral"),
    "starcoder2": Family(mlp_gated=False, mlp_bias=True, attn_bias=True, norm="layer"),
    # Cohere: one LayerNorm (weight only) per parallel block.
    "cohere": Family(norms_per_layer_fn=one_norm),
    # StableLM: LayerNorm with bias, two per block.
    "stablelm": Family(norm="layer"),
    # Mamba2Model: RMSNorm per block, no MLP, untied LM head.
    "mamba2": Family(
        has_ssm=True, is_ssm_only=True, norms_per_layer_fn=one_norm, mixer_pattern=all_ssm
    ),
    # Not sized: they generate no text token by token.
    "bert": Family(unsupported=_ENCODER),
    "roberta": Family(unsupported=_ENCODER),
    "distilbert": Family(unsupported=_ENCODER),
    "xlm-roberta": Family(unsupported=_ENCODER),
    "clip": Family(unsupported="a vision-text embedding model"),
    "vit": Family(unsupported="an image classification model"),
    "whisper": Family(unsupported="a speech recognition encoder-decoder"),
    "t5": Family(unsupported="an encoder-decoder model"),
}

# Old names that configs on the Hub still carry (Falcon's first releases).
MODEL_TYPE_ALIASES = {"RefinedWebModel": "falcon", "RefinedWeb": "falcon"}

_UNKNOWN = Family(known=False)
# Qwen's later types share its MoE conventions before they get an entry here.
_UNKNOWN_QWEN = dataclasses.replace(_QWEN, known=False)


def family_of(model_type: str) -> Family:
    """The entry of ``model_type``. ``<family>_text`` (the text model of a multimodal
    family) falls back to ``<family>`` without its config defaults; anything else gets the
    generic rules, marked unknown."""
    family = FAMILIES.get(model_type)
    if family is not None:
        return family
    base = FAMILIES.get(model_type.removesuffix("_text")) if model_type.endswith("_text") else None
    if base is not None:
        return dataclasses.replace(base, defaults=MappingProxyType({}), text_model_type="")
    return _UNKNOWN_QWEN if model_type.startswith("qwen") else _UNKNOWN

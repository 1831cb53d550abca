"""Per-family facts that configs leave implicit.

Each entry mirrors the transformers modeling/configuration file of the family
(``transformers/models/<family>/``): which layers carry biases, how many norms a
block has, whether the MLP is gated, and the defaults a config may omit. A
``model_type`` missing here goes through the generic (Llama-like) rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FAMILY_DEFAULTS", "KNOWN_FAMILIES", "FamilyTraits", "family_traits"]


def _two(_: Any) -> int:
    return 2


def _four(_: Any) -> int:
    return 4


def _one(_: Any) -> int:
    return 1


def _falcon_norms(r: Any) -> int:
    # FalconDecoderLayer: new_decoder_architecture -> ln_attn + ln_mlp (num_ln_in_parallel_attn=2);
    # parallel_attn alone -> a single input_layernorm; otherwise input + post_attention.
    if r.flag("new_decoder_architecture"):
        return 2 if r.integer("num_ln_in_parallel_attn", default=2) == 2 else 1
    return 1 if r.flag("parallel_attn", default=True) else 2


@dataclass(frozen=True)
class FamilyTraits:
    known: bool = True
    unsupported: str = ""
    mlp_gated: bool = True
    mlp_bias: bool = False
    attn_bias: bool = False
    qkv_bias_only: bool = False
    qk_norm: bool = False
    qk_norm_full: bool = False
    attn_bias_always: bool = False
    attention_sinks: bool = False
    norm: str = "rms"
    norms_per_layer_fn: Callable[[Any], int] = field(default=_two)
    final_norm: bool = True
    tied_default: bool = False
    learned_positions: bool = False
    position_offset: int = 0
    embed_rows_extra: int = 0
    expert_bias: bool = False
    router_bias: bool = False
    has_ssm: bool = False
    lm_head_bias: bool = False
    output_gate_default: bool = False
    moe_gated: bool = True
    shared_expert_is_expert: bool = False
    is_ssm_only: bool = False


_LLAMA = FamilyTraits()
_GPT2 = FamilyTraits(
    mlp_gated=False,
    mlp_bias=True,
    attn_bias=True,
    norm="layer",
    tied_default=True,
    learned_positions=True,
)

# Qwen2 family: q/k/v carry biases, o_proj does not (modeling_qwen2.py).
_QWEN2 = FamilyTraits(qkv_bias_only=True)
# Per-head RMSNorm on q and k (Qwen3, EXAONE 4).
_QK_NORM = FamilyTraits(qk_norm=True)
# Qwen3-Next / Qwen3.5: gated attention every few layers, gated DeltaNet in between.
_QWEN_GATED = FamilyTraits(qk_norm=True, output_gate_default=True)
_GEMMA3 = FamilyTraits(tied_default=True, norms_per_layer_fn=_four, qk_norm=True)
# OLMo 2/3, OLMoE: q_norm and k_norm span the whole projection (heads x head_dim).
_OLMO2 = FamilyTraits(qk_norm_full=True)
# Llama 4: every block MoE by default (moe_layers) with one shared expert as wide as
# an expert; q/k L2 norms have no weights; chunked attention on RoPE layers.
_LLAMA4 = FamilyTraits(shared_expert_is_expert=True)
_MAMBA2_HYBRID = FamilyTraits(has_ssm=True)

_TRAITS: dict[str, FamilyTraits] = {
    "llama": _LLAMA,
    "mistral": _LLAMA,
    "mixtral": _LLAMA,
    "qwen2": _QWEN2,
    "qwen2_moe": _QWEN2,
    "qwen3": _QK_NORM,
    "qwen3_moe": _QK_NORM,
    "qwen3_next": _QWEN_GATED,
    "qwen3_5_text": _QWEN_GATED,
    "qwen3_5_moe_text": _QWEN_GATED,
    "qwen3_vl_text": _QK_NORM,
    # PhiForCausalLM: biases everywhere, one LayerNorm per (parallel) block, lm_head bias.
    "phi": FamilyTraits(
        mlp_gated=False,
        mlp_bias=True,
        attn_bias_always=True,
        norm="layer",
        norms_per_layer_fn=_one,
        lm_head_bias=True,
    ),
    "phi3": _LLAMA,
    "granite": _LLAMA,
    "olmo2": _OLMO2,
    "olmo3": _OLMO2,
    "exaone4": _QK_NORM,
    "gemma": FamilyTraits(tied_default=True),
    "gemma2": FamilyTraits(tied_default=True, norms_per_layer_fn=_four),
    "gemma3_text": _GEMMA3,
    "gemma3": _GEMMA3,
    # FalconModel: fused query_key_value, dense, 4h MLP without gate; LayerNorm with bias.
    "falcon": FamilyTraits(
        mlp_gated=False, norm="layer", tied_default=True, norms_per_layer_fn=_falcon_norms
    ),
    "gpt2": _GPT2,
    # GPTBigCode (StarCoder): GPT-2 layout with multi-query attention (one KV head).
    "gpt_bigcode": _GPT2,
    # GPT-J: plain MLP with biases, bias-free attention, one LayerNorm per parallel block,
    # untied lm_head with a bias.
    "gptj": FamilyTraits(
        mlp_gated=False, mlp_bias=True, norm="layer", norms_per_layer_fn=_one, lm_head_bias=True
    ),
    # OLMo (1): LayerNorm without parameters.
    "olmo": FamilyTraits(norm="none"),
    "olmoe": _OLMO2,
    "phimoe": FamilyTraits(norm="layer"),
    "llama4_text": _LLAMA4,
    "llama4": _LLAMA4,
    "seed_oss": _LLAMA,
    # Granite 4.0 hybrid: Mamba-2 mixers ("linear_attention" in layer_types) and a few
    # attention blocks; every block has MoE experts plus an always-on shared MLP.
    "granitemoehybrid": _MAMBA2_HYBRID,
    # Bamba: Mamba-2 blocks with attention at attn_layer_indices; dense MLP in every block.
    "bamba": _MAMBA2_HYBRID,
    # MiniMax-Text-01 / M1: lightning (linear) attention layers between softmax ones, MoE.
    "minimax": _MAMBA2_HYBRID,
    # Falcon-H1: attention and Mamba-2 in parallel in every block, gated MLP, two RMSNorms.
    "falcon_h1": _MAMBA2_HYBRID,
    # Zamba2: Mamba-2 blocks plus shared attention blocks (see spec._zamba2_shared_params).
    "zamba2": FamilyTraits(has_ssm=True, tied_default=True, norms_per_layer_fn=_one),
    # Nemotron-H: single-purpose blocks (Mamba-2, attention, ReLU^2 MLP or MoE), one RMSNorm
    # each; experts and the shared expert are up/down only (NemotronHMoE, NemotronHMLP).
    "nemotron_h": FamilyTraits(
        has_ssm=True, mlp_gated=False, moe_gated=False, norms_per_layer_fn=_one
    ),
    # GPTNeoX: biases everywhere, untied embed_out, two LayerNorms per block.
    "gpt_neox": FamilyTraits(mlp_gated=False, mlp_bias=True, attn_bias=True, norm="layer"),
    # OPT: learned positions with an offset of 2 rows (OPTLearnedPositionalEmbedding).
    "opt": FamilyTraits(
        mlp_gated=False,
        mlp_bias=True,
        attn_bias=True,
        norm="layer",
        tied_default=True,
        learned_positions=True,
        position_offset=2,
    ),
    "bloom": FamilyTraits(
        mlp_gated=False, mlp_bias=True, attn_bias=True, norm="layer", tied_default=True
    ),
    "deepseek_v2": _LLAMA,
    "deepseek_v3": _LLAMA,
    # GptOss: q/k/v/o biases, per-head sinks, expert and router biases.
    "gpt_oss": FamilyTraits(
        attn_bias=True, attention_sinks=True, expert_bias=True, router_bias=True
    ),
    "jamba": FamilyTraits(has_ssm=True),
    "mamba": FamilyTraits(
        has_ssm=True, is_ssm_only=True, tied_default=True, norms_per_layer_fn=_one
    ),
    "falcon_mamba": FamilyTraits(
        has_ssm=True, is_ssm_only=True, tied_default=True, norms_per_layer_fn=_one
    ),
    "mllama": _LLAMA,
    # MllamaTextModel's embed_tokens has vocab_size + 8 rows (modeling_mllama.py).
    "mllama_text_model": FamilyTraits(embed_rows_extra=8),
    "qwen2_vl": _QWEN2,
    "qwen2_5_vl": _QWEN2,
    "qwen2_vl_text": _QWEN2,
    "qwen2_5_vl_text": _QWEN2,
    "llava": _LLAMA,
    "mistral3": _LLAMA,
    "starcoder2": FamilyTraits(mlp_gated=False, mlp_bias=True, attn_bias=True, norm="layer"),
    # Cohere: one LayerNorm (weight only) per parallel block.
    "cohere": FamilyTraits(norms_per_layer_fn=_one),
    # StableLM: LayerNorm with bias, two per block.
    "stablelm": FamilyTraits(norm="layer"),
    # Mamba2Model: RMSNorm per block, no MLP, untied LM head.
    "mamba2": FamilyTraits(has_ssm=True, is_ssm_only=True, norms_per_layer_fn=_one),
}

_UNSUPPORTED = {
    "bert": "an encoder-only model (no KV cache, no generation)",
    "roberta": "an encoder-only model (no KV cache, no generation)",
    "distilbert": "an encoder-only model (no KV cache, no generation)",
    "xlm-roberta": "an encoder-only model (no KV cache, no generation)",
    "clip": "a vision-text embedding model",
    "vit": "an image classification model",
    "whisper": "a speech recognition encoder-decoder",
    "t5": "an encoder-decoder model",
}

KNOWN_FAMILIES = tuple(sorted(_TRAITS))

# Defaults of transformers' config classes, for keys a config.json may omit
# (e.g. llava-1.5's text_config lists only a few keys and leans on LlamaConfig).
FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    # LlamaConfig.__init__ defaults
    "llama": {
        "vocab_size": 32000,
        "hidden_size": 4096,
        "intermediate_size": 11008,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "max_position_embeddings": 2048,
    },
    # MistralConfig.__init__ defaults
    "mistral": {
        "vocab_size": 32000,
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "max_position_embeddings": 131072,
    },
    # Qwen2Config.__init__ defaults
    "qwen2": {
        "vocab_size": 151936,
        "hidden_size": 4096,
        "intermediate_size": 22016,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 32,
        "max_position_embeddings": 32768,
    },
    # GPT2Config defaults
    "gpt2": {"vocab_size": 50257, "n_positions": 1024, "n_embd": 768, "n_layer": 12, "n_head": 12},
    # Gemma3TextConfig defaults (gemma-3 multimodal repos omit vocab_size and friends).
    "gemma3_text": {
        "vocab_size": 262208,
        "hidden_size": 2304,
        "intermediate_size": 9216,
        "num_hidden_layers": 26,
        "num_attention_heads": 8,
        "num_key_value_heads": 4,
        "head_dim": 256,
        "max_position_embeddings": 131072,
        "sliding_window": 4096,
        "sliding_window_pattern": 6,
    },
    # Outer multimodal types: which text family their text_config defaults to.
    "llava": {"_text_model_type": "llama"},
    "mistral3": {"_text_model_type": "mistral"},
    "mllama": {"_text_model_type": "mllama_text_model"},
    "gemma3": {"_text_model_type": "gemma3_text"},
}


def family_traits(model_type: str) -> FamilyTraits:
    """The traits of ``model_type``; unknown types get the generic rules, marked unknown."""
    if model_type in _UNSUPPORTED:
        return FamilyTraits(unsupported=_UNSUPPORTED[model_type])
    traits = _TRAITS.get(model_type)
    if traits is not None:
        return traits
    if model_type.endswith("_text") and model_type[: -len("_text")] in _TRAITS:
        return _TRAITS[model_type[: -len("_text")]]
    return FamilyTraits(known=False)

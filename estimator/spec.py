"""Normalize a Hugging Face ``config.json`` into one typed :class:`ModelSpec`.

Configs name the same thing many ways (``n_embd``/``hidden_size``/``d_model``),
nest the language model of multimodal repos under ``text_config`` and rely on
each transformers config class's defaults for keys they omit. This module is the
only place that knows those spellings; everything downstream reads the spec.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .errors import ConfigError, MissingConfigKeyError, UnsupportedModelError
from .families import FAMILY_DEFAULTS, family_traits
from .values import MAX_CONFIG_INT, config_float, config_int, describe_number
from .vision import VisionSpec, parse_vision

__all__ = [
    "AttentionSpec",
    "LayerSpec",
    "MLASpec",
    "MLPSpec",
    "MoESpec",
    "ModelSpec",
    "QuantSpec",
    "SSMSpec",
    "parse_config",
]

# Keys under which multimodal repos nest their language model's config.
_TEXT_CONFIG_KEYS = ("text_config", "llm_config", "language_config", "text_model_config")


@dataclass(frozen=True)
class MLASpec:
    """Multi-head latent attention (DeepSeek-V2 paper, arXiv:2405.04434, sec. 2.1)."""

    q_lora_rank: int | None
    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int

    @property
    def latent_width(self) -> int:
        """Values cached per token per layer when the latent is cached (512 + 64 = 576)."""
        return self.kv_lora_rank + self.qk_rope_head_dim


@dataclass(frozen=True)
class AttentionSpec:
    num_heads: int
    num_kv_heads: int
    head_dim: int
    v_head_dim: int
    qkv_bias: bool = False
    o_bias: bool = False
    qk_norm: bool = False  # per-head RMSNorm on q and k (Qwen3, Gemma 3)
    qk_norm_full: bool = False  # RMSNorm over the whole q and k projections (OLMo 2/3)
    sinks: bool = False  # learned per-head attention sinks (gpt-oss)
    output_gate: bool = False  # q_proj also yields a sigmoid gate (Qwen3-Next/Qwen3.5)
    mla: MLASpec | None = None

    @property
    def kind(self) -> str:
        if self.mla is not None:
            return "MLA"
        if self.num_kv_heads == self.num_heads:
            return "MHA"
        if self.num_kv_heads == 1:
            return "MQA"
        return "GQA"


@dataclass(frozen=True)
class MLPSpec:
    intermediate_size: int
    gated: bool  # SwiGLU/GeGLU: three matrices instead of two
    bias: bool = False


@dataclass(frozen=True)
class MoESpec:
    num_experts: int
    experts_per_token: int
    expert_intermediate: int
    gated: bool = True
    expert_bias: bool = False
    shared_intermediate: int = 0  # total width of the always-on shared expert(s)
    shared_gate: bool = False  # Qwen2-MoE's sigmoid gate on the shared expert
    router_bias: bool = False
    router_score_bias: bool = False  # DeepSeek-V3 e_score_correction_bias


@dataclass(frozen=True)
class SSMSpec:
    """A Mamba mixer (Mamba: arXiv:2312.00752; Mamba-2: arXiv:2405.21060)."""

    version: int
    d_inner: int
    d_state: int
    d_conv: int
    dt_rank: int
    n_groups: int = 1
    n_heads: int = 0  # Mamba-2 only
    conv_bias: bool = True
    proj_bias: bool = False
    inner_norms: bool = False  # Jamba's dt/B/C RMSNorms
    gated_norm: bool = True  # Mamba-2's RMSNormGated over d_inner before out_proj
    state_fp32: bool = False  # the recurrent state is kept in fp32 (config mamba_ssm_dtype)
    state_in_model_dtype: bool = False  # even where an engine keeps SSM states in fp32

    @property
    def conv_dim(self) -> int:
        if self.version == 1:
            return self.d_inner
        if self.version == 4:
            return 0  # lightning attention has no convolution
        # Mamba-2: x, B, C pass the conv; gated DeltaNet (version 3): q, k, v do.
        return self.d_inner + 2 * self.n_groups * self.d_state

    @property
    def ssm_state_elements(self) -> int:
        """Recurrent state per sequence per layer (d_inner x d_state for Mamba; per value
        head a key_dim x value_dim matrix for gated DeltaNet, which is the same product)."""
        return self.d_inner * self.d_state


@dataclass(frozen=True)
class QuantSpec:
    """A pre-quantized checkpoint's ``quantization_config``, reduced to what sizes it."""

    method: str  # gptq | awq | bitsandbytes | fp8 | compressed-tensors | mxfp4 | other
    bits: float
    group_size: int | None
    precision_key: str  # the matching key of estimator.precision.PRECISIONS
    skipped_modules: tuple[str, ...] = ()
    label: str = ""


@dataclass(frozen=True)
class LayerSpec:
    mixer: str  # attention | ssm | cross_attention | none (an FFN-only block, Nemotron-H)
    window: int | None = None  # sliding-window size; None: sees the whole context
    moe: bool = False
    ffn: bool = True  # False for mixer-only blocks (Nemotron-H's Mamba and attention blocks)
    # An SSM block that also runs attention and caches its K/V: "shared" (Zamba2: one shared
    # attention block, counted once) or "parallel" (Falcon-H1: its own attention, side by side).
    extra_attention: str = ""


@dataclass(frozen=True)
class ModelSpec:
    """Everything the estimator needs to know about one model's structure."""

    model_type: str
    architecture: str
    hidden_size: int
    vocab_size: int
    max_context: int | None
    layers: tuple[LayerSpec, ...]
    attention: AttentionSpec
    mlp: MLPSpec | None
    moe: MoESpec | None
    ssm: SSMSpec | None
    norm: str  # rms | layer (weight + bias) | none (parameter-free, OLMo 1)
    norms_per_layer: int
    tied_embeddings: bool
    position_embeddings: int = 0  # learned absolute position rows (GPT-2, OPT)
    embed_rows_extra: int = 0  # extra embedding rows (mllama's 8 image tokens)
    extra_params: int = 0  # odd parameters outside the common pattern
    vision: VisionSpec | None = None
    quantization: QuantSpec | None = None
    checkpoint_dtype: str | None = None
    known_family: bool = True
    rotary_dim: int = 0  # dims that get RoPE per head (0: no rotary embedding)
    # Positions of each cos/sin cache a vLLM-style engine builds (one per distinct RoPE).
    rope_cache_rows: tuple[int, ...] = ()
    # The longest max_model_len vLLM accepts without VLLM_ALLOW_LONG_MAX_MODEL_LEN
    # (config/model.py _get_and_verify_max_len); None when the config states no limit.
    engine_max_context: int | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @cached_property
    def layer_groups(self) -> tuple[tuple[LayerSpec, int], ...]:
        """Distinct layers with their counts (a 61-layer model has two or three kinds)."""
        counts: dict[LayerSpec, int] = {}
        for layer in self.layers:
            counts[layer] = counts.get(layer, 0) + 1
        return tuple(counts.items())

    @cached_property
    def num_layers(self) -> int:
        return len(self.layers)

    @cached_property
    def attention_layers(self) -> int:
        return sum(1 for layer in self.layers if layer.mixer == "attention")

    @cached_property
    def sliding_layers(self) -> int:
        return sum(1 for layer in self.layers if layer.mixer == "attention" and layer.window)

    @cached_property
    def ssm_layers(self) -> int:
        return sum(1 for layer in self.layers if layer.mixer == "ssm")

    @cached_property
    def sliding_window(self) -> int | None:
        windows = [layer.window for layer in self.layers if layer.window]
        return min(windows) if windows else None


# ---------------------------------------------------------------------------
# Reading values


class _Reader:
    """Looks keys up in a config with family defaults behind it.

    ``prefix`` is where the config sits in the file (``text_config.``) so that errors
    name the key a person can find.
    """

    def __init__(
        self, config: Mapping[str, Any], model_type: str, use_defaults: bool, prefix: str = ""
    ) -> None:
        self.config = config
        self.prefix = prefix
        # Only nested text configs lean on class defaults (llava-1.5 lists a handful of keys);
        # a top-level config missing a key is reported, not silently defaulted.
        self.defaults = FAMILY_DEFAULTS.get(model_type, {}) if use_defaults else {}

    def name(self, key: str) -> str:
        return self.prefix + key

    def has(self, *keys: str) -> bool:
        return any(self.config.get(k) is not None or k in self.defaults for k in keys)

    def raw(self, *keys: str) -> Any:
        for key in keys:
            value = self.config.get(key)
            if value is not None:
                return value
        for key in keys:
            if key in self.defaults:
                return self.defaults[key]
        return None

    def _key_of(self, keys: tuple[str, ...]) -> str:
        """The key that gave the value (for messages)."""
        for key in keys:
            if self.config.get(key) is not None:
                return self.name(key)
        return self.name(keys[0])

    def integer(
        self,
        *keys: str,
        default: int | None = None,
        required: bool = True,
        low: int = 0,
        high: int = MAX_CONFIG_INT,
    ) -> int:
        value = self.raw(*keys)
        if value is None:
            if default is not None:
                return default
            if required:
                raise MissingConfigKeyError(self.name(keys[0]), _alias_note(keys))
            return 0
        return config_int(self._key_of(keys), value, low=low, high=high)

    def opt_int(self, *keys: str, high: int = MAX_CONFIG_INT) -> int | None:
        value = self.raw(*keys)
        return None if value is None else config_int(self._key_of(keys), value, high=high)

    def positive(self, *keys: str, default: int | None = None) -> int:
        """A required (or defaulted) count that must be at least 1."""
        return self.integer(*keys, default=default, low=1)

    def int_list(self, key: str) -> list[int]:
        """A list of layer indices (e.g. mlp_only_layers); anything else is a ConfigError."""
        value = self.raw(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise ConfigError(
                f"config.json key '{self.name(key)}' should be a list of layer indices"
            )
        return value

    def flag(self, *keys: str, default: bool = False) -> bool:
        value = self.raw(*keys)
        if value is None:
            return default
        return bool(value)


_MAX_LAYERS = 10_000


def _alias_note(keys: tuple[str, ...]) -> str:
    return "also looked for " + ", ".join(keys[1:]) if len(keys) > 1 else ""


# ---------------------------------------------------------------------------
# Parsing


def text_config_of(config: Mapping[str, Any]) -> tuple[Mapping[str, Any], str | None]:
    """The language model's config and, if nested, the key it was found under."""
    for key in _TEXT_CONFIG_KEYS:
        sub = config.get(key)
        if isinstance(sub, Mapping):
            return sub, key
    return config, None


def parse_config(config: Mapping[str, Any]) -> ModelSpec:
    """Turn a config.json dict into a :class:`ModelSpec`, or raise ``ConfigError``."""
    try:
        return _parse_config(config)
    except ConfigError:
        raise
    except (
        TypeError,
        ValueError,
        KeyError,
        AttributeError,
        ZeroDivisionError,
        OverflowError,
        IndexError,
        RecursionError,
    ) as exc:
        # Hand-edited or truncated configs can put any JSON value anywhere; say so plainly
        # rather than leak a Python traceback to the page or the CLI.
        raise ConfigError(f"config.json has a value of an unexpected type or size ({exc})") from exc


def _parse_config(config: Mapping[str, Any]) -> ModelSpec:
    if not isinstance(config, Mapping):
        raise ConfigError(f"config.json must be a JSON object, got {type(config).__name__}")
    warnings: list[str] = []
    text, nested_key = text_config_of(config)
    outer_type = _model_type(config)
    model_type = _model_type(text) or outer_type
    if nested_key is not None and not model_type:
        model_type = FAMILY_DEFAULTS.get(outer_type or "", {}).get("_text_model_type", "")
    if not model_type:
        if "architectures" not in config and not _looks_like_decoder(text):
            raise MissingConfigKeyError("model_type")
        warnings.append("config.json has no 'model_type'; read with the generic decoder rules")
    traits = family_traits(model_type)
    if traits.unsupported:
        raise UnsupportedModelError(
            f"'{model_type}' is {traits.unsupported}; this tool sizes text-generating models"
        )
    known = traits.known
    if not known:
        warnings.append(
            f"unknown model_type '{model_type}': estimated with the generic decoder rules "
            "(standard keys); check the parameter count against the model card"
        )
    r = _Reader(
        text, model_type, nested_key is not None, f"{nested_key}." if nested_key else ""
    )

    hidden = r.positive("hidden_size", "n_embd", "d_model", "n_embed", "dim")
    block_pattern = _block_pattern(r)
    if block_pattern:
        num_layers = len(block_pattern)
    else:
        num_layers = r.integer(
            "num_hidden_layers", "n_layer", "num_layers", "n_layers", low=1, high=_MAX_LAYERS
        )
    if num_layers > _MAX_LAYERS:
        raise ConfigError(
            f"config.json key '{r.name('num_hidden_layers')}' is implausibly large ({num_layers})"
        )
    vocab = r.positive("vocab_size", "padded_vocab_size")

    attention = _parse_attention(r, model_type, hidden, traits.is_ssm_only)
    moe = _parse_moe(r, model_type)
    ssm = _parse_ssm(r, model_type, hidden)
    mlp: MLPSpec | None = _parse_mlp(r, model_type, hidden, traits.mlp_gated, traits.mlp_bias)
    layers = _parse_layers(r, model_type, num_layers, moe, ssm is not None)
    if traits.is_ssm_only:
        mlp = None

    max_context = r.opt_int(
        "max_position_embeddings", "n_positions", "seq_length", "max_sequence_length", "n_ctx"
    )
    tied = r.flag("tie_word_embeddings", default=traits.tied_default)
    if nested_key is not None and config.get("tie_word_embeddings") is not None:
        tied = bool(config["tie_word_embeddings"])
    if moe is not None and moe.experts_per_token > moe.num_experts:
        raise ConfigError(
            f"config.json routes each token to {moe.experts_per_token} experts but has only "
            f"{moe.num_experts}"
        )

    position_rows = 0
    if traits.learned_positions:
        position_rows = (max_context or 0) + traits.position_offset
    extra = _extra_params(r, model_type, hidden)
    architecture = _architecture(config)
    vision = (
        parse_vision(config, hidden)
        if nested_key is not None or "vision_config" in config
        else None
    )
    quant = _parse_quantization(config)
    dtype = (
        config.get("torch_dtype")
        or config.get("dtype")
        or text.get("torch_dtype")
        or text.get("dtype")
    )

    return ModelSpec(
        rotary_dim=_rotary_dim(r, attention, traits.learned_positions),
        rope_cache_rows=_rope_cache_rows(r, model_type or "", max_context),
        engine_max_context=_engine_max_context(r, model_type or "", max_context),
        model_type=model_type or "unknown",
        architecture=architecture,
        hidden_size=hidden,
        vocab_size=vocab,
        max_context=max_context,
        layers=layers,
        attention=attention,
        mlp=mlp,
        moe=moe,
        ssm=ssm,
        norm=traits.norm,
        norms_per_layer=traits.norms_per_layer_fn(r),
        tied_embeddings=tied,
        position_embeddings=position_rows,
        embed_rows_extra=traits.embed_rows_extra,
        extra_params=extra,
        vision=vision,
        quantization=quant,
        checkpoint_dtype=str(dtype) if isinstance(dtype, str) else None,
        known_family=known,
        warnings=tuple(warnings),
    )


# Old names that configs on the Hub still carry (Falcon's first releases).
_MODEL_TYPE_ALIASES = {"RefinedWebModel": "falcon", "RefinedWeb": "falcon"}


def _rotary_dim(r: _Reader, attention: AttentionSpec, learned_positions: bool) -> int:
    if learned_positions or r.flag("alibi") or not attention.num_heads:
        return 0
    if attention.mla is not None:
        return attention.mla.qk_rope_head_dim
    factor = r.raw("partial_rotary_factor", "rotary_pct")
    if factor is None:
        return attention.head_dim
    share = config_float(r._key_of(("partial_rotary_factor", "rotary_pct")), factor, low=0, high=1)
    return int(attention.head_dim * share)


def _rope_cache_rows(r: _Reader, model_type: str, max_context: int | None) -> tuple[int, ...]:
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
    scaling = r.raw("rope_scaling")
    if not isinstance(scaling, Mapping):
        params = r.raw("rope_parameters")
        scaling = params if isinstance(params, Mapping) else {}
    kind = _name("rope_scaling.rope_type", scaling.get("rope_type") or scaling.get("type"))
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
    if model_type in ("gemma3", "gemma3_text"):
        return (rows, max_context)
    return (rows,)


def _name(key: str, value: Any, default: str = "default") -> str:
    """A name-valued key (a RoPE type, a layer kind, a quantization method): a string, or
    ``default`` when absent; any other JSON value is a ConfigError."""
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        raise ConfigError(
            f"config.json key '{key}' should be a name (a string), got {describe_number(value)}"
        )
    return value


def _engine_max_context(r: _Reader, model_type: str, max_context: int | None) -> int | None:
    """vLLM's derived max_model_len (config/model.py _get_and_verify_max_len): the smallest
    length key, times the RoPE scaling factor unless the type is su/longrope/llama3; YaRN
    multiplies original_max_position_embeddings; Gemma 3's limit is already scaled."""
    keys = ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length",
            "max_target_positions", "max_sequence_length", "max_seq_length", "seq_len")
    found = [v for v in (r.raw(k) for k in keys) if _plausible_length(v)]
    derived = min(found) if found else max_context
    model_max = r.raw("model_max_length")
    if _plausible_length(model_max):
        derived = model_max
    if derived is None:
        return None
    scaling = r.raw("rope_scaling")
    if not isinstance(scaling, Mapping):
        params = r.raw("rope_parameters")
        scaling = params if isinstance(params, Mapping) else {}
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


def _model_type(config: Mapping[str, Any]) -> str:
    value = config.get("model_type")
    if not isinstance(value, str):
        return ""
    return _MODEL_TYPE_ALIASES.get(value, value)


def _looks_like_decoder(config: Mapping[str, Any]) -> bool:
    return any(k in config for k in ("hidden_size", "n_embd", "d_model"))


def _architecture(config: Mapping[str, Any]) -> str:
    archs = config.get("architectures")
    if isinstance(archs, list) and archs and isinstance(archs[0], str):
        return archs[0]
    return ""


def _parse_attention(r: _Reader, model_type: str, hidden: int, ssm_only: bool) -> AttentionSpec:
    if ssm_only:
        return AttentionSpec(num_heads=0, num_kv_heads=0, head_dim=0, v_head_dim=0)
    heads = r.positive("num_attention_heads", "n_head", "num_heads", "n_heads")
    traits = family_traits(model_type)
    kv_heads = r.opt_int(
        "num_key_value_heads", "num_kv_heads", "n_head_kv", "multi_query_group_num"
    )
    if model_type == "falcon":
        # FalconConfig: new_decoder_architecture uses num_kv_heads; else multi_query -> 1 KV head.
        if r.flag("new_decoder_architecture"):
            kv_heads = r.integer("num_kv_heads", default=heads)
        elif r.flag("multi_query", default=True):
            kv_heads = 1
        else:
            kv_heads = heads
    if kv_heads is None or kv_heads == 0:
        kv_heads = 1 if r.flag("multi_query") else heads
    if heads % kv_heads:
        raise ConfigError(
            f"num_attention_heads ({heads}) is not a multiple of num_key_value_heads ({kv_heads})"
        )
    if model_type == "zamba2":
        head_dim = r.opt_int("attention_head_dim")  # kv_channels there is half of it
    else:
        head_dim = r.opt_int("head_dim", "kv_channels", "attention_head_dim")
    if not head_dim:
        if hidden % heads:
            raise ConfigError(
                f"hidden_size ({hidden}) is not divisible by num_attention_heads ({heads}) "
                "and the config gives no head_dim"
            )
        head_dim = hidden // heads
    mla = None
    if r.has("kv_lora_rank") and r.raw("kv_lora_rank"):
        mla = MLASpec(
            q_lora_rank=r.opt_int("q_lora_rank") or None,
            kv_lora_rank=r.integer("kv_lora_rank"),
            qk_nope_head_dim=r.integer("qk_nope_head_dim"),
            qk_rope_head_dim=r.integer("qk_rope_head_dim"),
            v_head_dim=r.integer("v_head_dim"),
        )
        head_dim = mla.qk_nope_head_dim + mla.qk_rope_head_dim
    bias = traits.attn_bias_always or r.flag("attention_bias", "bias", default=traits.attn_bias)
    qkv_bias = bias or traits.qkv_bias_only
    o_bias = bias and not traits.qkv_bias_only
    if r.has("attention_out_bias"):
        o_bias = r.flag("attention_out_bias")  # Seed-OSS: biased q/k/v, bias-free o_proj
    if model_type in ("qwen2", "qwen2_moe", "qwen2_vl", "qwen2_5_vl"):
        # Qwen2Attention: q/k/v have bias=True, o_proj has bias=False (modeling_qwen2.py).
        qkv_bias, o_bias = True, False
    return AttentionSpec(
        num_heads=heads,
        num_kv_heads=kv_heads,
        head_dim=head_dim,
        v_head_dim=mla.v_head_dim if mla else head_dim,
        qkv_bias=qkv_bias,
        o_bias=o_bias,
        qk_norm=traits.qk_norm,
        qk_norm_full=traits.qk_norm_full,
        sinks=traits.attention_sinks,
        output_gate=r.flag("attn_output_gate", default=traits.output_gate_default),
        mla=mla,
    )


def _parse_mlp(r: _Reader, model_type: str, hidden: int, gated: bool, bias: bool) -> MLPSpec:
    inter = r.opt_int(
        "intermediate_size_mlp",
        "intermediate_size",
        "n_inner",
        "ffn_dim",
        "ffn_hidden_size",
        "d_ff",
    )
    if not inter:
        # GPT-2/BLOOM/Falcon: the MLP is 4 x hidden when no width is given (their configs' docs).
        inter = 4 * hidden
    mlp_bias = r.flag("mlp_bias", default=bias)
    if model_type in ("opt",):
        mlp_bias = r.flag("enable_bias", default=True)
    if model_type == "falcon":
        mlp_bias = r.flag("bias", default=False)
    return MLPSpec(intermediate_size=inter, gated=gated, bias=mlp_bias)


def _parse_moe(r: _Reader, model_type: str) -> MoESpec | None:
    experts = r.opt_int("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts")
    if not experts or experts <= 1:
        return None
    top_k = r.integer(
        "num_experts_per_tok", "num_experts_per_token", "experts_per_token", "top_k", "moe_top_k"
    )
    expert_inter = r.integer(
        "moe_intermediate_size", "expert_intermediate_size", "intermediate_size"
    )
    shared = 0
    n_shared = r.opt_int("n_shared_experts", "num_shared_experts")
    if n_shared:
        shared = n_shared * expert_inter  # DeepseekV2MoE: one MLP of width moe_inter * n_shared
    shared_inter = r.opt_int(
        "shared_expert_intermediate_size",
        "shared_intermediate_size",
        "moe_shared_expert_intermediate_size",
    )
    if shared_inter:
        shared = shared_inter
    traits = family_traits(model_type)
    if traits.shared_expert_is_expert:
        shared = expert_inter  # Llama4TextMoe.shared_expert: Llama4TextMLP(intermediate_size)
    return MoESpec(
        num_experts=experts,
        experts_per_token=top_k,
        expert_intermediate=expert_inter,
        gated=traits.moe_gated,
        expert_bias=traits.expert_bias,
        shared_intermediate=shared,
        shared_gate=bool(r.opt_int("shared_expert_intermediate_size"))
        and model_type.startswith("qwen"),
        router_bias=traits.router_bias,
        router_score_bias=r.raw("topk_method") == "noaux_tc",
    )


def _parse_ssm(r: _Reader, model_type: str, hidden: int) -> SSMSpec | None:
    traits = family_traits(model_type)
    if not traits.has_ssm and not r.has("linear_num_value_heads"):
        return None
    if model_type == "jamba":
        d_inner = r.integer("mamba_expand", default=2) * hidden
        dt_rank = r.raw("mamba_dt_rank")
        return SSMSpec(
            version=1,
            d_inner=d_inner,
            d_state=r.integer("mamba_d_state", default=16),
            d_conv=r.integer("mamba_d_conv", default=4),
            dt_rank=math.ceil(hidden / 16)
            if dt_rank in (None, "auto")
            else config_int(r.name("mamba_dt_rank"), dt_rank),
            conv_bias=r.flag("mamba_conv_bias", default=True),
            proj_bias=r.flag("mamba_proj_bias", default=False),
            inner_norms=True,
        )
    if model_type in ("mamba", "falcon_mamba"):
        d_inner = r.opt_int("intermediate_size") or r.integer("expand", default=2) * hidden
        dt_rank = r.raw("time_step_rank")
        return SSMSpec(
            version=1,
            d_inner=d_inner,
            d_state=r.integer("state_size", "d_state", default=16),
            d_conv=r.integer("conv_kernel", "d_conv", default=4),
            dt_rank=math.ceil(hidden / 16)
            if dt_rank in (None, "auto")
            else config_int(r.name("time_step_rank"), dt_rank),
            conv_bias=r.flag("use_conv_bias", default=True),
            proj_bias=r.flag("use_bias", default=False),
            inner_norms=False,  # FalconMamba's inner RMSNorms carry no weights
        )
    if model_type == "minimax":
        # MiniMax lightning attention (linear attention, arXiv:2501.08313): per head a
        # head_dim x head_dim state; q/k/v, output gate and out_proj are plain linears.
        heads = r.positive("num_attention_heads")
        head_dim = r.opt_int("head_dim") or hidden // heads
        return SSMSpec(
            version=4,
            d_inner=heads * head_dim,
            d_state=head_dim,
            d_conv=0,
            dt_rank=0,
            n_heads=heads,
            conv_bias=False,
            state_in_model_dtype=True,  # transformers' MiniMaxCache.linear_cache
        )
    if r.has("linear_num_value_heads"):
        # Gated DeltaNet (Qwen3-Next / Qwen3.5 linear_attention layers, arXiv:2412.06464):
        # per value head a key_dim x value_dim recurrent matrix; q/k/v go through a conv.
        v_heads = r.positive("linear_num_value_heads")
        k_heads = r.positive("linear_num_key_heads")
        return SSMSpec(
            version=3,
            d_inner=v_heads * r.integer("linear_value_head_dim"),
            d_state=r.integer("linear_key_head_dim"),
            d_conv=r.integer("linear_conv_kernel_dim", default=4),
            dt_rank=0,
            n_groups=k_heads,
            n_heads=v_heads,
            conv_bias=False,
            state_fp32=str(r.raw("mamba_ssm_dtype")) == "float32",
        )
    # Mamba-2 style mixers (mamba2, granitemoehybrid, falcon_h1, nemotron_h, bamba ...).
    n_heads = r.positive("mamba_n_heads", "n_mamba_heads", "num_heads", "mamba_num_heads")
    head_dim = r.integer("mamba_d_head", "mamba_head_dim", "mamba_headdim", "head_dim")
    d_inner = r.opt_int("mamba_d_inner", "mamba_d_ssm") or n_heads * head_dim
    return SSMSpec(
        version=2,
        d_inner=d_inner,
        d_state=r.integer("mamba_d_state", "state_size", "ssm_state_size", default=128),
        d_conv=r.integer("mamba_d_conv", "conv_kernel", default=4),
        dt_rank=0,
        n_groups=r.integer("mamba_n_groups", "mamba_ngroups", "n_groups", default=1),
        n_heads=n_heads,
        conv_bias=r.flag("mamba_conv_bias", "use_conv_bias", default=True),
        proj_bias=r.flag("mamba_proj_bias", "use_bias", "add_bias_linear", default=False),
        gated_norm=r.flag("mamba_rms_norm", default=True),
        state_fp32=str(r.raw("mamba_ssm_dtype", "mamba_ssm_cache_dtype")) == "float32",
    )


# Nemotron-H blocks hold one thing each: hybrid_override_pattern letters (legacy) or
# layers_block_type names (configuration_nemotron_h.py _pattern_to_list).
_BLOCK_LETTERS = {"M": "linear_attention", "E": "moe", "*": "full_attention", "-": "mlp"}
_BLOCK_KINDS = {
    "linear_attention": ("ssm", False, False),
    "full_attention": ("attention", False, False),
    "moe": ("none", True, True),
    "mlp": ("none", False, True),
}


def _block_pattern(r: _Reader) -> list[str]:
    """Nemotron-H's per-block kinds, or [] for every other family."""
    if r.config.get("model_type") not in ("nemotron_h",):
        return []
    pattern = r.raw("hybrid_override_pattern")
    if isinstance(pattern, str) and pattern:
        if any(ch not in _BLOCK_LETTERS for ch in pattern):
            raise ConfigError(f"hybrid_override_pattern has unknown block letters: {pattern!r}")
        return [_BLOCK_LETTERS[ch] for ch in pattern]
    kinds = r.raw("layers_block_type")
    names = [k for k in kinds if isinstance(k, str)] if isinstance(kinds, list) else []
    if names and len(names) == len(kinds) and all(k in _BLOCK_KINDS for k in names):
        return [str(k) for k in kinds]
    raise MissingConfigKeyError("hybrid_override_pattern", "also looked for layers_block_type")


def _parse_layers(
    r: _Reader, model_type: str, num_layers: int, moe: MoESpec | None, has_ssm: bool
) -> tuple[LayerSpec, ...]:
    if model_type == "zamba2":
        # Zamba2: every block is Mamba-2 (no MLP); "hybrid" blocks also run a shared
        # attention+MLP block whose K/V they cache (modeling_zamba2.py Zamba2HybridLayer).
        kinds = r.raw("layers_block_type")
        if not isinstance(kinds, list) or len(kinds) != num_layers:
            raise MissingConfigKeyError("layers_block_type", "Zamba2 lists each block's type")
        return tuple(
            LayerSpec(mixer="ssm", ffn=False, extra_attention="shared" if kind == "hybrid" else "")
            for kind in kinds
        )
    if model_type == "falcon_h1":
        # Falcon-H1: attention and a Mamba-2 mixer side by side in every block, then an MLP.
        return tuple(LayerSpec(mixer="ssm", extra_attention="parallel") for _ in range(num_layers))
    pattern = _block_pattern(r)
    if pattern:
        return tuple(
            LayerSpec(mixer=_BLOCK_KINDS[k][0], moe=_BLOCK_KINDS[k][1], ffn=_BLOCK_KINDS[k][2])
            for k in pattern
        )
    window = r.opt_int("sliding_window", "attention_window_size")
    kinds = _layer_kinds(r, model_type, num_layers, window, has_ssm)
    moe_flags = _moe_layers(r, model_type, num_layers, moe)
    if has_ssm is False and any(kind == "ssm" for kind, _ in kinds):
        raise UnsupportedModelError(
            f"'{model_type or 'this model'}' has recurrent (SSM / linear-attention) layers this "
            "tool does not model yet"
        )
    cross = set(r.int_list("cross_attention_layers"))
    layers = []
    for i, (mixer, layer_window) in enumerate(kinds):
        if i in cross:
            mixer = "cross_attention"
        layers.append(LayerSpec(mixer=mixer, window=layer_window, moe=moe_flags[i]))
    return tuple(layers)


def _layer_kinds(
    r: _Reader, model_type: str, n: int, window: int | None, has_ssm: bool
) -> list[tuple[str, int | None]]:
    layer_types = r.raw("layer_types", "layers_block_type")
    if isinstance(layer_types, list) and len(layer_types) >= n:
        result: list[tuple[str, int | None]] = []
        for kind in layer_types[:n]:
            k = _name(r.name("layer_types[]"), kind).lower()
            if k in ("mamba", "mamba2", "ssm", "linear_attention", "recurrent"):
                result.append(("ssm", None))
            elif k == "chunked_attention":
                # Llama 4: RoPE layers attend within chunks of attention_chunk_size tokens.
                result.append(("attention", r.opt_int("attention_chunk_size") or window))
            elif "sliding" in k or k == "local":
                result.append(("attention", window))
            else:
                result.append(("attention", None))
        return result
    if model_type == "bamba":
        attention = set(r.int_list("attn_layer_indices"))
        return [("attention", None) if i in attention else ("ssm", None) for i in range(n)]
    if model_type == "jamba":
        period, offset = (
            r.positive("attn_layer_period", default=8),
            r.integer("attn_layer_offset", default=4),
        )
        return [("attention", None) if i % period == offset else ("ssm", None) for i in range(n)]
    if model_type in ("mamba", "falcon_mamba", "mamba2"):
        return [("ssm", None)] * n
    if not window:
        return [("attention", None)] * n
    if model_type == "gemma2":
        # Gemma2: layer i is sliding when (i + 1) % 2 (configuration_gemma2.py).
        return [("attention", window if (i + 1) % 2 else None) for i in range(n)]
    if model_type in ("gemma3_text", "gemma3"):
        # Gemma3: sliding unless (i + 1) % sliding_window_pattern == 0 (configuration_gemma3.py).
        pattern = r.positive("sliding_window_pattern", default=6)
        return [("attention", window if (i + 1) % pattern else None) for i in range(n)]
    if model_type in ("qwen2", "qwen2_moe", "qwen3", "qwen3_moe"):
        if not r.flag("use_sliding_window"):
            return [("attention", None)] * n
        first = r.integer("max_window_layers", default=n)
        return [("attention", window if i >= first else None) for i in range(n)]
    # Mistral v0.1, Phi-3, Mixtral: every layer uses the window when one is set.
    return [("attention", window)] * n


def _moe_layers(r: _Reader, model_type: str, n: int, moe: MoESpec | None) -> list[bool]:
    if moe is None:
        return [False] * n
    if model_type == "jamba":
        period = r.positive("expert_layer_period", default=2)
        offset = r.integer("expert_layer_offset", default=1)
        return [i % period == offset for i in range(n)]
    listed = r.int_list("moe_layers")
    if listed:
        chosen = set(listed)
        return [i in chosen for i in range(n)]
    first_dense = r.integer("first_k_dense_replace", default=0)
    freq = r.integer("moe_layer_freq", default=1) or 1
    sparse_step = r.integer("decoder_sparse_step", default=1) or 1
    mlp_only = set(r.int_list("mlp_only_layers"))
    flags = []
    for i in range(n):
        is_moe = i >= first_dense and i % freq == 0
        if model_type.startswith("qwen"):
            is_moe = i not in mlp_only and (i + 1) % sparse_step == 0
        flags.append(is_moe)
    return flags


def _extra_params(r: _Reader, model_type: str, hidden: int) -> int:
    if model_type == "opt":
        proj = r.integer("word_embed_proj_dim", default=hidden)
        if proj != hidden:
            return 2 * proj * hidden  # OPTDecoder project_in/project_out (no bias)
    if model_type == "bloom":
        return 2 * hidden  # word_embeddings_layernorm (weight + bias)
    if family_traits(model_type).lm_head_bias:
        return r.integer("vocab_size")
    if model_type == "zamba2":
        return _zamba2_shared_params(r, hidden)
    return 0


def _zamba2_shared_params(r: _Reader, h: int) -> int:
    """Zamba2's weights outside its Mamba blocks: num_mem_blocks shared attention+MLP blocks
    (tied across hybrid layers), and per hybrid layer a linear and LoRA-style adapters
    (Zamba2AttentionDecoderLayer, Zamba2MLP, Zamba2Model.get_layers)."""
    kinds = r.raw("layers_block_type") or []
    hybrid = sum(1 for k in kinds if k == "hybrid")
    if not hybrid:
        return 0
    attn_in = r.integer("attention_hidden_size", default=2 * h)
    heads = r.positive("num_attention_heads")
    kv = r.integer("num_key_value_heads", default=heads)
    head_dim = r.integer("attention_head_dim", default=attn_in // heads)
    inter = r.integer("intermediate_size")
    rank = r.integer("adapter_rank", default=128)
    bias = r.flag("add_bias_linear")
    attention = attn_in * heads * head_dim + 2 * attn_in * kv * head_dim + heads * head_dim * h
    mlp = h * 2 * inter + inter * h + ((2 * inter + h) if bias else 0)
    block = attention + mlp + attn_in + h  # input_layernorm (2h wide) + pre_ff_layernorm
    blocks = min(r.integer("num_mem_blocks", default=1), hybrid)
    adapters = h * rank + rank * 2 * inter  # gate_up_proj adapter, one per hybrid layer
    if r.flag("use_shared_attention_adapter"):
        adapters += 3 * (attn_in * rank + rank * attn_in)
    return blocks * block + hybrid * (h * h + adapters)


_QUANT_FORMATS = {
    # (method, bits) -> precision key in estimator.precision.PRECISIONS
    ("gptq", 4): "gptq-int4",
    ("gptq", 8): "gptq-int8",
    ("awq", 4): "awq-int4",
}


#: Bits per weight a quantizer can store (AutoGPTQ/AutoAWQ and compressed-tensors: 2-8).
_QUANT_BITS = (1, 16)
#: Largest quantization group: a group spans at most one input row.
_MAX_GROUP = 1 << 20


def _quant_bits(key: str, value: Any, default: int) -> int:
    if value is None:
        return default
    return config_int(f"quantization_config.{key}", value, low=_QUANT_BITS[0], high=_QUANT_BITS[1])


def _quant_group(key: str, value: Any, default: int | None) -> int | None:
    """A group size: None/absent -> ``default``; -1 (one group per input row) -> None."""
    if value is None:
        return default
    if value == -1 and not isinstance(value, bool):
        return None
    return config_int(f"quantization_config.{key}", value, low=1, high=_MAX_GROUP)


def _parse_quantization(config: Mapping[str, Any]) -> QuantSpec | None:
    q = config.get("quantization_config")
    if not isinstance(q, Mapping):
        text, _ = text_config_of(config)
        q = text.get("quantization_config") if text is not config else None
        if not isinstance(q, Mapping):
            return None
    method = _name("quantization_config.quant_method", q.get("quant_method"), "").lower()
    listed = q.get("modules_to_not_convert") or q.get("ignore") or []
    skipped = tuple(m for m in listed if isinstance(m, str)) if isinstance(listed, list) else ()
    if method in ("gptq", "awq"):
        bits_key = "bits" if q.get("bits") is not None else "w_bit"
        bits = _quant_bits(bits_key, q.get(bits_key), 4)
        group_key = "group_size" if q.get("group_size") is not None else "q_group_size"
        group = _quant_group(group_key, q.get(group_key), 128)
        key = _QUANT_FORMATS.get((method, bits), f"{method}-int{bits}")
        return QuantSpec(method, bits, group, key, skipped, f"{method.upper()} {bits}-bit")
    if method == "bitsandbytes":
        if q.get("load_in_4bit") or q.get("_load_in_4bit"):
            if q.get("bnb_4bit_use_double_quant"):
                return QuantSpec(
                    method,
                    4,
                    64,
                    "bnb-nf4-dq",
                    skipped,
                    f"bitsandbytes {q.get('bnb_4bit_quant_type', 'nf4')} + double quant",
                )
            return QuantSpec(
                method,
                4,
                64,
                "bnb-nf4",
                skipped,
                f"bitsandbytes {q.get('bnb_4bit_quant_type', 'nf4')}",
            )
        return QuantSpec(method, 8, None, "bnb-int8", skipped, "bitsandbytes int8")
    if method in ("fp8", "fbgemm_fp8"):
        return QuantSpec("fp8", 8, None, "fp8", skipped, "FP8")
    if method == "mxfp4":
        return QuantSpec(method, 4.25, 32, "mxfp4", skipped, "MXFP4")
    if method == "compressed-tensors":
        groups = q.get("config_groups") or {}
        for group in groups.values() if isinstance(groups, Mapping) else []:
            weights = group.get("weights") if isinstance(group, Mapping) else None
            if isinstance(weights, Mapping):
                bits = _quant_bits("config_groups.weights.num_bits", weights.get("num_bits"), 8)
                kind = str(weights.get("type", "int"))
                gsize = _quant_group(
                    "config_groups.weights.group_size", weights.get("group_size"), None
                )
                if kind == "float" and bits == 8:
                    return QuantSpec(method, 8, None, "fp8", skipped, "compressed-tensors FP8")
                if bits not in (4, 8):
                    raise UnsupportedModelError(
                        f"compressed-tensors int{bits} weights are not modelled (int4 and int8 "
                        "are)"
                    )
                key = "int4" if bits == 4 else "int8"
                return QuantSpec(
                    method, bits, gsize, key, skipped, f"compressed-tensors int{bits}"
                )
        return QuantSpec(method, 8, None, "int8", skipped, "compressed-tensors")
    return QuantSpec(
        method or "other", 16, None, "bf16", skipped, f"{method or 'unknown'} (not sized)"
    )

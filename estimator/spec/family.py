"""What one model family is to the parser: traits, config defaults and arithmetic hooks.

A :class:`Family` says what a config leaves implicit (which layers carry biases, how many
norms a block has, whether the MLP is gated, the config class's defaults) and, where a
family's structure differs from the generic decoder, names a small hook function that
computes that part. ``None`` for a hook means "the generic rule". The table of families is
:mod:`estimator.spec.registry`; the hooks live next to the concern they compute
(:mod:`.attention`, :mod:`.ffn`, :mod:`.layers`, :mod:`.ssm`, :mod:`.hybrid`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from .model import LayerSpec, SSMSpec
from .reader import Reader

__all__ = ["Family", "LayerKinds", "four_norms", "one_norm", "two_norms"]

#: Each layer's mixer ("attention" | "ssm") and sliding window (None: whole context).
LayerKinds: TypeAlias = "list[tuple[str, int | None]]"


def two_norms(_: Reader) -> int:
    """input_layernorm + post_attention_layernorm (the Llama block)."""
    return 2


def one_norm(_: Reader) -> int:
    """One norm per block (parallel attention/MLP blocks, Mamba blocks)."""
    return 1


def four_norms(_: Reader) -> int:
    """Gemma 2/3: pre- and post-norms around both attention and MLP."""
    return 4


@dataclass(frozen=True)
class Family:
    """One ``model_type``'s traits, defaults and hooks (see the module docstring)."""

    known: bool = True
    unsupported: str = ""  # why the tool does not size it (encoder-only, ...)
    # Attention
    attn_bias: bool = False  # default of attention_bias/bias (all four projections)
    attn_bias_always: bool = False  # biases whatever the config says (Phi)
    qkv_bias_only: bool = False  # q/k/v biased, o_proj not, whatever the config says (Qwen2)
    qk_norm: bool = False
    qk_norm_full: bool = False
    attention_sinks: bool = False
    output_gate_default: bool = False
    head_dim_keys: tuple[str, ...] = ("head_dim", "kv_channels", "attention_head_dim")
    # MLP and experts
    mlp_gated: bool = True
    mlp_bias: bool = False
    mlp_bias_key: str = "mlp_bias"  # the config key that switches MLP biases
    moe_gated: bool = True
    expert_bias: bool = False
    router_bias: bool = False
    shared_expert_is_expert: bool = False
    shared_expert_gate: bool = False  # a sigmoid gate on the shared expert (Qwen2-MoE)
    # Norms, embeddings, head
    norm: str = "rms"  # rms | layer | none
    norms_per_layer_fn: Callable[[Reader], int] = field(default=two_norms)
    tied_default: bool = False
    learned_positions: bool = False
    position_offset: int = 0
    embed_rows_extra: int = 0
    local_rope_cache: bool = False  # a second, unscaled RoPE cache for local layers (Gemma 3)
    # Recurrent mixers
    has_ssm: bool = False
    is_ssm_only: bool = False
    # Config-class defaults for keys a nested text config omits, and for multimodal wrappers
    # the text family their text_config defaults to.
    defaults: Mapping[str, Any] = field(default_factory=dict)
    text_model_type: str = ""
    # Hooks: None means the generic rule.
    kv_heads: Callable[[Reader, int], int | None] | None = None  # (reader, heads)
    parse_ssm: Callable[[Reader, int], SSMSpec] | None = None  # (reader, hidden)
    block_kinds: Callable[[Reader], list[str]] | None = None  # one kind per block
    layers: Callable[[Reader, int], tuple[LayerSpec, ...]] | None = None  # (reader, n)
    mixer_pattern: Callable[[Reader, int], LayerKinds] | None = None  # (reader, n)
    window_pattern: Callable[[Reader, int, int], LayerKinds] | None = None  # (r, n, window)
    moe_layers: Callable[[Reader, int], list[bool]] | None = None  # (reader, n)
    extra_params: Callable[[Reader, int], int] | None = None  # (reader, hidden)

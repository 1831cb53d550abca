"""Hybrid families: recurrent blocks mixed with attention, each family's rules in one place.

Zamba2 (shared attention blocks), Jamba (Mamba-1 with periodic attention and MoE),
Falcon-H1 (attention and Mamba-2 side by side), Nemotron-H (single-purpose blocks) and
Bamba (attention at listed indices). The registry points each family at these hooks.
"""

from __future__ import annotations

from ..errors import ConfigError, MissingConfigKeyError
from .family import LayerKinds
from .model import LayerSpec, SSMSpec
from .reader import Reader
from .ssm import dt_rank

__all__ = [
    "bamba_mixers",
    "falcon_h1_layers",
    "jamba_mixers",
    "jamba_moe_layers",
    "jamba_ssm",
    "nemotron_h_blocks",
    "nemotron_h_layers",
    "zamba2_layers",
    "zamba2_shared_params",
]


# --- Zamba2 (modeling_zamba2.py) -------------------------------------------------------


def zamba2_layers(r: Reader, n: int) -> tuple[LayerSpec, ...]:
    """Every block is Mamba-2 (no MLP); "hybrid" blocks also run a shared attention+MLP
    block whose K/V they cache (Zamba2HybridLayer)."""
    kinds = r.raw("layers_block_type")
    if not isinstance(kinds, list) or len(kinds) != n:
        raise MissingConfigKeyError("layers_block_type", "Zamba2 lists each block's type")
    return tuple(
        LayerSpec(mixer="ssm", ffn=False, extra_attention="shared" if kind == "hybrid" else "")
        for kind in kinds
    )


def zamba2_shared_params(r: Reader, h: int) -> int:
    """Zamba2's weights outside its Mamba blocks: num_mem_blocks shared attention+MLP blocks
    (tied across hybrid layers), and per hybrid layer a linear and LoRA-style adapters
    (Zamba2AttentionDecoderLayer, Zamba2MLP, Zamba2Model.get_layers). Its attention head
    size is attention_head_dim (kv_channels there is half of it: registry head_dim_keys)."""
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


# --- Jamba (modeling_jamba.py) ----------------------------------------------------------


def jamba_ssm(r: Reader, hidden: int) -> SSMSpec:
    """JambaMambaMixer: Mamba-1 with RMSNorms on dt, B and C."""
    return SSMSpec(
        version=1,
        d_inner=r.integer("mamba_expand", default=2) * hidden,
        d_state=r.integer("mamba_d_state", default=16),
        d_conv=r.integer("mamba_d_conv", default=4),
        dt_rank=dt_rank(r, "mamba_dt_rank", hidden),
        conv_bias=r.flag("mamba_conv_bias", default=True),
        proj_bias=r.flag("mamba_proj_bias", default=False),
        inner_norms=True,
    )


def jamba_mixers(r: Reader, n: int) -> LayerKinds:
    """Attention where i % attn_layer_period == attn_layer_offset, Mamba elsewhere."""
    period = r.positive("attn_layer_period", default=8)
    offset = r.integer("attn_layer_offset", default=4)
    return [("attention", None) if i % period == offset else ("ssm", None) for i in range(n)]


def jamba_moe_layers(r: Reader, n: int) -> list[bool]:
    """Experts where i % expert_layer_period == expert_layer_offset."""
    period = r.positive("expert_layer_period", default=2)
    offset = r.integer("expert_layer_offset", default=1)
    return [i % period == offset for i in range(n)]


# --- Falcon-H1 and Bamba ----------------------------------------------------------------


def falcon_h1_layers(_: Reader, n: int) -> tuple[LayerSpec, ...]:
    """Falcon-H1: attention and a Mamba-2 mixer side by side in every block, then an MLP."""
    return tuple(LayerSpec(mixer="ssm", extra_attention="parallel") for _ in range(n))


def bamba_mixers(r: Reader, n: int) -> LayerKinds:
    """Bamba: attention at attn_layer_indices, Mamba-2 elsewhere."""
    attention = set(r.int_list("attn_layer_indices"))
    return [("attention", None) if i in attention else ("ssm", None) for i in range(n)]


# --- Nemotron-H (configuration_nemotron_h.py) -------------------------------------------

# Blocks hold one thing each: hybrid_override_pattern letters (legacy) or layers_block_type
# names (_pattern_to_list). Kind -> (mixer, moe, ffn).
_BLOCK_LETTERS = {"M": "linear_attention", "E": "moe", "*": "full_attention", "-": "mlp"}
_BLOCK_KINDS = {
    "linear_attention": ("ssm", False, False),
    "full_attention": ("attention", False, False),
    "moe": ("none", True, True),
    "mlp": ("none", False, True),
}


def nemotron_h_blocks(r: Reader) -> list[str]:
    """Each block's kind, from hybrid_override_pattern or layers_block_type."""
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


def nemotron_h_layers(r: Reader, _: int) -> tuple[LayerSpec, ...]:
    return tuple(
        LayerSpec(mixer=_BLOCK_KINDS[k][0], moe=_BLOCK_KINDS[k][1], ffn=_BLOCK_KINDS[k][2])
        for k in nemotron_h_blocks(r)
    )

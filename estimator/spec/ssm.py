"""Recurrent mixers from a config: Mamba-1, Mamba-2, gated DeltaNet and lightning attention.

Each parser returns an :class:`SSMSpec`; a family names its own parser in the registry
(``Family.parse_ssm``), and the generic rule reads gated DeltaNet when the config has
``linear_num_value_heads`` and a Mamba-2 mixer otherwise.
"""

from __future__ import annotations

import math

from ..values import config_int
from .family import Family
from .model import SSMSpec
from .reader import Reader

__all__ = ["deltanet_ssm", "lightning_ssm", "mamba1_ssm", "mamba2_ssm", "parse_ssm"]


def parse_ssm(r: Reader, family: Family, hidden: int) -> SSMSpec | None:
    if not family.has_ssm and not r.has("linear_num_value_heads"):
        return None
    if family.parse_ssm is not None:
        return family.parse_ssm(r, hidden)
    if r.has("linear_num_value_heads"):
        return deltanet_ssm(r, hidden)
    return mamba2_ssm(r, hidden)


def dt_rank(r: Reader, key: str, hidden: int) -> int:
    """Mamba's time-step rank: "auto" (or absent) means ceil(hidden / 16) (MambaConfig)."""
    value = r.raw(key)
    return math.ceil(hidden / 16) if value in (None, "auto") else config_int(r.name(key), value)


def mamba1_ssm(r: Reader, hidden: int) -> SSMSpec:
    """Mamba / FalconMamba (MambaConfig, FalconMambaConfig)."""
    d_inner = r.opt_int("intermediate_size") or r.integer("expand", default=2) * hidden
    return SSMSpec(
        version=1,
        d_inner=d_inner,
        d_state=r.integer("state_size", "d_state", default=16),
        d_conv=r.integer("conv_kernel", "d_conv", default=4),
        dt_rank=dt_rank(r, "time_step_rank", hidden),
        conv_bias=r.flag("use_conv_bias", default=True),
        proj_bias=r.flag("use_bias", default=False),
        inner_norms=False,  # FalconMamba's inner RMSNorms carry no weights
    )


def lightning_ssm(r: Reader, hidden: int) -> SSMSpec:
    """MiniMax lightning attention (linear attention, arXiv:2501.08313): per head a
    head_dim x head_dim state; q/k/v, output gate and out_proj are plain linears."""
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


def deltanet_ssm(r: Reader, hidden: int) -> SSMSpec:
    """Gated DeltaNet (Qwen3-Next / Qwen3.5 linear_attention layers, arXiv:2412.06464):
    per value head a key_dim x value_dim recurrent matrix; q/k/v go through a conv."""
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


def mamba2_ssm(r: Reader, hidden: int) -> SSMSpec:
    """Mamba-2 style mixers (mamba2, granitemoehybrid, falcon_h1, nemotron_h, bamba ...)."""
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

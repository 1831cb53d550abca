"""Bytes of a GGUF file's tensors, following llama.cpp's per-tensor type choice.

llama.cpp does not store every tensor at the nominal type of a "Q4_K_M" file:
``llama_tensor_get_type`` in ``src/llama-quant.cpp`` upgrades the output matrix
to Q6_K, some attn_v/ffn_down layers by ``use_more_bits``, keeps 1-D tensors
(norms, biases) and routers in F32, and falls back to a 32-block type when a
row length is not a multiple of 256. This module reproduces those rules for
the file types offered in :data:`estimator.precision.PRECISIONS`.
"""

from __future__ import annotations

from collections.abc import Callable

from .params import LayerParams, ParamCounts
from .precision import GGUF_TYPE_BITS
from .spec import ModelSpec

__all__ = [
    "GGUF_BASE_TYPE",
    "GGUF_TENSOR_BITS",
    "gguf_token_embd_bytes",
    "gguf_type_census",
    "gguf_weight_bytes",
]

# LLAMA_FTYPE_* -> its default tensor type (llama_model_quantize_impl).
GGUF_BASE_TYPE = {
    "Q8_0": "Q8_0",
    "Q6_K": "Q6_K",
    "Q5_K_M": "Q5_K",
    "Q5_0": "Q5_0",
    "Q4_K_M": "Q4_K",
    "Q4_K_S": "Q4_K",
    "Q4_0": "Q4_0",
    "IQ4_XS": "IQ4_XS",
    "Q3_K_M": "Q3_K",
    "Q2_K": "Q2_K",
    "MXFP4_MOE": "Q8_0",  # LLAMA_FTYPE_MOSTLY_MXFP4_MOE: MXFP4 experts, Q8_0 elsewhere
}

_BITS = {**GGUF_TYPE_BITS, "Q5_1": 24 * 8 / 32, "IQ4_NL": 18 * 8 / 32}
#: Bits per weight of every tensor type the census can name (scales included).
GGUF_TENSOR_BITS = _BITS

# Fallback when a row is not a multiple of the 256-wide super-block (llama-quant.cpp).
_FALLBACK = {
    "Q2_K": "IQ4_NL",
    "Q3_K": "IQ4_NL",
    "IQ4_XS": "IQ4_NL",
    "Q4_K": "Q5_0",
    "Q5_K": "Q5_1",
    "Q6_K": "Q8_0",
}


# Architectures whose GGUF keeps the checkpoint's fused Q/K/V projection as one attn_qkv
# tensor (convert_hf_to_gguf.py: Phi3MiniModel's qkv_proj, GPT-2/StarCoder c_attn,
# GPT-NeoX/Falcon/BLOOM query_key_value, MPT Wqkv).
_FUSED_QKV = frozenset({"phi3", "gpt2", "gpt_bigcode", "gpt_neox", "falcon", "bloom", "mpt"})

# llama_tensor_get_type, attn_qkv.weight: Q3_K_M -> Q4_K, Q4_K_M -> Q5_K, Q5_K_M -> Q6_K.
_QKV_TYPE = {"Q3_K_M": "Q4_K", "Q4_K_M": "Q5_K", "Q5_K_M": "Q6_K"}


def _use_more_bits(i: int, n: int) -> bool:
    # llama-quant.cpp: i_layer < n/8 || i_layer >= 7*n/8 || (i_layer - n/8) % 3 == 2
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def _fit_row(kind: str, row: int) -> str:
    if kind in _FALLBACK and row % 256:
        return _FALLBACK[kind]
    return kind


def _attn_v_type(
    ftype: str, base: str, i: int, n: int, gqa: int, experts: int, is_70b: bool
) -> str:
    kind = base
    if ftype == "Q2_K":
        kind = "Q4_K" if gqa >= 4 else "Q3_K"
    elif ftype == "Q3_K_M":
        kind = "Q5_K" if i < 2 else "Q4_K"
    elif ftype == "IQ4_XS" and gqa >= 4:
        kind = "Q5_K"
    elif ftype in ("Q4_K_M", "Q5_K_M") and _use_more_bits(i, n):
        kind = "Q6_K"
    elif ftype == "Q4_K_S" and i < 4:
        kind = "Q5_K"
    if is_70b and kind in ("Q3_K", "Q4_K"):
        kind = "Q5_K"  # 8 heads share attn_v in 70B: more bits for little size
    if experts == 8:
        kind = "Q8_0"  # "for the 8-expert model, bumping this to Q8_0 trades just ~128MB"
    return kind


def _ffn_down_type(ftype: str, base: str, i: int, n: int) -> str:
    if ftype == "Q2_K":
        return "Q3_K"
    if ftype == "Q3_K_M":
        return "Q5_K" if i < n // 16 else "Q4_K"
    if ftype in ("Q4_K_M", "Q5_K_M") and _use_more_bits(i, n):
        return "Q6_K"
    if ftype == "Q4_K_S" and i < n // 8:
        return "Q5_K"
    return base


def _attn_output_type(ftype: str, base: str, experts: int) -> str:
    if experts == 8 and ftype in ("Q2_K", "Q3_K_M", "Q4_K_S", "Q4_K_M"):
        return "Q5_K"
    if ftype == "Q2_K":
        return "Q3_K"
    if ftype == "Q3_K_M":
        return "Q4_K"
    return base


def gguf_token_embd_bytes(spec: ModelSpec, counts: ParamCounts, ftype: str) -> int:
    """Bytes of token_embd.weight alone (the input embedding llama.cpp keeps on the CPU)."""
    base = GGUF_BASE_TYPE[ftype]
    out_type = "Q8_0" if base == "Q8_0" or spec.model_type == "falcon" else "Q6_K"
    kind = out_type if spec.tied_embeddings else base
    return int(counts.embedding * _BITS[_fit_row(kind, spec.hidden_size)] / 8)


def gguf_weight_bytes(spec: ModelSpec, counts: ParamCounts, ftype: str) -> int:
    """Bytes llama.cpp's quantizer writes for ``spec`` at file type ``ftype``."""
    census = gguf_type_census(spec, counts, ftype)
    # Every type's bits per weight is a multiple of 1/32, so the sum is exact in any order.
    return int(sum(count * _BITS[kind] for kind, count in census.items()) / 8)


def gguf_type_census(spec: ModelSpec, counts: ParamCounts, ftype: str) -> dict[str, int]:
    """Parameters stored at each tensor type when llama.cpp quantizes ``spec`` to ``ftype``
    (the tensors' own types: F32 for norms, biases and routers, F16 for the mmproj file)."""
    base = GGUF_BASE_TYPE[ftype]
    h = spec.hidden_size
    a = spec.attention
    gqa = a.num_heads // a.num_kv_heads if a.num_kv_heads else 1
    experts = spec.moe.num_experts if spec.moe else 0
    is_70b = spec.model_type == "llama" and spec.num_layers == 80
    n = len(counts.layers)
    census: dict[str, int] = {}

    def add(count: int, kind: str, row: int) -> None:
        if count:
            kind = _fit_row(kind, row)
            census[kind] = census.get(kind, 0) + count

    out_type = "Q8_0" if base == "Q8_0" or spec.model_type == "falcon" else "Q6_K"
    if spec.tied_embeddings:
        add(counts.embedding, out_type, h)  # token_embd doubles as output: output's rule
    else:
        add(counts.embedding, base, h)
        add(counts.lm_head, out_type, h)
    attn_i = 0
    for i, layer in enumerate(counts.layers):
        _add_layer(layer, spec, ftype, base, i, n, attn_i, gqa, experts, is_70b, add)
        if layer.attn_v:
            attn_i += 1
    add(counts.final_small + sum(layer.small for layer in counts.layers), "F32", 0)
    add(counts.vision, "F16", 0)  # the mmproj file is F16 by convention
    return census


def _add_layer(
    layer: LayerParams,
    spec: ModelSpec,
    ftype: str,
    base: str,
    i: int,
    n: int,
    attn_i: int,
    gqa: int,
    experts: int,
    is_70b: bool,
    add: Callable[[int, str, int], None],
) -> None:
    """Add one block's tensors, each at the type llama.cpp picks for it."""
    h = spec.hidden_size
    a = spec.attention
    n_attn = spec.attention_layers or 1
    v_type = _attn_v_type(ftype, base, attn_i, n_attn, gqa, experts, is_70b)
    k_type = "Q8_0" if experts == 8 else base
    if spec.model_type in _FUSED_QKV and a.mla is None:
        add(layer.attn_q + layer.attn_k + layer.attn_v, _QKV_TYPE.get(ftype, base), h)
    else:
        add(layer.attn_q, base, h)
        add(layer.attn_k, k_type, h)
        add(layer.attn_v, v_type, h if a.mla is None else a.mla.kv_lora_rank)
    add(layer.attn_o, _attn_output_type(ftype, base, experts), a.num_heads * a.v_head_dim or h)
    down = _ffn_down_type(ftype, base, i, n)
    inter = spec.mlp.intermediate_size if spec.mlp else h
    expert_inter = spec.moe.expert_intermediate if spec.moe else inter
    add(layer.ffn_gate_up, base, h)
    add(
        layer.ffn_down,
        down,
        spec.moe.shared_intermediate if (spec.moe and layer.experts) else inter,
    )
    expert_type = "MXFP4" if ftype == "MXFP4_MOE" else None
    add(layer.experts_gate_up, expert_type or base, h)
    add(layer.experts_down, expert_type or down, expert_inter)
    add(layer.ssm_linear, base, h)

"""Linear layers a quantized checkpoint keeps in 16 bits (its "modules not to convert").

A ``quantization_config`` names them in ``modules_to_not_convert`` (transformers, AutoAWQ,
gpt-oss), ``ignore`` (compressed-tensors, with ``re:`` regular expressions) or
``llm_int8_skip_modules`` (bitsandbytes). Each entry is matched against every block's
linear layers under their transformers names (``model.layers.3.self_attn.q_proj``,
``model.layers.3.mlp.down_proj``, ``model.layers.3.mlp.experts.gate_proj``,
``model.layers.3.mamba``): a plain entry matches whole dotted components anywhere in the
name, ``*`` matches one component (``model.layers.*.self_attn``), ``re:`` patterns use
``re.match`` as compressed-tensors does. Entries that name tensors already kept in 16 bits
(``lm_head``, ``embed_tokens``, routers, the vision tower) change nothing.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .params import LayerParams

__all__ = ["skipped_linear_params"]


def skipped_linear_params(
    entries: tuple[str, ...], layers: tuple[LayerParams, ...], experts_only: bool
) -> int:
    """Parameters of the quantizable linear layers that ``entries`` keep in 16 bits (only
    the routed experts count when ``experts_only``: MXFP4 quantizes nothing else)."""
    if not entries:
        return 0
    return _skipped(entries, layers, experts_only)


@lru_cache(maxsize=64)
def _skipped(entries: tuple[str, ...], layers: tuple[LayerParams, ...], experts_only: bool) -> int:
    total = 0
    for index, layer in enumerate(layers):
        for name, params in _linear_modules(index, layer, experts_only):
            if params and any(_matches(entry, name) for entry in entries):
                total += params
    return total


def _linear_modules(i: int, p: LayerParams, experts_only: bool) -> list[tuple[str, int]]:
    """A block's quantizable linear layers under their transformers names."""
    block = f"model.layers.{i}"
    gate = p.experts_gate_up // 2
    experts = [
        (f"{block}.mlp.experts.gate_proj", gate),
        (f"{block}.mlp.experts.up_proj", p.experts_gate_up - gate),
        (f"{block}.mlp.experts.down_proj", p.experts_down),
    ]
    if experts_only:
        return experts
    dense_gate = p.ffn_gate_up // 2
    return [
        (f"{block}.self_attn.q_proj", p.attn_q),
        (f"{block}.self_attn.k_proj", p.attn_k),
        (f"{block}.self_attn.v_proj", p.attn_v),
        (f"{block}.self_attn.o_proj", p.attn_o),
        (f"{block}.mlp.gate_proj", dense_gate),
        (f"{block}.mlp.up_proj", p.ffn_gate_up - dense_gate),
        (f"{block}.mlp.down_proj", p.ffn_down),
        *experts,
        (f"{block}.mamba", p.ssm_linear),
    ]


def _matches(entry: str, name: str) -> bool:
    if entry.startswith("re:"):
        try:
            return re.match(entry[3:], name) is not None
        except re.error:
            return False  # a pattern Python cannot compile names nothing we can size
    want = entry.split(".")
    parts = name.split(".")
    return any(
        all(
            w in ("*", part)
            for w, part in zip(want, parts[start : start + len(want)], strict=True)
        )
        for start in range(len(parts) - len(want) + 1)
    )

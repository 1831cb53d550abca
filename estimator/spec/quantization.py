"""A checkpoint's ``quantization_config``, reduced to what sizes its weights."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import UnsupportedModelError
from ..values import config_int
from .model import QuantSpec
from .reader import name_value, text_config_of

__all__ = ["parse_quantization"]

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


def parse_quantization(config: Mapping[str, Any]) -> QuantSpec | None:
    q = config.get("quantization_config")
    if not isinstance(q, Mapping):
        text, _ = text_config_of(config)
        q = text.get("quantization_config") if text is not config else None
        if not isinstance(q, Mapping):
            return None
    method = name_value("quantization_config.quant_method", q.get("quant_method"), "").lower()
    listed = (
        q.get("modules_to_not_convert") or q.get("ignore") or q.get("llm_int8_skip_modules") or []
    )
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

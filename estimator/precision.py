"""Weight precisions and how many bytes each one stores per parameter.

Three kinds of storage:

* ``float``: every parameter at one width (fp32, bf16/fp16).
* ``linear``: the linear layers of the blocks are quantized; embeddings, the
  LM head, norms, biases and routers stay 16-bit, as vLLM, transformers
  (GPTQ/AWQ/bitsandbytes) and compressed-tensors checkpoints do.
* ``gguf``: llama.cpp's per-tensor type choice (see :mod:`estimator.gguf`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GGUF_TYPE_BITS", "KV_BYTES", "PRECISIONS", "Precision", "resolve_precision"]


@dataclass(frozen=True)
class Precision:
    """A weight precision: bits per weight (scales included) and its kind."""

    key: str
    label: str
    bits_per_weight: float  # of the quantized tensors, scales included (group 128 where relevant)
    kind: str  # float | linear | gguf
    activation_bytes: int = 2  # dtype of activations and of the KV cache by default

    def linear_bits(self, group_size: int) -> float:
        """Bits per quantized weight for a given group size (GPTQ/AWQ/int4)."""
        overhead = _GROUP_OVERHEAD_BITS.get(self.key)
        if overhead is None:
            return self.bits_per_weight
        base, per_group = overhead
        return base + per_group / group_size


# Bits stored per group besides the weights themselves:
# GPTQ/AWQ: an fp16 scale plus a packed zero point of the same width as the weights
#   per group and output column (AutoGPTQ qweight/qzeros/scales; AutoAWQ WQLinear_GEMM).
# int4/int8 (compressed-tensors pack-quantized, symmetric): one fp16 scale per group.
_GROUP_OVERHEAD_BITS: dict[str, tuple[float, float]] = {
    "gptq-int4": (4.0, 16 + 4),
    "gptq-int8": (8.0, 16 + 8),
    "awq-int4": (4.0, 16 + 4),
    "int4": (4.0, 16),
}

# ggml block layouts (ggml/src/ggml-common.h): bytes per block / weights per block * 8.
GGUF_TYPE_BITS: dict[str, float] = {
    "F32": 32.0,
    "F16": 16.0,
    "BF16": 16.0,
    "Q8_0": 34 * 8 / 32,  # fp16 d + 32 int8
    "Q6_K": 210 * 8 / 256,  # ql[128] qh[64] scales[16] d
    "Q5_K": 176 * 8 / 256,  # d dmin scales[12] qh[32] qs[128]
    "Q5_0": 22 * 8 / 32,  # d qh[4] qs[16]
    "Q4_K": 144 * 8 / 256,  # d dmin scales[12] qs[128]
    "Q4_0": 18 * 8 / 32,  # d qs[16]
    "IQ4_XS": 136 * 8 / 256,  # d scales_h scales_l[4] qs[128]
    "Q3_K": 110 * 8 / 256,  # hmask[32] qs[64] scales[12] d
    "Q2_K": 84 * 8 / 256,  # scales[16] qs[64] d dmin
    "MXFP4": 17 * 8 / 32,  # e8m0 scale + 16 bytes of E2M1 pairs (block_mxfp4)
}

_P = Precision
PRECISIONS: dict[str, Precision] = {
    p.key: p
    for p in (
        _P("fp32", "FP32", 32, "float", activation_bytes=4),
        _P("bf16", "BF16", 16, "float"),
        _P("fp16", "FP16", 16, "float"),
        # FP8 W8A8 with per-tensor scales (vLLM fp8 / compressed-tensors float8).
        _P("fp8", "FP8", 8, "linear"),
        # Weight-only int8 with per-channel scales (bitsandbytes/compressed-tensors int8).
        _P("int8", "INT8", 8, "linear"),
        _P("int4", "INT4 (g128)", 4 + 16 / 128, "linear"),
        _P("gptq-int4", "GPTQ 4-bit", 4 + 20 / 128, "linear"),
        _P("gptq-int8", "GPTQ 8-bit", 8 + 24 / 128, "linear"),
        _P("awq-int4", "AWQ 4-bit", 4 + 20 / 128, "linear"),
        # bitsandbytes NF4: 4 bits + an fp32 absmax per block of 64 (blocksize=64, no double quant).
        _P("bnb-nf4", "bitsandbytes NF4", 4 + 32 / 64, "linear"),
        # ... with double quantization: absmax as int8 per 64, plus an fp32 per 256 absmax.
        _P("bnb-nf4-dq", "bitsandbytes NF4 + double quant", 4 + 8 / 64 + 32 / (64 * 256), "linear"),
        # LLM.int8(): int8 weights + an fp32 scale per output row (negligible).
        _P("bnb-int8", "bitsandbytes INT8", 8, "linear"),
        # OCP MX FP4: E2M1 values with one E8M0 scale per block of 32.
        _P("mxfp4", "MXFP4", 4 + 8 / 32, "linear"),
        _P("Q8_0", "GGUF Q8_0", GGUF_TYPE_BITS["Q8_0"], "gguf"),
        _P("Q6_K", "GGUF Q6_K", GGUF_TYPE_BITS["Q6_K"], "gguf"),
        _P("Q5_K_M", "GGUF Q5_K_M", GGUF_TYPE_BITS["Q5_K"], "gguf"),
        _P("Q5_0", "GGUF Q5_0", GGUF_TYPE_BITS["Q5_0"], "gguf"),
        _P("Q4_K_M", "GGUF Q4_K_M", GGUF_TYPE_BITS["Q4_K"], "gguf"),
        _P("Q4_K_S", "GGUF Q4_K_S", GGUF_TYPE_BITS["Q4_K"], "gguf"),
        _P("Q4_0", "GGUF Q4_0", GGUF_TYPE_BITS["Q4_0"], "gguf"),
        _P("IQ4_XS", "GGUF IQ4_XS", GGUF_TYPE_BITS["IQ4_XS"], "gguf"),
        _P("Q3_K_M", "GGUF Q3_K_M", GGUF_TYPE_BITS["Q3_K"], "gguf"),
        _P("Q2_K", "GGUF Q2_K", GGUF_TYPE_BITS["Q2_K"], "gguf"),
        # llama.cpp's MXFP4 MoE file type (gpt-oss): experts MXFP4, other matrices Q8_0.
        _P("MXFP4_MOE", "GGUF MXFP4 MoE", GGUF_TYPE_BITS["MXFP4"], "gguf"),
    )
}

_ALIASES = {
    "float32": "fp32",
    "bfloat16": "bf16",
    "float16": "fp16",
    "half": "fp16",
    "float8": "fp8",
    "nf4": "bnb-nf4",
    "gptq": "gptq-int4",
    "awq": "awq-int4",
    "q8": "Q8_0",
    "q4": "Q4_K_M",
}

#: KV cache bytes per element (llama.cpp ggml_row_size for q8_0/q4_0 blocks of 32).
KV_BYTES: dict[str, float] = {
    "fp32": 4.0,
    "fp16": 2.0,
    "bf16": 2.0,
    "fp8": 1.0,
    "q8_0": 34 / 32,
    "q4_0": 18 / 32,
}


def resolve_precision(key: str) -> Precision | None:
    """The precision named by ``key`` (case-insensitive, common aliases); None if unknown."""
    if key in PRECISIONS:
        return PRECISIONS[key]
    lowered = key.strip().lower()
    lowered = _ALIASES.get(lowered, lowered)
    for candidate in PRECISIONS.values():
        if candidate.key.lower() == lowered:
            return candidate
    return None

"""Bytes of the model's weights for a chosen precision, exact metadata first.

Order of trust: a GGUF file's size, the checkpoint's ``metadata.total_size``,
the Hub's per-dtype safetensors counts, then arithmetic from the config. Exact
figures only describe the checkpoint as published, so they are used when the
precision is ``auto`` (or names the checkpoint's own format).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import OptionError
from .gguf import GGUF_TENSOR_BITS, gguf_type_census
from .params import ParamCounts
from .precision import PRECISIONS, Precision, resolve_precision
from .result import WeightMetadata
from .skipped import skipped_linear_params
from .spec import ModelSpec

__all__ = [
    "SAFETENSORS_DTYPE_BYTES",
    "WeightTerm",
    "WeightsEstimate",
    "estimate_weights",
    "resolve_weight_precision",
]

#: safetensors dtype names -> bytes per stored element (safetensors format spec).
SAFETENSORS_DTYPE_BYTES = {
    "F64": 8,
    "I64": 8,
    "U64": 8,
    "F32": 4,
    "I32": 4,
    "U32": 4,
    "F16": 2,
    "BF16": 2,
    "I16": 2,
    "U16": 2,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "F8_E8M0": 1,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
    "F4": 0.5,
    "F6_E2M3": 0.75,
    "F6_E3M2": 0.75,
}
# Integer dtypes that quantized checkpoints use to pack several weights per element.
_PACKED_DTYPES = ("I32", "U32", "I8", "U8", "I16")


@dataclass(frozen=True)
class WeightTerm:
    """``params`` stored at ``bits`` per weight (scales included); for ``estimator.explain``."""

    label: str
    params: int
    bits: float


@dataclass(frozen=True)
class WeightsEstimate:
    """Weight bytes and parameters, with where each number came from."""

    bytes: int
    params: int
    param_source: str
    bytes_source: str
    precision: Precision
    notes: tuple[str, ...] = ()
    # Config arithmetic: the parts whose bits sum to ``bytes`` x 8 (empty for exact sources).
    terms: tuple[WeightTerm, ...] = ()


def resolve_weight_precision(spec: ModelSpec, requested: str) -> tuple[Precision, int | None]:
    """The precision actually used and, for pre-quantized checkpoints, their group size."""
    if requested == "auto":
        if spec.quantization is not None:
            q = spec.quantization
            if q.precision_key in PRECISIONS:
                # group_size -1 (GPTQ without grouping): one scale per input row.
                group = q.group_size or (spec.hidden_size if q.method in ("gptq", "awq") else None)
                return PRECISIONS[q.precision_key], group
            return _packed_precision(spec, q.precision_key, q.bits, q.group_size), None
        dtype = (spec.checkpoint_dtype or "").lower()
        # vLLM ModelConfig dtype="auto": BF16 checkpoints stay BF16, FP32 and FP16 run as FP16.
        if dtype in ("bfloat16", "bf16"):
            return PRECISIONS["bf16"], None
        if dtype in ("float16", "fp16", "float32", "fp32"):
            return PRECISIONS["fp16"], None
        return PRECISIONS["bf16"], None
    precision = resolve_precision(requested)
    if precision is None:
        raise OptionError(
            f"unknown precision {requested!r}; choose one of auto, {', '.join(PRECISIONS)}"
        )
    return precision, None


def _packed_precision(spec: ModelSpec, key: str, bits: float, group: int | None) -> Precision:
    """GPTQ/AWQ at a width without a catalog entry (2/3-bit, or no grouping): the weights
    plus an fp16 scale and a packed zero per group (AutoGPTQ QuantLinear); group -1 means
    one group per input row, i.e. the hidden size."""
    width = group if group and group > 0 else spec.hidden_size
    return Precision(
        key, f"{key.split('-')[0].upper()} {bits:g}-bit", bits + (16 + bits) / width, "linear"
    )


def _metadata_params(meta: WeightMetadata | None) -> tuple[int | None, bool]:
    """Parameter count from the Hub's per-dtype map, and whether it is packed."""
    if meta is None or not meta.safetensors_parameters:
        return None, False
    counts = meta.safetensors_parameters
    packed = any(k.upper() in _PACKED_DTYPES for k in counts)
    return sum(int(v) for v in counts.values()), packed


def _stored_bytes(meta: WeightMetadata) -> int | None:
    if not meta.safetensors_parameters:
        return None
    total = 0.0
    for dtype, count in meta.safetensors_parameters.items():
        width = SAFETENSORS_DTYPE_BYTES.get(dtype.upper())
        if width is None:
            return None
        total += width * int(count)
    return int(total)


def _arithmetic(
    spec: ModelSpec,
    counts: ParamCounts,
    precision: Precision,
    group_size: int,
    as_published: bool = False,
) -> tuple[int, tuple[WeightTerm, ...]]:
    """Bytes from the config, and the parts whose bits add up to them."""
    if precision.kind == "float":
        bits = precision.bits_per_weight
        return int(counts.total * bits / 8), (WeightTerm("parameters", counts.total, bits),)
    if precision.kind == "gguf":
        census = gguf_type_census(spec, counts, precision.key)
        terms = tuple(
            WeightTerm(kind, n, GGUF_TENSOR_BITS[kind])
            for kind, n in sorted(census.items(), key=lambda item: (-item[1], item[0]))
        )
        # Every type's bits per weight is a multiple of 1/32: the sum is exact in any order.
        return int(sum(t.params * t.bits for t in terms) / 8), terms
    bits = precision.linear_bits(group_size)
    # gpt-oss: only the MoE experts are MXFP4; other formats quantize every block linear.
    experts_only = precision.key == "mxfp4" and bool(counts.experts)
    quantized = counts.experts if experts_only else counts.linear
    # The checkpoint's own format keeps the modules its quantization_config lists in 16 bits.
    skipped = 0
    if as_published and spec.quantization is not None:
        entries = spec.quantization.skipped_modules
        skipped = skipped_linear_params(entries, counts.layers, experts_only)
    quantized -= skipped
    kept = counts.total - quantized - skipped
    label = "expert weights" if experts_only else "block linear weights"
    parts = [WeightTerm(label, quantized, bits), WeightTerm("kept in 16 bits", kept, 16.0)]
    if skipped:
        parts.append(WeightTerm("linear layers the checkpoint keeps in 16 bits", skipped, 16.0))
    return int(quantized * bits / 8 + (kept + skipped) * 2), tuple(parts)


def estimate_weights(
    spec: ModelSpec,
    counts: ParamCounts,
    requested: str,
    group_size: int,
    meta: WeightMetadata | None,
) -> WeightsEstimate:
    """Weights bytes and parameter count, with where each figure came from."""
    precision, checkpoint_group = resolve_weight_precision(spec, requested)
    notes: list[str] = []
    meta_params, packed = _metadata_params(meta)
    if meta_params is not None and not packed:
        params, param_source = meta_params, "safetensors-metadata"
        if counts.total and abs(meta_params - counts.total) / counts.total > 0.02:
            notes.append(
                f"the checkpoint stores {meta_params:,} parameters, the config implies "
                f"{counts.total:,} (extra tensors such as MTP layers or a vision tower)"
            )
    else:
        params, param_source = counts.total, "config-arithmetic"
        if packed:
            notes.append("packed quantized checkpoint: parameters counted from the config")
    as_published = requested == "auto" or (
        spec.quantization is not None and precision.key == spec.quantization.precision_key
    )
    if (
        meta is not None
        and meta.gguf_file_bytes
        and (requested == "auto" or (meta.gguf_quant or "").upper() == precision.key.upper())
    ):
        quant = meta.gguf_quant or precision.key
        resolved = resolve_precision(quant) or precision
        return WeightsEstimate(
            meta.gguf_file_bytes, params, param_source, "gguf-file", resolved, tuple(notes)
        )
    if meta is not None and as_published:
        if meta.safetensors_total_bytes:
            return WeightsEstimate(
                meta.safetensors_total_bytes,
                params,
                param_source,
                "index-total-size",
                precision,
                tuple(notes),
            )
        stored = _stored_bytes(meta)
        if stored:
            return WeightsEstimate(
                stored, params, param_source, "safetensors-metadata", precision, tuple(notes)
            )
    if precision.kind == "float" and param_source != "config-arithmetic":
        # A float precision stores every counted parameter: trust the checkpoint's count.
        bits = precision.bits_per_weight
        weight_bytes = int(params * bits / 8)
        terms: tuple[WeightTerm, ...] = (WeightTerm("parameters", params, bits),)
    else:
        group = checkpoint_group if (checkpoint_group and requested == "auto") else group_size
        weight_bytes, terms = _arithmetic(spec, counts, precision, group, as_published)
    return WeightsEstimate(
        weight_bytes,
        params,
        param_source,
        "config-arithmetic",
        precision,
        tuple(notes),
        terms,
    )

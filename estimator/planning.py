"""Questions asked of many estimates: what fits, how far it scales, what to buy.

All helpers parse the config once and reuse the spec, so each extra point costs
only the arithmetic of :func:`estimator.breakdown.breakdown`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .breakdown import breakdown, prepare
from .errors import OptionError
from .gpus import GPUS, Gpu, get_gpu
from .options import MAX_BATCH, MAX_CONTEXT, EstimateOptions
from .params import ParamCounts
from .precision import PRECISIONS
from .result import Estimate, Recommendation, WeightMetadata
from .spec import ModelSpec

__all__ = [
    "MAX_RECOMMENDED_GPUS",
    "SweepPoint",
    "compare_precisions",
    "max_batch",
    "max_context",
    "rank_gpus",
    "recommend",
    "sweep",
]

#: Largest GPU count the recommendation searches (a rack of 8-GPU nodes).
MAX_RECOMMENDED_GPUS = 64


@dataclass(frozen=True)
class SweepPoint:
    """One point of a context or batch sweep: totals and whether they fit."""

    x: int
    total_bytes: int
    per_gpu_bytes: int
    fits: bool | None


def compare_precisions(
    config: Mapping[str, Any],
    options: EstimateOptions | None = None,
    metadata: WeightMetadata | None = None,
) -> list[Estimate]:
    """The same model and settings at every weight precision, in catalog order."""
    options = options or EstimateOptions()
    spec, counts = prepare(config, options)
    return [breakdown(spec, counts, options.with_(precision=key), metadata) for key in PRECISIONS]


def _log_points(start: int, stop: int, points: int) -> list[int]:
    if stop <= start:
        return [start]
    ratio = math.log(stop / start)
    values = {round(start * math.exp(ratio * i / (points - 1))) for i in range(points)}
    return sorted(values)


def sweep(
    config: Mapping[str, Any],
    options: EstimateOptions | None = None,
    metadata: WeightMetadata | None = None,
    axis: str = "context",
    points: int = 100,
) -> list[SweepPoint]:
    """Memory against context (or batch) on a log scale, for charts."""
    options = options or EstimateOptions()
    if axis not in ("context", "batch"):
        raise OptionError(f"sweep axis must be 'context' or 'batch', got {axis!r}")
    if not 2 <= points <= 1000:
        raise OptionError(f"points must be between 2 and 1000, got {points}")
    spec, counts = prepare(config, options)
    if axis == "context":
        current = options.context or min(spec.max_context or 4096, 4096)
        top = max(spec.max_context or current, current) * 2
        xs = _log_points(min(128, current), min(top, MAX_CONTEXT), points)
        generated = options.generated_tokens or 0
        variants = [options.with_(context=x, generated_tokens=min(generated, x)) for x in xs]
    else:
        xs = _log_points(1, min(max(256, options.batch * 4), MAX_BATCH), points)
        variants = [options.with_(batch=x) for x in xs]
    result = []
    for x, variant in zip(xs, variants, strict=False):
        est = breakdown(spec, counts, variant, metadata)
        result.append(
            SweepPoint(
                x, est.total_bytes, est.per_gpu_bytes, None if est.fit is None else est.fit.fits
            )
        )
    return result


def _largest(fits: Callable[[int], bool], low: int, high: int) -> int | None:
    """Largest value in [low, high] for which the monotone predicate ``fits`` holds."""
    if not fits(low):
        return None
    if fits(high):
        return high
    while high - low > 1:
        mid = (low + high) // 2
        if fits(mid):
            low = mid
        else:
            high = mid
    return low


def _require_gpu(options: EstimateOptions) -> None:
    if options.gpu is None:
        raise OptionError("choose a GPU (options.gpu / --gpu) to ask what fits")


def max_batch(
    config: Mapping[str, Any], options: EstimateOptions, metadata: WeightMetadata | None = None
) -> int | None:
    """Largest batch that fits the GPU setup at the options' context (None: not even 1)."""
    _require_gpu(options)
    spec, counts = prepare(config, options)

    def fits(batch: int) -> bool:
        est = breakdown(spec, counts, options.with_(batch=batch), metadata)
        return bool(est.fit and est.fit.fits)

    return _largest(fits, 1, MAX_BATCH)


def max_context(
    config: Mapping[str, Any], options: EstimateOptions, metadata: WeightMetadata | None = None
) -> int | None:
    """Longest context that fits the GPU setup at the options' batch (None: not even 1 token)."""
    _require_gpu(options)
    spec, counts = prepare(config, options)
    generated = options.generated_tokens or 0

    def fits(context: int) -> bool:
        variant = options.with_(context=context, generated_tokens=min(generated, context))
        est = breakdown(spec, counts, variant, metadata)
        return bool(est.fit and est.fit.fits)

    return _largest(fits, 1, MAX_CONTEXT)


def _layouts(count: int, heads: int, layers: int) -> list[tuple[int, int]]:
    """(tp, pp) with tp x pp = count, tp dividing the heads, widest TP first."""
    result = []
    for tp in range(count, 0, -1):
        if count % tp or (heads and heads % tp):
            continue
        pp = count // tp
        if pp <= max(layers, 1):
            result.append((tp, pp))
    return result


def recommend(
    spec: ModelSpec,
    counts: ParamCounts,
    options: EstimateOptions,
    metadata: WeightMetadata | None = None,
    gpu: Gpu | None = None,
) -> Recommendation:
    """Smallest number of ``gpu`` (default: options.gpu) that fits, with its TP/PP layout."""
    if gpu is None:
        _require_gpu(options)
        gpu = get_gpu(options.gpu or "")
    heads = spec.attention.num_heads
    for count in range(1, MAX_RECOMMENDED_GPUS + 1):
        for tp, pp in _layouts(count, heads, spec.num_layers):
            variant = options.with_(
                gpu=gpu.key, gpus=count, tensor_parallel=tp, pipeline_parallel=pp
            )
            est = breakdown(spec, counts, variant, metadata)
            if est.fit is not None and est.fit.fits:
                per = est.per_gpu_bytes / 1024**3
                usable = est.fit.usable_bytes / 1024**3
                layout = f"TP={tp}" + (f", PP={pp}" if pp > 1 else "")
                text = (
                    f"{count} x {gpu.name} ({layout}): {per:.1f} GiB per GPU "
                    f"of {usable:.1f} GiB usable"
                )
                return Recommendation(gpu.key, gpu.name, count, tp, text)
            break  # the widest valid TP is the best layout for this count
    return Recommendation(
        gpu.key, gpu.name, None, None, f"does not fit on up to {MAX_RECOMMENDED_GPUS} x {gpu.name}"
    )


def rank_gpus(
    config: Mapping[str, Any],
    options: EstimateOptions | None = None,
    metadata: WeightMetadata | None = None,
) -> list[Recommendation]:
    """Every catalog GPU with the count it needs, fewest total gigabytes first."""
    options = options or EstimateOptions()
    spec, counts = prepare(config, options)
    recs = [recommend(spec, counts, options, metadata, gpu) for gpu in GPUS.values()]

    def cost(rec: Recommendation) -> tuple[int, float]:
        if rec.count is None:
            return (1, 0.0)
        return (0, rec.count * GPUS[rec.gpu].memory_bytes)

    return sorted(recs, key=cost)

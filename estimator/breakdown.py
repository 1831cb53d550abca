"""One model, one set of options -> one breakdown, as a short sequence of named stages.

``prepare`` parses the config and applies the options that change the model; ``breakdown``
runs the stages of :mod:`estimator.stages`, :mod:`estimator.parallel` and
:mod:`estimator.fit` and assembles the :class:`Estimate` (no recommendation, placement or
speed: :mod:`estimator.estimate` adds those). The planning helpers call ``breakdown``
directly with a parsed spec, so a 100-point chart costs no re-parsing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from .components import (
    activations_component,
    kv_component,
    model_summary,
    overhead_component,
    weights_component,
)
from .devices import Device, resolve_devices
from .engines import ENGINE_PROFILES
from .errors import ConfigError, OptionError
from .fit import fit_stage, pool_stage
from .options import EstimateOptions
from .parallel import Footprint, parallel_plan
from .params import ParamCounts, count_params
from .result import Estimate, WeightMetadata
from .spec import ModelSpec, parse_config
from .stages import (
    activations_stage,
    kv_stage,
    overhead_stage,
    setup_stage,
    weights_stage,
)
from .values import MAX_PARAMS, describe_number
from .weights import estimate_weights

__all__ = ["breakdown", "hardware_devices", "prepare"]


def prepare(config: Mapping[str, Any], options: EstimateOptions) -> tuple[ModelSpec, ParamCounts]:
    """Parse the config and apply the options that change the model (layers to run)."""
    spec = parse_config(config)
    if options.layers is not None:
        if options.layers > spec.num_layers:
            raise OptionError(
                f"layers ({options.layers}) is more than the model has ({spec.num_layers})"
            )
        spec = dataclasses.replace(spec, layers=spec.layers[: options.layers])
    counts = count_params(spec)
    if counts.total > MAX_PARAMS:
        part = max(
            ("the vision tower", counts.vision),
            ("the embeddings", counts.embedding + counts.lm_head),
            ("the layers", counts.layers_total),
            key=lambda item: item[1],
        )[0]
        raise ConfigError(
            f"config.json describes {describe_number(counts.total)} parameters, mostly in "
            f"{part}: a size in it is out of range (no model has more than "
            f"{describe_number(MAX_PARAMS)})"
        )
    return spec, counts


def hardware_devices(options: EstimateOptions) -> tuple[Device, ...]:
    """The devices ``options`` names: a catalog list (``gpu``) and/or a custom GPU."""
    return resolve_devices(
        options.gpu, options.gpu_memory_bytes, options.gpu_bandwidth_gbs, options.wired_limit_mb
    )


def _bounding_gpu(devices: tuple[Device, ...]) -> Device | None:
    """The smallest device bounds equal tensor-parallel shards (and is the only one when a
    single GPU is given); placements over mixed devices are in estimator.placement. A
    CPU-only machine has no GPU fit; its RAM is placed (estimator.placement)."""
    gpu = min(devices, key=lambda d: d.usable_bytes) if devices else None
    return None if gpu is not None and gpu.memory_bytes == 0 else gpu


def breakdown(
    spec: ModelSpec,
    counts: ParamCounts,
    options: EstimateOptions,
    metadata: WeightMetadata | None = None,
    *,
    engine_version: str | None = None,
) -> Estimate:
    """Weights, KV cache, activations, overhead, per-GPU split and GPU fit (no recommendation)."""
    warnings = list(spec.warnings)
    profile = ENGINE_PROFILES[options.engine]
    if options.enforce_eager and profile.launch.enforce_eager and profile.cuda_graph_bytes:
        # The engine's own flag skips the CUDA graphs it captures (LaunchFlags.enforce_eager).
        profile = dataclasses.replace(profile, cuda_graph_bytes=0)
    stored = estimate_weights(spec, counts, options.precision, options.group_size, metadata)
    warnings.extend(stored.notes)
    devices = hardware_devices(options)
    gpu = _bounding_gpu(devices)
    weights = weights_stage(spec, counts, options, profile, stored, gpu)
    setup = setup_stage(spec, options, profile, weights, devices, gpu, engine_version, warnings)
    kv = kv_stage(spec, options, setup, warnings)
    act = activations_stage(spec, options, setup, stored.precision.key, warnings)
    overhead = overhead_stage(options, setup)
    footprint = Footprint(
        weights=weights.bytes,
        replicated_weights=weights.rope_bytes,
        kv_attention=kv.attention_bytes,
        kv_state=kv.state_bytes,
        activations=act.estimate.bytes,
        logits=act.estimate.logits_bytes,
        overhead=overhead.bytes,
    )
    parallel = parallel_plan(spec, counts, options, footprint, warnings)
    pool = pool_stage(spec, options, setup, parallel, kv, overhead, warnings)
    return Estimate(
        model=model_summary(spec, counts, stored.params, stored.param_source),
        options=options,
        precision=stored.precision.key,
        kv_dtype=setup.kv_dtype,
        context=setup.context,
        weights_bytes=weights.bytes,
        kv_cache_bytes=kv.bytes,
        kv_bytes_per_token=kv.bytes_per_token,
        activation_bytes=act.estimate.bytes,
        overhead_bytes=overhead.bytes,
        total_bytes=weights.bytes + kv.bytes + act.estimate.bytes + overhead.bytes,
        components=(
            weights_component(spec, counts, weights),
            kv_component(options, setup, kv),
            activations_component(options, setup, act),
            overhead_component(setup, overhead),
        ),
        parallel=parallel,
        fit=fit_stage(options, setup, parallel, pool),
        recommendation=None,
        engine_reserved_bytes=pool.reserved,
        engine_kv_capacity_tokens=pool.kv_capacity,
        engine_max_concurrency=pool.concurrency,
        warnings=tuple(warnings),
    )

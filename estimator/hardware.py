"""Own hardware: place an estimate on the given devices and RAM, then time it.

Ties :mod:`estimator.layout`, :mod:`estimator.placement` and :mod:`estimator.speed` to one
estimate. When a layer engine's placement does not fit even with system RAM, the context
is reduced last, as llama.cpp's fit does, and the longest context that fits is reported
(a multiple of 256, common/fit.cpp).
"""

from __future__ import annotations

import dataclasses

from .breakdown import breakdown, hardware_devices, prepare
from .devices import Device
from .errors import EstimatorError
from .layout import ModelLayout, model_layout
from .options import EstimateOptions
from .params import ParamCounts
from .placement import CONTEXT_ALIGN, LAYER_ENGINES, Placement, place
from .result import Estimate, WeightMetadata
from .spec import ModelSpec
from .speed import (
    DEFAULT_RAM_BANDWIDTH_GBS,
    DeviceShare,
    SpeedEstimate,
    SpeedInputs,
    estimate_speed,
)

__all__ = ["plan_hardware", "speed_inputs", "speed_inputs_for"]


def _place(
    spec: ModelSpec,
    counts: ParamCounts,
    est: Estimate,
    devices: tuple[Device, ...],
    options: EstimateOptions,
) -> tuple[Placement, ModelLayout | None]:
    layout = model_layout(spec, counts, est) if options.engine in LAYER_ENGINES else None
    return place(spec, layout, est, devices, options), layout


def plan_hardware(
    spec: ModelSpec,
    counts: ParamCounts,
    options: EstimateOptions,
    metadata: WeightMetadata | None,
    est: Estimate,
    devices: tuple[Device, ...],
) -> tuple[Placement, SpeedEstimate | None]:
    """The placement of ``est`` on ``devices`` and its speed."""
    placement, layout = _place(spec, counts, est, devices, options)
    if placement.fits is False and options.engine in LAYER_ENGINES:
        best = _longest_context(spec, counts, options, metadata, devices, est.context)
        placement = dataclasses.replace(placement, max_context=best)
    speed = None
    if layout is not None or options.engine not in LAYER_ENGINES:
        try:
            speed = estimate_speed(speed_inputs(spec, counts, options, est, placement, layout))
        except (ZeroDivisionError, ValueError, EstimatorError):
            speed = None
    return placement, speed


def _longest_context(
    spec: ModelSpec,
    counts: ParamCounts,
    options: EstimateOptions,
    metadata: WeightMetadata | None,
    devices: tuple[Device, ...],
    context: int,
) -> int | None:
    """Largest context (multiple of 256) whose placement fits; None if not even 256."""
    def fits(ctx: int) -> bool:
        variant = options.with_(
            context=ctx, generated_tokens=min(options.generated_tokens or 0, ctx)
        )
        est = breakdown(spec, counts, variant, metadata)
        placement, _ = _place(spec, counts, est, devices, variant)
        return placement.fits is not False

    low, high = 1, max(context // CONTEXT_ALIGN, 1)
    if not fits(low * CONTEXT_ALIGN):
        return None
    while high - low > 1:
        mid = (low + high) // 2
        if fits(mid * CONTEXT_ALIGN):
            low = mid
        else:
            high = mid
    return low * CONTEXT_ALIGN


def _active_params(counts: ParamCounts, index: int) -> int:
    layer = counts.layers[index]
    if not counts.num_experts or not layer.experts:
        return layer.total
    return (
        layer.total - layer.experts + layer.experts * counts.experts_per_token // counts.num_experts
    )


def speed_inputs(
    spec: ModelSpec,
    counts: ParamCounts,
    options: EstimateOptions,
    est: Estimate,
    placement: Placement,
    layout: ModelLayout | None,
) -> SpeedInputs:
    """What the speed model reads from a placement."""
    if layout is not None:
        shares = _layer_shares(spec, counts, options, est, placement, layout)
    else:
        shares = [_shard_share(spec, counts, options, est)]
    a = spec.attention
    gpus = [s.device for s in shares if s.device is not None]
    links = [d.pcie_gbs for d in gpus if d.pcie_gbs]
    generated = options.generated_tokens or 0
    prompt = max(est.context - generated, 0)
    return SpeedInputs(
        shares=tuple(shares),
        engine=options.engine,
        quantized=est.precision not in ("fp32", "fp16", "bf16")
        and est.precision.upper() == est.precision,
        experts_active_fraction=(
            counts.experts_per_token / counts.num_experts if counts.num_experts else 1.0
        ),
        prompt_tokens=prompt,
        generated_tokens=generated,
        batch=options.batch,
        attention_flops_per_token_per_ctx=4.0 * spec.attention_layers * a.num_heads * a.head_dim,
        total_layers=spec.num_layers,
        ram_bandwidth_gbs=_ram_bandwidth(options, gpus),
        cpu_tflops=_cpu_tflops(gpus),
        pcie_gbs=min(links) if links else None,
        backend=options.backend,
    )


def _layer_shares(
    spec: ModelSpec,
    counts: ParamCounts,
    options: EstimateOptions,
    est: Estimate,
    placement: Placement,
    layout: ModelLayout,
) -> list[DeviceShare]:
    """Whole layers: each GPU reads its layers in turn, then the CPU its own."""
    kv_total = est.kv_cache_bytes or 1
    per_token = est.kv_bytes_per_token
    output_params = counts.lm_head or counts.embedding
    n = spec.num_layers
    per_layer_params = [_active_params(counts, i) for i in range(n)]
    avg_params = sum(per_layer_params) / max(n, 1)
    shares: list[DeviceShare] = []
    for row in placement.devices:
        layers = row.layers
        experts = int(sum(layout.experts) / max(n, 1) * row.expert_layers)
        params = int(avg_params * layers) + (output_params if row.output else 0)
        shares.append(
            DeviceShare(
                device=_device(row.key, row.name, placement, options),
                weights_bytes=row.weights_bytes,
                expert_bytes=experts,
                kv_bytes_per_token=int(per_token * row.kv_bytes / kv_total),
                layers=layers,
                params=params,
            )
        )
    cpu = placement.cpu
    if cpu is not None and (cpu.layers or cpu.expert_layers or cpu.output):
        experts = int(sum(layout.experts) / max(n, 1) * (cpu.layers + cpu.expert_layers))
        params = int(avg_params * cpu.layers) + (output_params if cpu.output else 0)
        params += int(
            sum(counts.layers[i].experts for i in range(n))
            / max(n, 1)
            * cpu.expert_layers
            * (counts.experts_per_token / counts.num_experts if counts.num_experts else 1)
        )
        shares.append(
            DeviceShare(
                device=None,
                weights_bytes=cpu.weights_bytes - layout.input_cpu,
                expert_bytes=experts,
                kv_bytes_per_token=int(per_token * cpu.kv_bytes / kv_total),
                layers=cpu.layers,
                params=params,
            )
        )
    return shares


def _shard_share(
    spec: ModelSpec, counts: ParamCounts, options: EstimateOptions, est: Estimate
) -> DeviceShare:
    """Tensor parallel: every rank reads its shard at once; one rank times the step."""
    par = est.parallel
    device = min(hardware_devices(options), key=lambda d: d.usable_bytes)
    active = counts.active // max(par.tensor_parallel * par.pipeline_parallel, 1)
    experts = int(counts.experts / max(counts.total, 1) * par.weights_per_gpu_bytes)
    return DeviceShare(
        device=device,
        weights_bytes=par.weights_per_gpu_bytes,
        expert_bytes=experts,
        kv_bytes_per_token=int(est.kv_bytes_per_token * par.kv_share),
        layers=spec.num_layers // max(par.pipeline_parallel, 1),
        params=active,
    )


def _device(key: str, name: str, placement: Placement, options: EstimateOptions) -> Device:
    for device in hardware_devices(options):
        if device.key == key and device.name == name:
            return device
    raise EstimatorError(f"device {key} is not in the placement")


def _ram_bandwidth(options: EstimateOptions, gpus: list[Device]) -> float:
    if options.ram_bandwidth_gbs:
        return options.ram_bandwidth_gbs
    unified = [d for d in gpus if d.unified and d.bandwidth_gbs]
    if unified:
        return float(unified[0].bandwidth_gbs or 0.0)  # the same memory the GPU reads
    return DEFAULT_RAM_BANDWIDTH_GBS


def _cpu_tflops(gpus: list[Device]) -> float:
    """FP32 peak of the host CPU: the catalog's desktop DDR5 CPU (0.8 TFLOPS, huggingface.js
    hardware.ts via cpu-monkey) unless the host is a unified-memory machine's own CPU."""
    return 0.8


def speed_inputs_for(
    config: dict[str, object],
    options: EstimateOptions,
    metadata: WeightMetadata | None = None,
) -> SpeedInputs:
    """The speed model's inputs for a config and options that name hardware (for fitting
    and checking the speed model against measured runs)."""
    spec, counts = prepare(config, options)
    est = breakdown(spec, counts, options, metadata)
    devices = hardware_devices(options)
    placement, layout = _place(spec, counts, est, devices, options)
    return speed_inputs(spec, counts, options, est, placement, layout)

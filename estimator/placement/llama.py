"""llama.cpp's placement: layers split over GPUs by free memory (``--tensor-split``
overrides), and when that does not fit, placed as ``--fit`` does (:mod:`.llama_fit`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..devices import Device
from ..engines import ENGINE_PROFILES
from ..layout import ModelLayout
from ..options import EstimateOptions, parse_tensor_split
from ..result import Estimate
from ..spec import ModelSpec
from .llama_fit import fit_layers
from .llama_flags import llama_flags
from .llama_split import Slot, cpu_side, default_split, device_placement, slot_bytes
from .records import FIT_MARGIN_BYTES, DevicePlacement, Placement, gib

__all__ = ["place_llama"]


@dataclass
class _Split:
    """A layer assignment: the GPUs' slots, the layers left on the CPU, how it was made."""

    slots: list[Slot]
    cpu_layers: list[int]
    strategy: str
    partial: bool
    notes: list[str] = field(default_factory=list)


def place_llama(
    spec: ModelSpec,
    layout: ModelLayout,
    est: Estimate,
    devices: tuple[Device, ...],
    ram: int | None,
    options: EstimateOptions,
) -> Placement:
    """llama.cpp's split as the options give it, refit where llama.cpp's --fit would."""
    context_bytes = 0 if devices[0].kind == "apple" else _cuda_context(options)
    split = _user_split(layout, devices, context_bytes, options)
    _settle(layout, split, devices, context_bytes, options)
    return _placement(layout, est, split, ram, options)


def _cuda_context(options: EstimateOptions) -> int:
    return ENGINE_PROFILES[options.engine].cuda_context_bytes


def _user_split(
    layout: ModelLayout, devices: tuple[Device, ...], context_bytes: int, options: EstimateOptions
) -> _Split:
    """The split llama.cpp makes from ``-ts``, ``-ngl`` and ``--n-cpu-moe`` (or its
    defaults) before --fit looks at it."""
    slots = [Slot(d, context_bytes) for d in devices]
    strategy = "default-split"
    if options.tensor_split:
        props = parse_tensor_split(options.tensor_split)
        if len(props) != len(devices):
            from ..errors import OptionError

            raise OptionError(f"tensor_split has {len(props)} values for {len(devices)} GPUs")
        strategy = "tensor-split"
    else:
        # Default: by free memory (llama-model.cpp: splits[i] = free of device i).
        props = tuple(float(max(s.device.usable_bytes - context_bytes, 1)) for s in slots)
    cpu_layers = default_split(layout, slots, props, options.n_gpu_layers)
    if options.n_cpu_moe and any(layout.experts):
        # --n-cpu-moe N (common/arg.cpp): "blk.i.ffn_(up|down|gate)_exps" of layers 0..N-1
        # to the CPU buffer type, wherever their layer is.
        for slot in slots:
            moved = [i for i in slot.layers if i < options.n_cpu_moe and layout.experts[i]]
            slot.layers = [i for i in slot.layers if i not in moved]
            slot.dense_only = sorted(slot.dense_only + moved)
    partial = bool(cpu_layers) or any(s.dense_only for s in slots)
    return _Split(slots, cpu_layers, strategy, partial)


def _settle(
    layout: ModelLayout,
    split: _Split,
    devices: tuple[Device, ...],
    context_bytes: int,
    options: EstimateOptions,
) -> None:
    """Where the split is over a GPU's target, --fit places the layers afresh, unless the
    user set what it would change."""
    fits_default = all(
        slot_bytes(layout, s, split.partial, layout.projector if i == 0 else 0)
        + FIT_MARGIN_BYTES
        <= s.device.usable_bytes
        for i, s in enumerate(split.slots)
    )
    if options.n_gpu_layers is not None or options.n_cpu_moe:
        split.strategy = "n-gpu-layers" if options.n_gpu_layers is not None else "n-cpu-moe"
        if not fits_default:
            split.notes.append(
                "llama.cpp's --fit does not change -ngl when the user set it (common/fit.cpp: "
                '"n_gpu_layers already set by user")'
            )
    elif not fits_default and split.strategy == "tensor-split":
        split.notes.append(
            "llama.cpp's --fit does not change a split the user set (common/fit.cpp: "
            '"tensor_split already set by user"); drop -ts to let it place the layers'
        )
    elif not fits_default:
        split.strategy = "fit"
        split.slots, split.cpu_layers, split.partial = fit_layers(
            layout, devices, context_bytes, FIT_MARGIN_BYTES, layout.projector
        )
        if options.offload == "none" and (
            split.cpu_layers or any(s.dense_only for s in split.slots)
        ):
            split.notes.append("--offload none: nothing may go to system RAM")


def _placement(
    layout: ModelLayout, est: Estimate, split: _Split, ram: int | None, options: EstimateOptions
) -> Placement:
    """The settled split as rows, flags, a verdict and whether it fits."""
    slots, cpu_layers = split.slots, split.cpu_layers
    dense_only = sorted(i for s in slots for i in s.dense_only)
    output_on_cpu = not any(s.output for s in slots)
    device_rows = tuple(
        device_placement(layout, s, split.partial, layout.projector if i == 0 else 0,
                         FIT_MARGIN_BYTES)
        for i, s in enumerate(slots)
    )
    cpu = cpu_side(layout, cpu_layers, dense_only, output_on_cpu, ram)
    flags, gpu_layers, cpu_moe = llama_flags(
        slots, cpu_layers, layout, est.context, split.strategy, options.tensor_split
    )
    on_gpus = not cpu_layers and not dense_only and not output_on_cpu
    gpu_ok = all(d.fits for d in device_rows)
    fits = _fits(gpu_ok, on_gpus, cpu, ram, options)
    offloaded = cpu.weights_bytes - layout.input_cpu + cpu.kv_bytes
    verdict = _llama_verdict(
        fits, on_gpus, gpu_ok, cpu, offloaded, ram, gpu_layers, layout.layers + 1, cpu_moe, options
    )
    return Placement(
        engine=options.engine,
        strategy=split.strategy,
        devices=device_rows,
        cpu=cpu,
        flags=flags,
        fits=fits,
        on_gpus=on_gpus,
        verdict=verdict,
        context=est.context,
        gpu_layers=gpu_layers,
        total_layers=layout.layers + 1,
        cpu_moe_layers=cpu_moe,
        notes=tuple(split.notes),
    )


def _fits(
    gpu_ok: bool, on_gpus: bool, cpu: DevicePlacement, ram: int | None, options: EstimateOptions
) -> bool | None:
    """False when a GPU is over, or RAM is needed and not allowed or not there; None when
    RAM is needed and --ram was not given."""
    if not gpu_ok:
        return False
    if options.offload == "none" and not on_gpus:
        return False
    if ram is None:
        return True if on_gpus else None
    return cpu.fits


def _llama_verdict(
    fits: bool | None,
    on_gpus: bool,
    gpu_ok: bool,
    cpu: DevicePlacement,
    offloaded: int,
    ram: int | None,
    gpu_layers: int,
    total: int,
    cpu_moe: int,
    options: EstimateOptions,
) -> str:
    if not gpu_ok:
        return "does not fit: a GPU is over its memory even with layers moved off it"
    if on_gpus:
        return f"fits on the GPUs: all {total} layers in GPU memory"
    where = f"{gpu_layers}/{total} layers on GPUs"
    if cpu_moe:
        where += f", experts of {cpu_moe} layers in system RAM"
    if options.offload == "none":
        return f"does not fit on the GPUs (would need {where} and {gib(offloaded)} in RAM)"
    need = cpu.used_bytes + cpu.margin_bytes
    if ram is None:
        return (
            f"fits with CPU offload if system RAM has {gib(need)} free "
            f"({gib(cpu.used_bytes)} + a {gib(cpu.margin_bytes)} margin): {where} (give --ram)"
        )
    if fits:
        return f"fits with CPU offload: {where}, {gib(cpu.used_bytes)} of {gib(ram)} RAM"
    return (
        f"does not fit even with CPU offload: needs {gib(need)} of system RAM "
        f"({gib(need - ram)} more than {gib(ram)})"
    )

"""Ollama's placement: its own estimate (llm/memory.go ``EstimateGPULayers``), a spare
layer and a graph per GPU, layers handed out round robin, the output layer last."""

from __future__ import annotations

from dataclasses import dataclass

from ..devices import Device
from ..layout import ModelLayout
from ..options import EstimateOptions
from ..result import Estimate
from ..spec import ModelSpec
from .ollama_graph import ollama_graph, ollama_kv_per_layer
from .records import MIB, DevicePlacement, Placement, gib

__all__ = ["OLLAMA_MINIMUM", "place_ollama"]

#: Ollama keeps this much free per GPU besides its estimate (discover/gpu.go
#: cudaMinimumMemory = rocmMinimumMemory = 457 MiB; gpu_darwin.go metalMinimumMemory 512 MiB).
OLLAMA_MINIMUM = {"cuda": 457 * MIB, "rocm": 457 * MIB, "metal": 512 * MIB}


@dataclass(frozen=True)
class _Sizes:
    """What the estimate reserves: per GPU, and per layer."""

    minimum: int  # the library's reserve per GPU
    kv_layers: list[int]
    weights_of: list[int]  # each repeating layer's weights
    layer_sizes: list[int]  # weights + KV
    spare: int  # "add one layer worth of memory as a buffer"
    partial: int  # graph size when layers stay on the CPU
    full: int  # graph size when all layers are on GPUs
    graph: int  # the larger, which the estimate reserves while assigning


@dataclass(frozen=True)
class _Assignment:
    """Which GPU got which layers."""

    held: list[list[int]]  # repeating layers per device
    first: int | None  # the first GPU with space: it holds the projector
    output_on: int | None  # the GPU that holds the output layer
    placed: int  # layers on GPUs, the output layer counted as one (num_gpu)
    fully: bool
    overflow: int  # bytes of the layers left to system RAM


def place_ollama(
    spec: ModelSpec,
    layout: ModelLayout,
    est: Estimate,
    devices: tuple[Device, ...],
    ram: int | None,
    options: EstimateOptions,
) -> Placement:
    """llm/memory.go EstimateGPULayers, as written: a spare layer and the minimum reserve on
    every GPU that can take two layers and a graph, layers handed out round robin
    (``gpusWithSpace[i % j]``, a full GPU dropped), the output layer last, a graph per GPU
    with layers (full-offload size only when everything fits)."""
    sizes = _sizes(spec, layout, est, devices)
    done = _assign(layout, sizes, devices)
    rows = _rows(layout, sizes, done, devices)
    cpu = DevicePlacement(
        name="CPU (system RAM)",
        key="cpu",
        memory_bytes=ram or 0,
        weights_bytes=done.overflow + layout.input_cpu,
        kv_bytes=0,
        buffers_bytes=0,
        layers=layout.layers - sum(len(h) for h in done.held),
        output=done.output_on is None,
    )
    fits = _fits(layout, done, ram, options)
    return Placement(
        engine="ollama",
        strategy="ollama",
        devices=tuple(rows),
        cpu=cpu,
        flags=(f"num_ctx {est.context}", f"num_gpu {done.placed}"),
        fits=fits,
        on_gpus=done.fully,
        verdict=_verdict(layout, done, fits, len(devices), ram, options),
        context=est.context,
        gpu_layers=done.placed,
        total_layers=layout.layers + 1,
        notes=(_note(rows, done, len(devices)),),
    )


def _library(devices: tuple[Device, ...]) -> str:
    if devices[0].kind == "apple":
        return "metal"
    return "rocm" if devices[0].vendor == "amd" else "cuda"


def _sizes(
    spec: ModelSpec, layout: ModelLayout, est: Estimate, devices: tuple[Device, ...]
) -> _Sizes:
    library = _library(devices)
    kv_layers = ollama_kv_per_layer(spec, est.context, est.kv_dtype)
    batch = min(est.context, 512)  # num_batch default 512
    partial, full = ollama_graph(spec, est.context, batch, sum(kv_layers))
    if library == "metal":
        partial = full  # "on metal there's no partial offload overhead"
    elif len(devices) > 1:
        full = partial  # "multigpu should always use the partial graph size"
    weights_of = [layout.dense[i] + layout.experts[i] for i in range(layout.layers)]
    layer_sizes = [weights_of[i] + kv_layers[i] for i in range(layout.layers)]
    return _Sizes(
        minimum=OLLAMA_MINIMUM[library],
        kv_layers=kv_layers,
        weights_of=weights_of,
        layer_sizes=layer_sizes,
        spare=layer_sizes[0] if layer_sizes else 0,  # "add one layer worth of memory as a buffer"
        partial=partial,
        full=full,
        graph=max(partial, full),
    )


def _assign(layout: ModelLayout, sizes: _Sizes, devices: tuple[Device, ...]) -> _Assignment:
    """The GPUs with space get the reserve and a spare layer, then the layers round robin
    (a full GPU dropped), then the output layer."""
    free = [d.usable_bytes for d in devices]
    alloc = [0] * len(devices)
    held: list[list[int]] = [[] for _ in devices]
    graph = sizes.graph
    with_space: list[int] = []
    for i in range(len(devices)):
        gzo = layout.projector if not with_space else 0
        if free[i] < gzo + graph + sizes.minimum + 2 * sizes.spare:
            continue  # "gpu has too little memory to allocate any layers"
        with_space.append(i)
        alloc[i] += sizes.minimum + sizes.spare
    first = with_space[0] if with_space else None
    if first is not None:
        alloc[first] += layout.projector
    placed = 0
    for i, size in enumerate(sizes.layer_sizes):
        for j in range(len(with_space), 0, -1):
            g = with_space[i % j]
            if free[g] > alloc[g] + graph + size:
                alloc[g] += size
                held[g].append(i)
                placed += 1
                break
            with_space.pop(i % j)
    fully = placed >= layout.layers
    overflow = sum(
        sizes.layer_sizes[i] for i in range(layout.layers) if not any(i in h for h in held)
    )
    output_on: int | None = None
    for j in range(len(with_space), 0, -1):
        g = with_space[placed % j]
        if free[g] > alloc[g] + graph + layout.output:
            alloc[g] += layout.output
            output_on = g
            placed += 1
            break
    if output_on is None:
        fully = False
        overflow += layout.output
    return _Assignment(held, first, output_on, placed, fully, overflow)


def _rows(
    layout: ModelLayout, sizes: _Sizes, done: _Assignment, devices: tuple[Device, ...]
) -> list[DevicePlacement]:
    graph_used = sizes.full if done.fully else sizes.partial
    rows = []
    for i, device in enumerate(devices):
        held = done.held[i]
        on = bool(held) or done.output_on == i
        weights = sum(sizes.weights_of[k] for k in held)
        weights += layout.output if done.output_on == i else 0
        if i == done.first:
            weights += layout.projector
        rows.append(
            DevicePlacement(
                name=device.name,
                key=device.key,
                memory_bytes=device.usable_bytes,
                weights_bytes=weights,
                kv_bytes=sum(sizes.kv_layers[k] for k in held),
                # the minimum reserve, the spare layer and the graph (Ollama's allocation)
                buffers_bytes=(sizes.minimum + sizes.spare + graph_used) if on else 0,
                layers=len(held),
                output=done.output_on == i,
                expert_layers=len(held),
            )
        )
    return rows


def _note(rows: list[DevicePlacement], done: _Assignment, n_devices: int) -> str:
    vram = sum(r.used_bytes for r in rows)
    counts = [len(h) + (1 if done.output_on == i else 0) for i, h in enumerate(done.held)]
    return (
        f"Ollama's own estimate: {gib(vram + done.overflow)} in all, {gib(vram)} on the GPUs"
        + (f", layers split {','.join(map(str, counts))}" if n_devices > 1 else "")
        + "; it reserves a spare layer and a graph per GPU, so it moves layers to RAM "
        "earlier than llama.cpp's --fit"
    )


def _fits(
    layout: ModelLayout, done: _Assignment, ram: int | None, options: EstimateOptions
) -> bool | None:
    if ram is None:
        fits: bool | None = True if done.fully else None
    else:
        # llm/server.go: "model requires more system memory (X) than is available (Y)".
        fits = done.overflow + layout.input_cpu <= ram
    if options.offload == "none" and not done.fully:
        fits = False
    return fits


def _verdict(
    layout: ModelLayout,
    done: _Assignment,
    fits: bool | None,
    n_devices: int,
    ram: int | None,
    options: EstimateOptions,
) -> str:
    total = layout.layers + 1
    if fits is False and not done.fully and ram is not None and options.offload != "none":
        return (
            f"does not fit: Ollama needs {gib(done.overflow + layout.input_cpu)} of system RAM, "
            f"more than {gib(ram)}"
        )
    if done.fully:
        return f"fits on the GPU{'s' if n_devices > 1 else ''}: Ollama offloads all {total} layers"
    if done.placed == 0:
        return "Ollama would run it all on the CPU: not one layer fits its GPU estimate"
    return f"Ollama offloads {done.placed}/{total} layers; the rest runs from system RAM"

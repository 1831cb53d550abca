"""Where a model's parts go on the hardware you have: GPUs (mixed), system RAM, a Mac.

* llama.cpp: layers split over GPUs by free memory (``--tensor-split`` overrides), and when
  that does not fit, placed as ``--fit`` / ``llama-fit-params`` does (common/fit.cpp,
  ``common_params_fit_impl``): 1 GiB left free per device, layers filled back to front so
  the last GPU holds the output layer, MoE experts moved to system RAM before whole layers.
* Ollama: its own estimate (llm/memory.go ``EstimateGPULayers``): a spare layer and a
  graph per GPU, layers handed out round robin, the output layer last.
* vLLM, SGLang, TGI, transformers: tensor parallelism needs equal shards, so the smallest
  device bounds every rank; nothing is offloaded.

Everything is plain data: :class:`Placement.to_dict` is the ``placement`` JSON object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .devices import Device
from .engines import ENGINE_PROFILES
from .layout import ModelLayout
from .options import EstimateOptions, parse_tensor_split
from .result import Estimate
from .spec import ModelSpec

__all__ = [
    "FIT_MARGIN_BYTES",
    "DevicePlacement",
    "Placement",
    "place",
]

MIB = 1024**2
GIB = 1024**3
#: llama.cpp --fit-target: memory left free on every device (common/common.h
#: fit_params_target = 1024 MiB; the same margin guards system memory when nothing is on a
#: GPU, common/fit.cpp "will leave >= margin MiB of system memory").
FIT_MARGIN_BYTES = 1024 * MIB
#: Ollama keeps this much free per GPU besides its estimate (discover/gpu.go
#: cudaMinimumMemory = rocmMinimumMemory = 457 MiB; gpu_darwin.go metalMinimumMemory 512 MiB).
OLLAMA_MINIMUM = {"cuda": 457 * MIB, "rocm": 457 * MIB, "metal": 512 * MIB}
#: llama.cpp rounds a reduced context down to a multiple of this (common/fit.cpp).
CONTEXT_ALIGN = 256


@dataclass(frozen=True)
class DevicePlacement:
    """What one device (or the CPU side) holds."""

    name: str
    key: str
    memory_bytes: int  # what it offers: usable GPU memory, or system RAM
    weights_bytes: int
    kv_bytes: int
    buffers_bytes: int  # compute buffers, CUDA context / Ollama's reserve
    layers: int  # repeating layers held whole (the output layer is counted in `output`)
    output: bool = False
    expert_layers: int = 0  # layers whose routed experts sit here while the rest is elsewhere
    margin_bytes: int = 0  # kept free by the engine's rule

    @property
    def used_bytes(self) -> int:
        return self.weights_bytes + self.kv_bytes + self.buffers_bytes

    @property
    def fits(self) -> bool:
        return self.used_bytes + self.margin_bytes <= self.memory_bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "key": self.key,
            "memory_bytes": self.memory_bytes,
            "weights_bytes": self.weights_bytes,
            "kv_bytes": self.kv_bytes,
            "buffers_bytes": self.buffers_bytes,
            "used_bytes": self.used_bytes,
            "margin_bytes": self.margin_bytes,
            "layers": self.layers,
            "output_layer": self.output,
            "expert_layers": self.expert_layers,
            "fits": self.fits,
        }


@dataclass(frozen=True)
class Placement:
    """The placement of one model on one set of hardware, with the flags that produce it."""

    engine: str
    strategy: str  # default-split | fit | tensor-split | ollama | equal-shards | cpu-only
    devices: tuple[DevicePlacement, ...]
    cpu: DevicePlacement | None
    flags: tuple[str, ...]
    fits: bool | None  # None: part goes to system RAM and --ram was not given
    on_gpus: bool  # everything on the GPUs
    verdict: str
    context: int
    gpu_layers: int  # layers on GPUs, the output layer counted as one (llama.cpp -ngl)
    total_layers: int  # repeating layers + 1
    cpu_moe_layers: int = 0  # layers whose routed experts run from system RAM
    max_context: int | None = None  # the longest context that fits when this one does not
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "strategy": self.strategy,
            "devices": [d.to_dict() for d in self.devices],
            "cpu": None if self.cpu is None else self.cpu.to_dict(),
            "flags": list(self.flags),
            "command": " ".join(self.flags),
            "fits": self.fits,
            "on_gpus": self.on_gpus,
            "verdict": self.verdict,
            "context": self.context,
            "gpu_layers": self.gpu_layers,
            "total_layers": self.total_layers,
            "cpu_moe_layers": self.cpu_moe_layers,
            "max_context": self.max_context,
            "notes": list(self.notes),
        }


def _gib(n: float) -> str:
    return f"{n / GIB:.2f} GiB"


# -- llama.cpp ----------------------------------------------------------------------------


@dataclass
class _Slot:
    """A GPU while layers are being assigned."""

    device: Device
    context_bytes: int
    layers: list[int] = field(default_factory=list)  # repeating layer indices held whole
    dense_only: list[int] = field(default_factory=list)  # layers whose experts are on the CPU
    output: bool = False

    @property
    def holds_layers(self) -> bool:
        return bool(self.layers or self.dense_only or self.output)


def _buffers(layout: ModelLayout, slot: _Slot, partial: bool, extra: int) -> int:
    if not slot.holds_layers:
        return slot.context_bytes + extra
    compute = layout.compute if slot.output else layout.compute_block
    if partial:
        # With layers in system RAM a prompt's matmuls still run on the GPU (ggml-backend
        # offloads batches of >= 32 tokens, PR #6083), copying one CPU-resident weight at a
        # time into the compute buffer (Ollama sizes this as one extra matrix in
        # fs/ggml/ggml.go GraphSize partialOffload).
        compute += layout.largest_matrix
    return slot.context_bytes + compute + extra


def _slot_bytes(layout: ModelLayout, slot: _Slot, partial: bool, extra: int) -> int:
    weights = sum(layout.dense[i] + layout.experts[i] for i in slot.layers)
    weights += sum(layout.dense[i] for i in slot.dense_only)
    kv = sum(layout.kv[i] for i in slot.layers) + sum(layout.kv[i] for i in slot.dense_only)
    if slot.output:
        weights += layout.output
    return weights + kv + _buffers(layout, slot, partial, extra)


def _device_placement(
    layout: ModelLayout, slot: _Slot, partial: bool, extra: int, margin: int
) -> DevicePlacement:
    weights = sum(layout.dense[i] + layout.experts[i] for i in slot.layers)
    weights += sum(layout.dense[i] for i in slot.dense_only) + extra
    if slot.output:
        weights += layout.output
    kv = sum(layout.kv[i] for i in slot.layers + slot.dense_only)
    return DevicePlacement(
        name=slot.device.name,
        key=slot.device.key,
        memory_bytes=slot.device.usable_bytes,
        weights_bytes=weights,
        kv_bytes=kv,
        buffers_bytes=_buffers(layout, slot, partial, 0),
        layers=len(slot.layers) + len(slot.dense_only),
        output=slot.output,
        expert_layers=len(slot.layers),
        margin_bytes=margin,
    )


def _default_split(
    layout: ModelLayout,
    slots: list[_Slot],
    proportions: tuple[float, ...],
    n_gpu_layers: int | None = None,
    output_first: bool = True,
) -> list[int]:
    """llama.cpp's layer split for ``-ngl`` layers (all by default): the first
    ``n_layer + 1 - ngl`` layers stay on the CPU, and GPU layer ``il`` (the output layer is
    ``n_layer``) goes to the first device whose cumulative share exceeds
    ``(il - i_gpu_start) / ngl`` (src/llama-model.cpp load_tensors, get_layer_buft_list).
    ``output_first=False`` is the rule of builds before llama.cpp PR #18148 ("offload output
    layer to GPU first", merged 2025-12-17): ``i_gpu_start = max(n_layer - ngl, 0)``, so
    ``-ngl N <= n_layer`` puts N repeating blocks on the GPUs and the output layer on the
    CPU (the published logs of those builds print "offloading N repeating layers to GPU"
    and no output line). Returns the layers left on the CPU."""
    total = sum(proportions)
    cumulative = []
    running = 0.0
    for p in proportions:
        running += p
        cumulative.append(running / total)
    n = layout.layers + 1
    ngl = n if n_gpu_layers is None else min(n_gpu_layers, n)
    start = n - ngl if output_first else max(layout.layers - ngl, 0)
    cpu: list[int] = []
    for il in range(n):
        if il < start or il - start >= ngl:
            if il < layout.layers:
                cpu.append(il)
            continue
        frac = (il - start) / ngl
        index = next((i for i, c in enumerate(cumulative) if c > frac), len(slots) - 1)
        if il == layout.layers:
            slots[index].output = True
        else:
            slots[index].layers.append(il)
    return cpu


def _fill_back_to_front(
    layout: ModelLayout, slots: list[_Slot], margin: int, extra0: int, moe: bool, partial: bool
) -> list[int]:
    """common_params_fit_impl step 3: the last device takes the output layer and as many of
    the last layers as fit, then the one before it, and so on; MoE layers go as dense-only
    (experts in system RAM). Returns the layer indices left for the CPU (front layers)."""
    remaining = list(range(layout.layers))
    output_left = True
    for index in range(len(slots) - 1, -1, -1):
        slot = slots[index]
        extra = extra0 if index == 0 else 0
        target = slot.device.usable_bytes - margin
        if output_left:
            slot.output = True
            if _slot_bytes(layout, slot, partial, extra) > target:
                slot.output = False
                continue  # the output layer is never split; try the next device
            output_left = False
        while remaining:
            layer = remaining[-1]
            (slot.dense_only if moe else slot.layers).insert(0, layer)
            if _slot_bytes(layout, slot, partial, extra) > target:
                (slot.dense_only if moe else slot.layers).pop(0)
                break
            remaining.pop()
    return remaining


def _convert_front_to_back(
    layout: ModelLayout, slots: list[_Slot], margin: int, extra0: int, partial: bool
) -> None:
    """common_params_fit_impl step 4 (MoE, every dense part on a GPU): turn dense-only
    layers into full layers, front to back, as long as each device stays within target."""
    pending = [i for s in slots for i in s.dense_only]
    pending.sort()
    for index, slot in enumerate(slots):
        extra = extra0 if index == 0 else 0
        target = slot.device.usable_bytes - margin
        for layer in list(pending):
            owner = next(s for s in slots if layer in s.dense_only)
            if owner is not slot and slots.index(owner) < index:
                continue
            # Move the layer (whole) onto this device, taking it from its owner.
            owner.dense_only.remove(layer)
            slot.layers.append(layer)
            if _slot_bytes(layout, slot, partial, extra) > target:
                slot.layers.remove(layer)
                owner.dense_only.append(layer)
                owner.dense_only.sort()
                break
            pending.remove(layer)
        slot.layers.sort()


def _cpu_side(
    layout: ModelLayout,
    cpu_layers: list[int],
    dense_only: list[int],
    output_on_cpu: bool,
    ram: int | None,
) -> DevicePlacement:
    weights = layout.input_cpu + sum(layout.dense[i] + layout.experts[i] for i in cpu_layers)
    weights += sum(layout.experts[i] for i in dense_only)
    kv = sum(layout.kv[i] for i in cpu_layers)
    buffers = layout.host_compute
    if output_on_cpu:
        weights += layout.output
        buffers += layout.ubatch * layout.vocab * 4
    return DevicePlacement(
        name="CPU (system RAM)",
        key="cpu",
        memory_bytes=ram or 0,
        weights_bytes=weights,
        kv_bytes=kv,
        buffers_bytes=buffers,
        layers=len(cpu_layers),
        output=output_on_cpu,
        expert_layers=len(dense_only),
        margin_bytes=FIT_MARGIN_BYTES,
    )


def _llama_flags(
    slots: list[_Slot],
    cpu_layers: list[int],
    layout: ModelLayout,
    context: int,
    strategy: str,
    user_split: str | None = None,
) -> tuple[tuple[str, ...], int, int]:
    gpu_layers = sum(len(s.layers) + len(s.dense_only) + (1 if s.output else 0) for s in slots)
    dense_only = sorted(i for s in slots for i in s.dense_only)
    flags = [f"-c {context}", f"-ngl {gpu_layers}"]
    if len(slots) > 1 and strategy == "tensor-split" and user_split:
        flags.append(f"-ts {user_split}")
    elif len(slots) > 1 and strategy == "fit":
        split = [len(s.layers) + len(s.dense_only) + (1 if s.output else 0) for s in slots]
        flags.append("-ts " + ",".join(str(n) for n in split))
    if dense_only:
        if dense_only == list(range(len(dense_only))):
            flags.append(f"--n-cpu-moe {len(dense_only)}")  # the experts of layers 0..N-1
        elif (
            len(slots) == 1
            and not cpu_layers
            and dense_only == list(range(layout.layers - len(dense_only), layout.layers))
        ):
            # Same memory as fit's "-ot" for the last N layers when layers are alike.
            flags.append(f"--n-cpu-moe {len(dense_only)}")
        else:
            names = "|".join(str(i) for i in dense_only)
            flags.append(f'-ot "blk\\.({names})\\.ffn_(up|down|gate)_exps=CPU"')
    return tuple(flags), gpu_layers, len(dense_only)


def _place_llama(
    spec: ModelSpec,
    layout: ModelLayout,
    est: Estimate,
    devices: tuple[Device, ...],
    ram: int | None,
    options: EstimateOptions,
) -> Placement:
    engine = options.engine
    context_bytes = 0 if devices[0].kind == "apple" else _cuda_context(options)
    moe = any(layout.experts)
    slots = [_Slot(d, context_bytes) for d in devices]
    extra0 = layout.projector
    margin = FIT_MARGIN_BYTES
    strategy = "default-split"
    notes: list[str] = []
    if options.tensor_split:
        props = parse_tensor_split(options.tensor_split)
        if len(props) != len(devices):
            from .errors import OptionError

            raise OptionError(f"tensor_split has {len(props)} values for {len(devices)} GPUs")
        strategy = "tensor-split"
    else:
        # Default: by free memory (llama-model.cpp: splits[i] = free of device i).
        props = tuple(float(max(s.device.usable_bytes - context_bytes, 1)) for s in slots)
    cpu_layers = _default_split(layout, slots, props, options.n_gpu_layers)
    if options.n_cpu_moe and moe:
        # --n-cpu-moe N (common/arg.cpp): "blk.i.ffn_(up|down|gate)_exps" of layers 0..N-1
        # to the CPU buffer type, wherever their layer is.
        for slot in slots:
            moved = [i for i in slot.layers if i < options.n_cpu_moe and layout.experts[i]]
            slot.layers = [i for i in slot.layers if i not in moved]
            slot.dense_only = sorted(slot.dense_only + moved)
    partial = bool(cpu_layers) or any(s.dense_only for s in slots)
    fits_default = all(
        _slot_bytes(layout, s, partial, extra0 if i == 0 else 0) + margin <= s.device.usable_bytes
        for i, s in enumerate(slots)
    )
    if options.n_gpu_layers is not None or options.n_cpu_moe:
        strategy = "n-gpu-layers" if options.n_gpu_layers is not None else "n-cpu-moe"
        if not fits_default:
            notes.append(
                "llama.cpp's --fit does not change -ngl when the user set it (common/fit.cpp: "
                '"n_gpu_layers already set by user")'
            )
    elif not fits_default and strategy == "tensor-split":
        notes.append(
            "llama.cpp's --fit does not change a split the user set (common/fit.cpp: "
            '"tensor_split already set by user"); drop -ts to let it place the layers'
        )
    elif not fits_default:
        strategy = "fit"
        for attempt_partial in (False, True):
            slots = [_Slot(d, context_bytes) for d in devices]
            cpu_layers = _fill_back_to_front(layout, slots, margin, extra0, moe, attempt_partial)
            partial = bool(cpu_layers) or moe
            if moe and not cpu_layers:
                _convert_front_to_back(layout, slots, margin, extra0, attempt_partial)
                partial = any(s.dense_only for s in slots)
            if partial == attempt_partial or not partial:
                break
        if options.offload == "none" and (cpu_layers or any(s.dense_only for s in slots)):
            notes.append("--offload none: nothing may go to system RAM")
    dense_only = sorted(i for s in slots for i in s.dense_only)
    output_on_cpu = not any(s.output for s in slots)
    device_rows = tuple(
        _device_placement(layout, s, partial, extra0 if i == 0 else 0, margin)
        for i, s in enumerate(slots)
    )
    cpu = _cpu_side(layout, cpu_layers, dense_only, output_on_cpu, ram)
    flags, gpu_layers, cpu_moe = _llama_flags(
        slots, cpu_layers, layout, est.context, strategy, options.tensor_split
    )
    on_gpus = not cpu_layers and not dense_only and not output_on_cpu
    gpu_ok = all(d.fits for d in device_rows)
    offloaded = cpu.weights_bytes - layout.input_cpu + cpu.kv_bytes
    if not gpu_ok:
        fits: bool | None = False
    elif options.offload == "none" and not on_gpus:
        fits = False
    elif ram is None:
        fits = True if on_gpus else None
    else:
        fits = cpu.fits
    verdict = _llama_verdict(
        fits, on_gpus, gpu_ok, cpu, offloaded, ram, gpu_layers, layout.layers + 1, cpu_moe, options
    )
    return Placement(
        engine=engine,
        strategy=strategy,
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
        notes=tuple(notes),
    )


def _cuda_context(options: EstimateOptions) -> int:
    return ENGINE_PROFILES[options.engine].cuda_context_bytes


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
        return f"does not fit on the GPUs (would need {where} and {_gib(offloaded)} in RAM)"
    need = cpu.used_bytes + cpu.margin_bytes
    if ram is None:
        return (
            f"fits with CPU offload if system RAM has {_gib(need)} free "
            f"({_gib(cpu.used_bytes)} + a {_gib(cpu.margin_bytes)} margin): {where} (give --ram)"
        )
    if fits:
        return f"fits with CPU offload: {where}, {_gib(cpu.used_bytes)} of {_gib(ram)} RAM"
    return (
        f"does not fit even with CPU offload: needs {_gib(need)} of system RAM "
        f"({_gib(need - ram)} more than {_gib(ram)})"
    )


# -- Ollama -------------------------------------------------------------------------------


def _ollama_kv_per_layer(spec: ModelSpec, context: int, kv_dtype: str) -> list[int]:
    """fs/ggml/ggml.go GraphSize: ``context x (head_k + head_v) x kv_heads x bytes`` per
    layer, f16 unless OLLAMA_KV_CACHE_TYPE is q8_0 (1 B) or q4_0 (0.5 B)."""
    per = {"q8_0": 1.0, "q4_0": 0.5}.get(kv_dtype, 2.0)
    a = spec.attention
    out = []
    for layer in spec.layers:
        if layer.mixer != "attention":
            out.append(0)
            continue
        out.append(int(context * (a.head_dim + a.v_head_dim) * a.num_kv_heads * per))
    return out


def _ollama_graph(spec: ModelSpec, context: int, batch: int, kv_total: int) -> tuple[int, int]:
    """(partialOffload, fullOffload) of fs/ggml/ggml.go GraphSize for the model's family;
    other families fall back to ``GQA x kv / 6`` (llm/memory.go)."""
    e = spec.hidden_size
    a = spec.attention
    heads, heads_kv = a.num_heads, a.num_kv_heads or a.num_heads
    head = a.head_dim
    vocab = spec.vocab_size
    c, b = context, batch
    family = spec.model_type
    if family in ("llama", "mistral", "llama4"):
        full = max(4 * b * (1 + 4 * e + c * (1 + heads)), 4 * b * (e + vocab))
        partial = 4 * b * e + max(
            4 * b * (1 + e + max(c, e)) + e * e * 9 // 16 + 4 * c * (b * heads + head * heads_kv),
            4 * b * (e + vocab) + e * vocab * 105 // 128,
        )
        return partial, full
    if family in ("qwen2", "qwen2_moe"):
        full = max(4 * b * (e + vocab), 4 * b * (1 + 2 * e + c + c * heads))
        partial = max(
            4 * b * (e + vocab) + e * vocab * 105 // 128,
            4 * (b * (1 + 2 * e + c * (1 + heads)) + e * (1 + c)),
        )
        return partial, full
    if family in ("gemma", "gemma2", "gemma3", "gemma3_text"):
        full = max(4 * b * (e + vocab), 4 * b * (2 + c + c * heads + 2 * e + 2 * head * heads))
        partial = max(
            4 * e * b + e * vocab * 105 // 128 + 4 * vocab * b,
            4 * b * (2 * e + 1 + 2 * head * heads + c + c * heads)
            + 4 * head * c * 8
            + e * head * heads * 9 // 16,
        )
        return partial, full
    gqa = heads // heads_kv if heads_kv else 1
    partial = gqa * kv_total // 6
    return partial, partial


def _place_ollama(
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
    library = (
        "metal"
        if devices[0].kind == "apple"
        else ("rocm" if devices[0].vendor == "amd" else "cuda")
    )
    minimum = OLLAMA_MINIMUM[library]
    context = est.context
    kv_layers = _ollama_kv_per_layer(spec, context, est.kv_dtype)
    kv_total = sum(kv_layers)
    batch = min(context, 512)  # num_batch default 512
    partial, full = _ollama_graph(spec, context, batch, kv_total)
    if library == "metal":
        partial = full  # "on metal there's no partial offload overhead"
    elif len(devices) > 1:
        full = partial  # "multigpu should always use the partial graph size"
    graph = max(partial, full)
    weights_of = [layout.dense[i] + layout.experts[i] for i in range(layout.layers)]
    layer_sizes = [weights_of[i] + kv_layers[i] for i in range(layout.layers)]
    spare = layer_sizes[0] if layer_sizes else 0  # "add one layer worth of memory as a buffer"
    free = [d.usable_bytes for d in devices]
    alloc = [0] * len(devices)
    held: list[list[int]] = [[] for _ in devices]
    with_space: list[int] = []
    for i in range(len(devices)):
        gzo = layout.projector if not with_space else 0
        if free[i] < gzo + graph + minimum + 2 * spare:
            continue  # "gpu has too little memory to allocate any layers"
        with_space.append(i)
        alloc[i] += minimum + spare
    first = with_space[0] if with_space else None
    if first is not None:
        alloc[first] += layout.projector
    placed = 0
    for i, size in enumerate(layer_sizes):
        for j in range(len(with_space), 0, -1):
            g = with_space[i % j]
            if free[g] > alloc[g] + graph + size:
                alloc[g] += size
                held[g].append(i)
                placed += 1
                break
            with_space.pop(i % j)
    fully = placed >= layout.layers
    overflow = sum(layer_sizes[i] for i in range(layout.layers) if not any(i in h for h in held))
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
    graph_used = full if fully else partial
    rows = []
    for i, device in enumerate(devices):
        on = bool(held[i]) or output_on == i
        kv = sum(kv_layers[k] for k in held[i])
        weights = sum(weights_of[k] for k in held[i]) + (layout.output if output_on == i else 0)
        if i == first:
            weights += layout.projector
        rows.append(
            DevicePlacement(
                name=device.name,
                key=device.key,
                memory_bytes=device.usable_bytes,
                weights_bytes=weights,
                kv_bytes=kv,
                # the minimum reserve, the spare layer and the graph (Ollama's allocation)
                buffers_bytes=(minimum + spare + graph_used) if on else 0,
                layers=len(held[i]),
                output=output_on == i,
                expert_layers=len(held[i]),
            )
        )
    vram = sum(r.used_bytes for r in rows)
    cpu_layers = layout.layers - sum(len(h) for h in held)
    cpu = DevicePlacement(
        name="CPU (system RAM)",
        key="cpu",
        memory_bytes=ram or 0,
        weights_bytes=overflow + layout.input_cpu,
        kv_bytes=0,
        buffers_bytes=0,
        layers=cpu_layers,
        output=output_on is None,
    )
    counts = [len(h) + (1 if output_on == i else 0) for i, h in enumerate(held)]
    notes = [
        f"Ollama's own estimate: {_gib(vram + overflow)} in all, {_gib(vram)} on the GPUs"
        + (f", layers split {','.join(map(str, counts))}" if len(devices) > 1 else "")
        + "; it reserves a spare layer and a graph per GPU, so it moves layers to RAM "
        "earlier than llama.cpp's --fit"
    ]
    if ram is None:
        fits: bool | None = True if fully else None
    else:
        # llm/server.go: "model requires more system memory (X) than is available (Y)".
        fits = overflow + layout.input_cpu <= ram
    if options.offload == "none" and not fully:
        fits = False
    total = layout.layers + 1
    if fully:
        verdict = (
            f"fits on the GPU{'s' if len(devices) > 1 else ''}: Ollama offloads all {total} layers"
        )
    elif placed == 0:
        verdict = "Ollama would run it all on the CPU: not one layer fits its GPU estimate"
    else:
        verdict = f"Ollama offloads {placed}/{total} layers; the rest runs from system RAM"
    if fits is False and not fully and ram is not None and options.offload != "none":
        verdict = (
            f"does not fit: Ollama needs {_gib(overflow + layout.input_cpu)} of system RAM, "
            f"more than {_gib(ram)}"
        )
    return Placement(
        engine="ollama",
        strategy="ollama",
        devices=tuple(rows),
        cpu=cpu,
        flags=(f"num_ctx {context}", f"num_gpu {placed}"),
        fits=fits,
        on_gpus=fully,
        verdict=verdict,
        context=context,
        gpu_layers=placed,
        total_layers=total,
        notes=tuple(notes),
    )


# -- engines with tensor parallelism ------------------------------------------------------


def _place_shards(
    est: Estimate, devices: tuple[Device, ...], options: EstimateOptions
) -> Placement:
    """Equal shards: every rank holds the same bytes, so the smallest GPU bounds them all."""
    par = est.parallel
    smallest = min(devices, key=lambda d: d.usable_bytes)
    reserve = options.gpu_memory_utilization if est.engine_reserved_bytes is not None else 1.0
    rows = tuple(
        DevicePlacement(
            name=d.name,
            key=d.key,
            memory_bytes=d.usable_bytes,
            weights_bytes=par.weights_per_gpu_bytes,
            kv_bytes=par.kv_per_gpu_bytes,
            buffers_bytes=par.per_gpu_bytes - par.weights_per_gpu_bytes - par.kv_per_gpu_bytes,
            layers=est.model.layers // max(par.pipeline_parallel, 1),
            output=True,
            margin_bytes=int(d.usable_bytes * (1 - reserve)),
        )
        for d in devices
    )
    need = par.per_gpu_bytes
    bound = int(smallest.usable_bytes * reserve)
    fits = need <= bound
    mixed = len({d.key for d in devices}) > 1
    notes = []
    if mixed:
        notes.append(
            f"{est.options.engine} splits every matrix into equal tensor-parallel shards, so "
            f"the smallest GPU ({smallest.name}, {_gib(smallest.usable_bytes)}) bounds each "
            "rank; the memory the larger GPUs have beyond it stays unused"
        )
    verdict = (
        f"fits: {_gib(need)} per GPU of {_gib(bound)} usable on the smallest"
        if fits
        else f"does not fit: {_gib(need)} per GPU, the smallest offers {_gib(bound)}"
    )
    flags = [f"--tensor-parallel-size {par.tensor_parallel}"]
    if par.pipeline_parallel > 1:
        flags.append(f"--pipeline-parallel-size {par.pipeline_parallel}")
    if est.engine_reserved_bytes is not None:
        flags.append(f"--gpu-memory-utilization {options.gpu_memory_utilization:g}")
    flags.append(f"--max-model-len {est.context}")
    return Placement(
        engine=est.options.engine,
        strategy="equal-shards",
        devices=rows,
        cpu=None,
        flags=tuple(flags),
        fits=fits,
        on_gpus=True,
        verdict=verdict,
        context=est.context,
        gpu_layers=est.model.layers + 1,
        total_layers=est.model.layers + 1,
        notes=tuple(notes),
    )


# -- entry point --------------------------------------------------------------------------


#: Engines that place whole layers (and offload the rest to system RAM).
LAYER_ENGINES = tuple(k for k, p in ENGINE_PROFILES.items() if p.layer_placement != "shards")


def place(
    spec: ModelSpec,
    layout: ModelLayout | None,
    est: Estimate,
    devices: tuple[Device, ...],
    options: EstimateOptions,
) -> Placement:
    """Place ``est`` on ``devices`` (and system RAM) the way ``options.engine`` does."""
    ram = options.ram_bytes
    apple = [d for d in devices if d.unified]
    if apple:
        ram = apple[0].memory_bytes  # the Mac's RAM is the system RAM
    rule = ENGINE_PROFILES[options.engine].layer_placement
    if rule != "shards" and layout is not None:
        if rule == "ollama-estimate":
            return _place_ollama(spec, layout, est, devices, ram, options)
        return _place_llama(spec, layout, est, devices, ram, options)
    return _place_shards(est, devices, options)


def round_context(context: int) -> int:
    """A reduced context as llama.cpp's fit writes it: a multiple of 256, at least 256."""
    return (
        max(CONTEXT_ALIGN, context - context % CONTEXT_ALIGN)
        if context >= CONTEXT_ALIGN
        else context
    )

"""llama.cpp's layer split: which GPU holds which layers, and what each side then holds.

A :class:`Slot` is a GPU while layers are being assigned; :func:`default_split` is
llama.cpp's split without ``--fit`` (src/llama-model.cpp); :func:`slot_bytes`,
:func:`device_placement` and :func:`cpu_side` turn an assignment into bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..devices import Device
from ..layout import ModelLayout
from .records import FIT_MARGIN_BYTES, DevicePlacement

__all__ = ["Slot", "cpu_side", "default_split", "device_placement", "slot_bytes"]


@dataclass
class Slot:
    """A GPU while layers are being assigned."""

    device: Device
    context_bytes: int
    layers: list[int] = field(default_factory=list)  # repeating layer indices held whole
    dense_only: list[int] = field(default_factory=list)  # layers whose experts are on the CPU
    output: bool = False

    @property
    def holds_layers(self) -> bool:
        return bool(self.layers or self.dense_only or self.output)


def _buffers(layout: ModelLayout, slot: Slot, partial: bool, extra: int) -> int:
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


def slot_bytes(layout: ModelLayout, slot: Slot, partial: bool, extra: int) -> int:
    """Everything ``slot`` holds: weights, KV and buffers (``extra``: the projector)."""
    weights = sum(layout.dense[i] + layout.experts[i] for i in slot.layers)
    weights += sum(layout.dense[i] for i in slot.dense_only)
    kv = sum(layout.kv[i] for i in slot.layers) + sum(layout.kv[i] for i in slot.dense_only)
    if slot.output:
        weights += layout.output
    return weights + kv + _buffers(layout, slot, partial, extra)


def device_placement(
    layout: ModelLayout, slot: Slot, partial: bool, extra: int, margin: int
) -> DevicePlacement:
    """The row of one GPU once its layers are settled."""
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


def default_split(
    layout: ModelLayout,
    slots: list[Slot],
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


def cpu_side(
    layout: ModelLayout,
    cpu_layers: list[int],
    dense_only: list[int],
    output_on_cpu: bool,
    ram: int | None,
) -> DevicePlacement:
    """What system RAM holds: the input embedding, the CPU layers, the experts of
    ``dense_only`` layers and, when no GPU has it, the output layer and its logits."""
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

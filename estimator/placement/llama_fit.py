"""llama.cpp's ``--fit`` (``llama-fit-params``): layers placed so that every device keeps
its margin free (common/fit.cpp, ``common_params_fit_impl``): layers filled back to front
so the last GPU holds the output layer, MoE experts moved to system RAM before whole layers.
"""

from __future__ import annotations

from ..devices import Device
from ..layout import ModelLayout
from .llama_split import Slot, slot_bytes

__all__ = ["fit_layers"]


def _fill_back_to_front(
    layout: ModelLayout, slots: list[Slot], margin: int, extra0: int, moe: bool, partial: bool
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
            if slot_bytes(layout, slot, partial, extra) > target:
                slot.output = False
                continue  # the output layer is never split; try the next device
            output_left = False
        while remaining:
            layer = remaining[-1]
            (slot.dense_only if moe else slot.layers).insert(0, layer)
            if slot_bytes(layout, slot, partial, extra) > target:
                (slot.dense_only if moe else slot.layers).pop(0)
                break
            remaining.pop()
    return remaining


def _convert_front_to_back(
    layout: ModelLayout, slots: list[Slot], margin: int, extra0: int, partial: bool
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
            if slot_bytes(layout, slot, partial, extra) > target:
                slot.layers.remove(layer)
                owner.dense_only.append(layer)
                owner.dense_only.sort()
                break
            pending.remove(layer)
        slot.layers.sort()


def fit_layers(
    layout: ModelLayout,
    devices: tuple[Device, ...],
    context_bytes: int,
    margin: int,
    extra0: int,
) -> tuple[list[Slot], list[int], bool]:
    """Place the layers afresh as ``--fit`` does: (slots, CPU layers, partial offload).
    The compute buffers depend on whether anything is offloaded, so a fill that offloads
    is tried again with the partial-offload buffers."""
    moe = any(layout.experts)
    slots: list[Slot] = []
    cpu_layers: list[int] = []
    partial = False
    for attempt_partial in (False, True):
        slots = [Slot(d, context_bytes) for d in devices]
        cpu_layers = _fill_back_to_front(layout, slots, margin, extra0, moe, attempt_partial)
        partial = bool(cpu_layers) or moe
        if moe and not cpu_layers:
            _convert_front_to_back(layout, slots, margin, extra0, attempt_partial)
            partial = any(s.dense_only for s in slots)
        if partial == attempt_partial or not partial:
            break
    return slots, cpu_layers, partial

"""The llama.cpp flags that reproduce a placement: ``-c``, ``-ngl``, ``-ts`` and the
experts kept in system RAM (``--n-cpu-moe`` or ``-ot``, common/arg.cpp)."""

from __future__ import annotations

from ..layout import ModelLayout
from .llama_split import Slot

__all__ = ["llama_flags"]


def _experts_flag(slots: list[Slot], cpu_layers: list[int], layout: ModelLayout,
                  dense_only: list[int]) -> str:
    if dense_only == list(range(len(dense_only))):
        return f"--n-cpu-moe {len(dense_only)}"  # the experts of layers 0..N-1
    if (
        len(slots) == 1
        and not cpu_layers
        and dense_only == list(range(layout.layers - len(dense_only), layout.layers))
    ):
        # Same memory as fit's "-ot" for the last N layers when layers are alike.
        return f"--n-cpu-moe {len(dense_only)}"
    names = "|".join(str(i) for i in dense_only)
    return f'-ot "blk\\.({names})\\.ffn_(up|down|gate)_exps=CPU"'


def llama_flags(
    slots: list[Slot],
    cpu_layers: list[int],
    layout: ModelLayout,
    context: int,
    strategy: str,
    user_split: str | None = None,
) -> tuple[tuple[str, ...], int, int]:
    """(flags, layers on GPUs, layers whose experts are in system RAM)."""
    gpu_layers = sum(len(s.layers) + len(s.dense_only) + (1 if s.output else 0) for s in slots)
    dense_only = sorted(i for s in slots for i in s.dense_only)
    flags = [f"-c {context}", f"-ngl {gpu_layers}"]
    if len(slots) > 1 and strategy == "tensor-split" and user_split:
        flags.append(f"-ts {user_split}")
    elif len(slots) > 1 and strategy == "fit":
        split = [len(s.layers) + len(s.dense_only) + (1 if s.output else 0) for s in slots]
        flags.append("-ts " + ",".join(str(n) for n in split))
    if dense_only:
        flags.append(_experts_flag(slots, cpu_layers, layout, dense_only))
    return tuple(flags), gpu_layers, len(dense_only)

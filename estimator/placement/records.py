"""The placement records: what each device holds, and the placement with its flags.

Plain data: :meth:`Placement.to_dict` is the ``placement`` JSON object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["CONTEXT_ALIGN", "FIT_MARGIN_BYTES", "GIB", "MIB", "DevicePlacement", "Placement", "gib"]

MIB = 1024**2
GIB = 1024**3
#: llama.cpp --fit-target: memory left free on every device (common/common.h
#: fit_params_target = 1024 MiB; the same margin guards system memory when nothing is on a
#: GPU, common/fit.cpp "will leave >= margin MiB of system memory").
FIT_MARGIN_BYTES = 1024 * MIB
#: llama.cpp rounds a reduced context down to a multiple of this (common/fit.cpp).
CONTEXT_ALIGN = 256


def gib(n: float) -> str:
    """Bytes as the verdicts and notes write them: ``12.34 GiB``."""
    return f"{n / GIB:.2f} GiB"


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

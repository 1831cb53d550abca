"""GPU catalog: the memory each device really offers.

NVIDIA figures are the totals ``nvidia-smi`` reports (what a process can see),
not the marketing GB; AMD ones are the HBM capacity; Apple machines share unified
memory with the OS, and Metal caps what one process may wire
(``recommendedMaxWorkingSetSize``, about 75% of RAM on large machines, as
llama.cpp's Metal backend logs it).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GPUS", "Gpu", "get_gpu"]

_MIB = 1024**2
_GIB = 1024**3


@dataclass(frozen=True)
class Gpu:
    key: str
    name: str
    memory_bytes: int
    vendor: str
    usable_fraction: float = 1.0  # share a single process may allocate
    # Compute architecture (NVIDIA/AMD): engines pick kernels, and weight layouts, by it.
    arch: str = ""

    @property
    def usable_bytes(self) -> int:
        return int(self.memory_bytes * self.usable_fraction)


_APPLE = 0.75  # Metal recommendedMaxWorkingSetSize on >= 64 GB Macs (llama.cpp ggml-metal log)

GPUS: dict[str, Gpu] = {
    g.key: g
    for g in (
        Gpu("t4", "NVIDIA T4 16GB", 15360 * _MIB, "nvidia", arch="turing"),
        Gpu("l4", "NVIDIA L4 24GB", 23034 * _MIB, "nvidia", arch="ada"),
        Gpu("a10", "NVIDIA A10 24GB", 23028 * _MIB, "nvidia", arch="ampere"),
        Gpu("rtx3090", "NVIDIA RTX 3090 24GB", 24576 * _MIB, "nvidia", arch="ampere"),
        Gpu("rtx4090", "NVIDIA RTX 4090 24GB", 24564 * _MIB, "nvidia", arch="ada"),
        Gpu("rtx5090", "NVIDIA RTX 5090 32GB", 32607 * _MIB, "nvidia", arch="blackwell-consumer"),
        Gpu("a100-40gb", "NVIDIA A100 40GB", 40960 * _MIB, "nvidia", arch="ampere"),
        Gpu("a100-80gb", "NVIDIA A100 80GB", 81920 * _MIB, "nvidia", arch="ampere"),
        Gpu("h100-80gb", "NVIDIA H100 80GB", 81559 * _MIB, "nvidia", arch="hopper"),
        Gpu("h200", "NVIDIA H200 141GB", 143771 * _MIB, "nvidia", arch="hopper"),
        # DGX/HGX B200 datasheet: 1,440 GB HBM3e for 8 GPUs -> 180 GB each.
        Gpu("b200", "NVIDIA B200 180GB", 180 * 1000**3, "nvidia", arch="blackwell"),
        Gpu("mi300x", "AMD Instinct MI300X 192GB", 192 * _GIB, "amd", arch="cdna3"),
        Gpu("mi325x", "AMD Instinct MI325X 256GB", 256 * _GIB, "amd", arch="cdna3"),
        Gpu("m4-max-128gb", "Apple M4 Max 128GB (unified)", 128 * _GIB, "apple", _APPLE),
        Gpu("m2-ultra-192gb", "Apple M2 Ultra 192GB (unified)", 192 * _GIB, "apple", _APPLE),
        Gpu("m3-ultra-512gb", "Apple M3 Ultra 512GB (unified)", 512 * _GIB, "apple", _APPLE),
    )
}


def get_gpu(key: str) -> Gpu:
    """The catalog entry for ``key`` (case- and punctuation-insensitive)."""
    from .errors import OptionError

    if key in GPUS:
        return GPUS[key]
    wanted = "".join(ch for ch in key.lower() if ch.isalnum())
    for gpu in GPUS.values():
        if "".join(ch for ch in gpu.key if ch.isalnum()) == wanted:
            return gpu
    raise OptionError(f"unknown GPU {key!r}; choose one of {', '.join(GPUS)}")

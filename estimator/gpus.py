"""GPU catalog: the memory each device really offers.

NVIDIA and AMD figures are the totals a CUDA/HIP process sees
(``torch.cuda.mem_get_info()[1]``, which vLLM multiplies by gpu_memory_utilization),
as PyTorch's out-of-memory messages and vLLM's logs print them: about 0.5 GiB below
``nvidia-smi``'s total (H100: 79.11 GiB vs 81559 MiB), the rest held by the driver.
Where sources differ by driver or host, the smallest Linux figure is used; every
figure and its source is in tests/validation/gpu_totals.json. Apple machines share
unified memory with the OS, and Metal caps what one process may wire
(``recommendedMaxWorkingSetSize``, about 75% of RAM on large machines, as llama.cpp's
Metal backend logs it).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GPUS", "Gpu", "get_gpu"]

_GIB = 1024**3


def _gib(printed: float) -> int:
    """Bytes of a total printed in GiB with two decimals."""
    return round(printed * _GIB)


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
        Gpu("t4", "NVIDIA T4 16GB", _gib(14.56), "nvidia", arch="turing"),
        Gpu("l4", "NVIDIA L4 24GB", _gib(22.05), "nvidia", arch="ada"),
        Gpu("a10", "NVIDIA A10 24GB", _gib(21.99), "nvidia", arch="ampere"),
        Gpu("rtx3090", "NVIDIA RTX 3090 24GB", _gib(23.58), "nvidia", arch="ampere"),
        Gpu("rtx4090", "NVIDIA RTX 4090 24GB", _gib(23.61), "nvidia", arch="ada"),
        Gpu("rtx5090", "NVIDIA RTX 5090 32GB", _gib(31.37), "nvidia", arch="blackwell-consumer"),
        Gpu("a100-40gb", "NVIDIA A100 40GB", _gib(39.50), "nvidia", arch="ampere"),
        Gpu("a100-80gb", "NVIDIA A100 80GB", _gib(79.14), "nvidia", arch="ampere"),
        Gpu("l40s", "NVIDIA L40S 48GB", _gib(44.42), "nvidia", arch="ada"),
        Gpu("h100-80gb", "NVIDIA H100 80GB", _gib(79.11), "nvidia", arch="hopper"),
        Gpu("h200", "NVIDIA H200 141GB", _gib(139.80), "nvidia", arch="hopper"),
        Gpu("b200", "NVIDIA B200 180GB", _gib(178.36), "nvidia", arch="blackwell"),
        Gpu("mi300x", "AMD Instinct MI300X 192GB", _gib(191.98), "amd", arch="cdna3"),
        # No published HIP total found: the HBM capacity.
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

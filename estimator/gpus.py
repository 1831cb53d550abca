"""GPU catalog (compatibility view of :mod:`estimator.devices`).

NVIDIA and AMD figures are the totals a CUDA/HIP process sees
(``torch.cuda.mem_get_info()[1]``, which vLLM multiplies by gpu_memory_utilization),
as PyTorch's out-of-memory messages and vLLM's logs print them: about 0.5 GiB below
``nvidia-smi``'s total (H100: 79.11 GiB vs 81559 MiB), the rest held by the driver.
Where sources differ by driver or host, the smallest Linux figure is used; every
figure and its source is in tests/validation/gpu_totals.json. Cards without a published
total follow the catalog's derivation rule (``data/devices.json``, ``memory_rules``).
Apple machines share unified memory with the OS, and Metal caps what one process may
wire (``recommendedMaxWorkingSetSize``: 2/3 of RAM up to 32 GB, 3/4 above, as
llama.cpp's Metal backend logs it).
"""

from __future__ import annotations

from .devices import DEVICES, Device, resolve_device

__all__ = ["GPUS", "Gpu", "get_gpu"]

Gpu = Device

#: Every catalog device by key (NVIDIA, AMD, Intel, Apple, CPU-only), the original keys first.
GPUS: dict[str, Gpu] = DEVICES


def get_gpu(key: str) -> Gpu:
    """The catalog entry for ``key``: a key, or a name as people write it ("RTX 4090")."""
    return resolve_device(key)

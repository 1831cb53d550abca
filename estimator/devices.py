"""Device catalog: memory a process can use, memory bandwidth and peak compute, per device.

The figures live in ``data/devices.json`` with a source per figure; this module loads them,
resolves names as people write them ("RTX 4090", "rtx4090", "A100 80GB PCIe",
"M2 Ultra 192GB"), builds custom devices ("my GPU has 12 GiB") and applies Apple's Metal
working-set cap. Everything here is plain data in, plain data out, so the page can call it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import OptionError

__all__ = [
    "CUSTOM_KEY",
    "DEVICES",
    "Device",
    "custom_device",
    "device_list",
    "metal_working_set_bytes",
    "resolve_device",
    "resolve_devices",
]

_GIB = 1024**3
#: The key that stands for the custom device of ``--gpu-memory`` in a ``--gpu`` list.
CUSTOM_KEY = "custom"
# Host link bandwidth per PCIe lane and direction in GB/s (128b/130b coding for gen 3+).
_PCIE_LANE_GBS = {3: 0.985, 4: 1.969, 5: 3.938}


@dataclass(frozen=True)
class Device:
    """One accelerator (or a CPU with its RAM), as the estimator sees it.

    ``memory_bytes`` is the memory the device reports (the CUDA/HIP total for GPUs, the RAM
    of a Mac); ``usable_bytes`` what one process may allocate on it (on a Mac the Metal
    working-set cap). Compute figures are dense peaks in TFLOPS/TOPS; None where the
    hardware has no such unit or no source gives it.
    """

    key: str
    name: str
    memory_bytes: int
    vendor: str
    usable_fraction: float = 1.0
    arch: str = ""
    kind: str = "gpu"  # gpu | apple | soc | cpu | custom
    form: str = ""
    bandwidth_gbs: float | None = None
    fp16_tflops: float | None = None  # dense, FP32 accumulate
    fp16_acc16_tflops: float | None = None  # dense, FP16 accumulate
    int8_tops: float | None = None
    fp8_tflops: float | None = None
    fp32_tflops: float | None = None  # non-tensor FP32
    compute_units: int | None = None  # SMs / CUs / Xe-cores / Apple GPU cores
    pcie_gbs: float | None = None  # host link, one direction
    memory_rule: str = ""
    nominal_gb: float | None = None
    gpu_cores: int | None = None
    sources: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    note: str = ""
    # NVLink between GPUs of this kind: False where the GPU has none (they talk over PCIe),
    # None where it may (SXM/OAM modules, PCIe cards with a bridge connector) or is unknown.
    nvlink: bool | None = None

    @property
    def usable_bytes(self) -> int:
        return int(self.memory_bytes * self.usable_fraction)

    @property
    def unified(self) -> bool:
        """Memory shared with the CPU: offloading to "RAM" uses the same memory."""
        return self.kind in ("apple", "soc")

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "vendor": self.vendor,
            "kind": self.kind,
            "arch": self.arch,
            "memory_bytes": self.memory_bytes,
            "usable_bytes": self.usable_bytes,
            "memory_rule": self.memory_rule,
            "bandwidth_gbs": self.bandwidth_gbs,
            "fp16_tflops": self.fp16_tflops,
            "int8_tops": self.int8_tops,
            "fp8_tflops": self.fp8_tflops,
            "fp32_tflops": self.fp32_tflops,
            "compute_units": self.compute_units,
            "pcie_gbs": self.pcie_gbs,
            "gpu_cores": self.gpu_cores,
        }


def metal_working_set_bytes(ram_bytes: int, wired_limit_mb: int | None = None) -> int:
    """Metal's ``recommendedMaxWorkingSetSize`` for a Mac with ``ram_bytes`` of memory: the
    most llama.cpp's Metal backend and MLX (``max_recommended_working_set_size``; its wired
    limit may not exceed it) keep on the GPU.

    Two thirds of the RAM up to 32 GiB and three quarters above, rounded up to a 16 KiB page,
    as ``ggml_metal_init`` prints it (16 GB: 10922.67 MiB, 32 GB: 21845.34, 64 GB: 49152.00,
    96 GB: 73728,00; tests/validation/apple_caps.json, macOS 13-14). ``sudo sysctl
    iogpu.wired_limit_mb=N`` replaces it with N MiB (Metal reports it as such: 114688 ->
    112.00 GiB). macOS 26 raised the default on large Macs (128 GB: 107.52 GiB), which this
    does not model.
    """
    if wired_limit_mb:
        return wired_limit_mb * 1024 * 1024
    page = 16 * 1024
    numerator, denominator = (2, 3) if ram_bytes <= 32 * _GIB else (3, 4)
    share = -(-ram_bytes * numerator // denominator)
    return -(-share // page) * page


def _device_from(entry: dict[str, Any]) -> Device:
    kind = entry["kind"]
    nominal: float = entry.get("memory_gb") or 0.0
    usable_gib = entry.get("usable_gib")
    fraction = 1.0
    if kind == "cpu":
        memory = 0
    elif kind == "apple":
        memory = int(nominal * _GIB)
        fraction = metal_working_set_bytes(memory) / memory
    elif usable_gib is not None and kind == "soc":
        memory = int(nominal * _GIB)
        fraction = usable_gib * _GIB / memory
    elif usable_gib is not None:
        memory = round(usable_gib * _GIB)
    else:
        memory = _derived_bytes(entry)
    pcie = entry.get("pcie")
    return Device(
        key=entry["key"],
        name=entry["name"],
        memory_bytes=memory,
        vendor=entry["vendor"],
        usable_fraction=fraction,
        arch=entry.get("arch", ""),
        kind=kind,
        form=entry.get("form", ""),
        bandwidth_gbs=entry.get("bandwidth_gbs"),
        fp16_tflops=entry.get("fp16_tflops"),
        fp16_acc16_tflops=entry.get("fp16_acc16_tflops"),
        int8_tops=entry.get("int8_tops"),
        fp8_tflops=entry.get("fp8_tflops"),
        fp32_tflops=entry.get("fp32_tflops"),
        compute_units=entry.get("compute_units"),
        pcie_gbs=round(_PCIE_LANE_GBS[pcie["gen"]] * pcie["lanes"], 2) if pcie else None,
        memory_rule=entry.get("memory_rule", ""),
        nominal_gb=nominal or None,
        gpu_cores=entry.get("gpu_cores"),
        sources=dict(entry.get("sources", {})),
        note=entry.get("note", ""),
        nvlink=entry.get("nvlink", _nvlink(entry)),
    )


#: GeForce cards of Turing and Ampere with an NVLink bridge connector (NVIDIA's product pages:
#: RTX 2070 Super, 2080 / Super / Ti, TITAN RTX, RTX 3090 / 3090 Ti); the rest have none.
_NVLINK_GEFORCE = {
    "rtx2070-super", "rtx2080", "rtx2080-super", "rtx2080ti", "titan-rtx", "rtx3090", "rtx3090ti"
}


def _nvlink(entry: dict[str, Any]) -> bool | None:
    """False for GPUs without NVLink: every Ada and consumer/workstation Blackwell GPU (the
    L40S datasheet's "NVLink support: No"; NVIDIA dropped the connector with Ada), laptops,
    and desktop Turing/Ampere cards without the bridge connector; None otherwise (entries
    may say so themselves, e.g. the T4, A10 and P40 datasheets: no NVLink)."""
    if entry.get("vendor") != "nvidia" or entry.get("kind") != "gpu":
        return None
    if entry.get("arch") in ("ada", "blackwell-consumer") or entry.get("form") == "laptop":
        return False
    if entry.get("form") == "desktop" and entry["key"] not in _NVLINK_GEFORCE:
        return False
    return None


def derived_usable_gib(nominal_gb: float, vendor: str, ecc_default: bool) -> float:
    """The catalog's rule for cards without a published CUDA/HIP total (see devices.json
    ``memory_rules.derived``): nominal GiB, less 1/16 with ECC on, less the driver's share."""
    visible = nominal_gb * (15 / 16 if ecc_default else 1.0)
    reserve = 0.0 if vendor == "amd" else 0.5
    return visible - reserve


def _derived_bytes(entry: dict[str, Any]) -> int:
    gib = derived_usable_gib(entry["memory_gb"], entry["vendor"], entry.get("ecc_default", False))
    return round(gib * _GIB)


@lru_cache(maxsize=1)
def catalog_document() -> dict[str, Any]:
    """The parsed ``data/devices.json`` (sources, rules and devices)."""
    try:  # a plain file (pip install, the page's worker): importlib.resources costs more to import
        text = (Path(__file__).with_name("data") / "devices.json").read_text("utf-8")
    except OSError:  # pragma: no cover - a zipped install
        from importlib import resources

        text = resources.files("estimator").joinpath("data/devices.json").read_text("utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


def _load() -> dict[str, Device]:
    return {entry["key"]: _device_from(entry) for entry in catalog_document()["devices"]}


#: Every catalog device by key, in catalog order (the original 17 keys first).
DEVICES: dict[str, Device] = _load()

# a pattern, not a compiled one: re compiles (and caches) it at the first name looked up,
# not at import (the page's worker imports this module at start-up)
_DROP = (
    r"\b(nvidia|geforce|amd|radeon|intel|apple|tesla|instinct|generation|graphics|gpu|"
    r"unified|the|with|card)\b"
)


def _norm(text: str) -> str:
    """Lower-case alphanumerics, vendor words dropped: "NVIDIA GeForce RTX 4090" -> rtx4090."""
    lowered = re.sub(_DROP, " ", text.lower().replace("(tm)", " ").replace("(r)", " "))
    return "".join(ch for ch in lowered if ch.isalnum())


@lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    index: dict[str, str] = {}
    entries = {e["key"]: e for e in catalog_document()["devices"]}
    for key, device in DEVICES.items():
        names = [key, device.name, *entries[key].get("aliases", ())]
        for name in names:
            index.setdefault(_norm(name), key)
    return index


def _ambiguous(wanted: str) -> list[str]:
    """Catalog keys that start with ``wanted`` (e.g. "m2ultra" -> every M2 Ultra)."""
    return sorted({key for norm, key in _index().items() if norm.startswith(wanted)})


def resolve_device(name: str) -> Device:
    """The catalog device ``name`` refers to, written as people write it."""
    if name in DEVICES:
        return DEVICES[name]
    wanted = _norm(name)
    index = _index()
    for candidate in (wanted, "rtx" + wanted):
        if candidate in index:
            return DEVICES[index[candidate]]
    if not wanted:
        raise OptionError("empty GPU name")
    several = _ambiguous(wanted)
    if len(several) > 1:
        shown = ", ".join(several[:12]) + (", ..." if len(several) > 12 else "")
        raise OptionError(f"GPU {name!r} is ambiguous; say which: {shown}")
    if len(several) == 1:
        return DEVICES[several[0]]
    close = sorted(index, key=lambda c: -_similarity(wanted, c))[:3]
    close = [c for c in close if _similarity(wanted, c) >= 0.75]
    hint = ", ".join(dict.fromkeys(index[c] for c in close))
    raise OptionError(
        f"unknown GPU {name!r}"
        + (f"; did you mean {hint}?" if hint else "")
        + " (give --gpu-memory for a device the catalog lacks)"
    )


def _similarity(a: str, b: str) -> float:
    """2 x matching characters / total, over the longest common prefix and suffix (enough to
    suggest 'rtx4090' for 'rtx4900'; difflib is not shipped to the page)."""
    prefix = 0
    while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while (
        suffix < min(len(a), len(b)) - prefix
        and a[len(a) - 1 - suffix] == b[len(b) - 1 - suffix]
    ):
        suffix += 1
    return 2 * (prefix + suffix) / max(len(a) + len(b), 1)


def custom_device(
    memory_bytes: int, bandwidth_gbs: float | None = None, name: str | None = None
) -> Device:
    """A device the catalog lacks: what ``--gpu-memory 12GiB [--gpu-bandwidth 360]`` says.

    ``memory_bytes`` is taken as what a process can allocate (as nvidia-smi's total less
    about 0.5 GiB for the driver, the catalog's measured totals show)."""
    if memory_bytes <= 0:
        raise OptionError("gpu memory must be positive")
    if bandwidth_gbs is not None and bandwidth_gbs <= 0:
        raise OptionError("gpu bandwidth must be positive")
    label = name or f"Custom GPU {memory_bytes / _GIB:.4g} GiB"
    return Device(
        key=CUSTOM_KEY,
        name=label,
        memory_bytes=memory_bytes,
        vendor="custom",
        kind="custom",
        bandwidth_gbs=bandwidth_gbs,
        memory_rule="given",
    )


def device_list(spec: str) -> list[str]:
    """The names of a comma list ("rtx3090,rtx4060"; "2x rtx3090" repeats one)."""
    names: list[str] = []
    for part in spec.split(","):
        item = part.strip()
        if not item:
            continue
        match = re.fullmatch(r"(\d+)\s*[x×*]\s*(.+)", item, re.I)
        if match:
            names += [match.group(2).strip()] * int(match.group(1))
        else:
            names.append(item)
    return names


def resolve_devices(
    spec: str | None,
    gpu_memory_bytes: int | None = None,
    gpu_bandwidth_gbs: float | None = None,
    wired_limit_mb: int | None = None,
) -> tuple[Device, ...]:
    """The devices of a ``--gpu`` value (comma list) plus an optional custom device.

    With ``gpu_memory_bytes`` and no ``spec`` the custom device alone; ``custom`` in the
    list stands for it. ``wired_limit_mb`` (Apple) replaces the Metal working-set cap.
    """
    if gpu_bandwidth_gbs is not None and not gpu_memory_bytes:
        raise OptionError("--gpu-bandwidth goes with --gpu-memory (a custom GPU)")
    custom = custom_device(gpu_memory_bytes, gpu_bandwidth_gbs) if gpu_memory_bytes else None
    if not spec:
        return (custom,) if custom else ()
    devices: list[Device] = []
    for name in device_list(spec):
        if name.lower() == CUSTOM_KEY:
            if custom is None:
                raise OptionError("'custom' in --gpu needs --gpu-memory")
            devices.append(custom)
            continue
        device = resolve_device(name)
        if device.kind == "apple" and wired_limit_mb:
            fraction = metal_working_set_bytes(device.memory_bytes, wired_limit_mb)
            device = _replace_fraction(device, fraction / device.memory_bytes)
        devices.append(device)
    if not devices:
        raise OptionError(f"no GPU named in {spec!r}")
    if custom is not None and all(d is not custom for d in devices):
        raise OptionError("--gpu-memory describes a custom GPU: add 'custom' to --gpu or drop it")
    return tuple(devices)


def _replace_fraction(device: Device, fraction: float) -> Device:
    from dataclasses import replace

    return replace(device, usable_fraction=min(fraction, 1.0), memory_rule="iogpu.wired_limit_mb")

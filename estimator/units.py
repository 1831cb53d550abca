"""How byte and parameter figures are written for people (CLI and page alike).

GiB (2^30) is what nvidia-smi and torch print as "GB"; GB (10^9) is what vendors print.
Both are always shown side by side, so each helper writes the number only.
"""

from __future__ import annotations

import re

from .result import GB, GIB

__all__ = ["format_count", "format_gb", "format_gib", "parse_bandwidth", "parse_size"]

_SIZE_UNITS = {"": 1024**3, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(text: str) -> int:
    """A memory size as people write it -> bytes: ``12GiB``, ``64GB``, ``24G``, ``512MiB``,
    ``1.5TB``. Sizes are binary (GB = GiB = 2^30, as GPU and RAM capacities are labelled);
    a bare number is GiB. Raises ValueError saying what is wrong (CLI and page alike)."""
    value = text.strip().lower().replace(" ", "").replace("_", "")
    match = re.fullmatch(r"([0-9]*\.?[0-9]+)([kmgt]?)(i?b)?", value)
    if not match:
        raise ValueError(f"not a memory size: {text!r} (e.g. 12GiB, 64GB)")
    number = float(match.group(1)) * _SIZE_UNITS[match.group(2)]
    if number < 1:
        raise ValueError(f"must be positive, got {text!r}")
    return int(number)


def parse_bandwidth(text: str) -> float:
    """A bandwidth in GB/s as people write it: ``360``, ``360GB/s``, ``1.8TB/s``. Raises
    ValueError saying what is wrong."""
    value = text.strip().lower().replace(" ", "")
    match = re.fullmatch(r"([0-9]*\.?[0-9]+)(gb/s|tb/s|gbps|gb)?", value)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"not a bandwidth in GB/s: {text!r} (e.g. 360, 1.8TB/s)")
    scale = 1000.0 if (match.group(2) or "").startswith("tb") else 1.0
    return float(match.group(1)) * scale


def format_gib(n: float) -> str:
    """``n`` bytes in GiB, two decimals, thousands separated."""
    return f"{n / GIB:,.2f}"


def format_gb(n: float) -> str:
    """``n`` bytes in GB (10^9), two decimals, thousands separated."""
    return f"{n / GB:,.2f}"


def format_count(n: int) -> str:
    """A parameter count: 8.03 B, 671.03 B, 1.20 T, 124.4 M."""
    if n >= 1e12:
        return f"{n / 1e12:.2f} T"
    if n >= 1e9:
        return f"{n / 1e9:.2f} B"
    if n >= 1e6:
        return f"{n / 1e6:.1f} M"
    return f"{n:,}"

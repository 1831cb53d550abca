"""How byte and parameter figures are written for people (CLI and page alike).

GiB (2^30) is what nvidia-smi and torch print as "GB"; GB (10^9) is what vendors print.
Both are always shown side by side, so each helper writes the number only.
"""

from __future__ import annotations

from .result import GB, GIB

__all__ = ["format_count", "format_gb", "format_gib"]


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

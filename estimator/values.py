"""Range-checked numbers read from a config: one rule for every key, nested ones too.

A config.json is anyone's text. Every number the estimator reads from it (top-level,
``text_config``, ``vision_config``, ``quantization_config``, ``rope_scaling``) passes
through :func:`config_int` or :func:`config_float`, which refuse booleans, strings,
NaN/infinity, fractions where a count is meant, negatives and values no published model
comes near, with a :class:`ConfigError` that names the key. The arithmetic downstream can
then neither overflow a float nor go negative.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import ConfigError

__all__ = ["MAX_CONFIG_INT", "MAX_PARAMS", "config_float", "config_int", "describe_number"]

#: No published model has a dimension, vocabulary or context near a billion; beyond it a
#: value is a typo or corruption and the arithmetic would only overflow.
MAX_CONFIG_INT = 10**9
#: A quadrillion parameters: ~500x the largest model ever published (DeepSeek-V3 671 B,
#: Kimi K2 1.04 T). A config that implies more has a size key out of range.
MAX_PARAMS = 10**15


def describe_number(value: Any) -> str:
    """A short, safe text for a number of any size (no 4300-digit str(), no float overflow)."""
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        text = (
            repr(value) if isinstance(value, (str, bool)) or value is None else type(value).__name__
        )
        return text if len(text) <= 40 else text[:37] + "..."
    if isinstance(value, float):
        return repr(value)
    if abs(value) <= 10**15:
        return str(value)
    digits = int(value.bit_length() * math.log10(2))
    return f"{'-' if value < 0 else ''}about 10^{digits}"


def config_int(key: str, value: Any, *, low: int = 0, high: int = MAX_CONFIG_INT) -> int:
    """``value`` as an int in [low, high], or a ConfigError naming ``key``.

    Whole floats (``4096.0``, as some writers store counts) are accepted.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(
            f"config.json key '{key}' should be a whole number, got {describe_number(value)}"
        )
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise ConfigError(
                f"config.json key '{key}' should be a whole number, got {describe_number(value)}"
            )
        if abs(value) > 2 * MAX_CONFIG_INT:
            return _out_of_range(key, value, low, high)
        value = int(value)
    if value < low or value > high:
        return _out_of_range(key, value, low, high)
    return int(value)


def _out_of_range(key: str, value: float, low: int, high: int) -> int:
    if value < 0 <= low:
        raise ConfigError(f"config.json key '{key}' is negative ({describe_number(value)})")
    if value > high and high == MAX_CONFIG_INT:
        raise ConfigError(
            f"config.json key '{key}' is implausibly large ({describe_number(value)})"
        )
    raise ConfigError(
        f"config.json key '{key}' must be between {low} and {describe_number(high)}, "
        f"got {describe_number(value)}"
    )


def config_float(
    key: str, value: Any, *, low: float, high: float, low_inclusive: bool = False
) -> float:
    """``value`` as a finite float in (low, high] (or [low, high]), or a ConfigError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(
            f"config.json key '{key}' should be a number, got {describe_number(value)}"
        )
    number = math.inf if isinstance(value, int) and abs(value) > 10**300 else float(value)
    above_low = number >= low if low_inclusive else number > low
    if not math.isfinite(number) or not above_low or number > high:
        bracket = "[" if low_inclusive else "("
        raise ConfigError(
            f"config.json key '{key}' must be a number in {bracket}{low:g}, {high:g}], "
            f"got {describe_number(value)}"
        )
    return number

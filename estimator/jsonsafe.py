"""JSON text to Python values, safe for any input, on CPython and Pyodide alike.

``json.loads`` alone is not enough for text anyone can publish: nesting thousands of
levels deep overflows the C stack of the scanner (a RecursionError on CPython, a dead
runtime in Pyodide, whose WebAssembly stack is smaller), integers beyond 4300 digits
raise a ValueError from ``int()``, ``1e400`` silently becomes infinity, and ``NaN``/
``Infinity`` are accepted although JSON has no such values. :func:`loads` measures the
nesting first with a flat scan (no recursion), then parses with hooks that refuse the
rest, so every problem is a :class:`ConfigJSONError` that says what it is.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from .errors import ConfigError, ConfigJSONError

__all__ = ["MAX_JSON_BYTES", "MAX_JSON_DEPTH", "load_config_text", "loads"]

#: Nesting allowed: configs nest about 5 levels, the Hub's model API about 6.
MAX_JSON_DEPTH = 64
#: Longest text accepted; the largest config.json on the Hub is well under 1 MiB and a
#: model API answer with every file listed a few MiB.
MAX_JSON_BYTES = 64 * 1024 * 1024
#: Digits of the longest integer accepted (CPython's own int/str conversion limit).
MAX_INT_DIGITS = 4300

# A whole string literal (escapes included) or one bracket: strings are skipped whole so
# brackets inside them are not counted.
_SCAN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def nesting_depth(text: str, limit: int = MAX_JSON_DEPTH) -> int:
    """Deepest bracket nesting of ``text``, counted without recursion; stops past ``limit``."""
    depth = peak = 0
    for match in _SCAN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > peak:
                peak = depth
                if peak > limit:
                    break
        elif token in "]}":
            depth -= 1
    return peak


class _Refused(Exception):
    """Raised inside the json hooks; turned into ConfigJSONError outside the parser."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _parse_int(text: str) -> int:
    digits = len(text) - (1 if text.startswith("-") else 0)
    if digits > MAX_INT_DIGITS:
        raise _Refused("number", f"an integer with {digits} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused("number", f"the number {text[:30]}, too large for a float")
    return value


def _parse_constant(name: str) -> Any:
    raise _Refused("number", f"{name}, which is not a JSON value")


def loads(text: str | bytes, what: str = "config.json") -> Any:
    """Parse JSON ``text`` (str or UTF-8 bytes); every refusal is a ConfigJSONError.

    ``reason`` on the error is one of ``syntax``, ``encoding``, ``depth``, ``number``,
    ``size``; the message starts with ``what``.
    """
    if isinstance(text, (bytes, bytearray)):
        if len(text) > MAX_JSON_BYTES:
            raise _too_large(what, len(text))
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise ConfigJSONError(
                f"{what} is not UTF-8 text (byte {err.start})", "encoding"
            ) from None
    if len(text) > MAX_JSON_BYTES:
        raise _too_large(what, len(text))
    depth = nesting_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise ConfigJSONError(
            f"{what} nests more than {MAX_JSON_DEPTH} levels deep; no config does", "depth"
        )
    try:
        return json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except _Refused as err:
        raise ConfigJSONError(f"{what} contains {err}", err.reason) from None
    except json.JSONDecodeError as err:
        raise ConfigJSONError(
            f"{what} is not valid JSON: {err.msg} (line {err.lineno}, column {err.colno})",
            "syntax",
        ) from None
    except RecursionError:  # the depth scan makes this unreachable; never let it escape
        raise ConfigJSONError(f"{what} nests too deep to read", "depth") from None
    except ValueError as err:  # any other limit json or int() enforces
        raise ConfigJSONError(f"{what} cannot be read: {err}", "number") from None


def _too_large(what: str, size: int) -> ConfigJSONError:
    return ConfigJSONError(
        f"{what} is {size / 2**20:.0f} MiB; at most {MAX_JSON_BYTES // 2**20} MiB is read",
        "size",
    )


def load_config_text(text: str | bytes, what: str = "config.json") -> dict[str, Any]:
    """A config.json's text -> dict, for uploaded, pasted or downloaded configs.

    Raises :class:`ConfigJSONError` (a :class:`ConfigError`) for text that is not safe,
    valid JSON and :class:`ConfigError` when it is not a JSON object.
    """
    data = loads(text, what)
    if not isinstance(data, dict):
        raise ConfigError(f"{what} must be a JSON object, got {type(data).__name__}")
    return data

"""Looking keys up in a config.json: aliases, family defaults, range checks, clear errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError, MissingConfigKeyError
from ..values import MAX_CONFIG_INT, config_int, describe_number

__all__ = ["MAX_LAYERS", "Reader", "name_value", "text_config_of"]

#: More blocks than any published model by two orders of magnitude: surely a typo.
MAX_LAYERS = 10_000


class Reader:
    """Looks keys up in a config with family defaults behind it.

    ``prefix`` is where the config sits in the file (``text_config.``) so that errors
    name the key a person can find. ``defaults`` are the family's config-class defaults,
    given only for nested text configs (llava-1.5 lists a handful of keys); a top-level
    config missing a key is reported, not silently defaulted.
    """

    def __init__(
        self, config: Mapping[str, Any], defaults: Mapping[str, Any], prefix: str = ""
    ) -> None:
        self.config = config
        self.prefix = prefix
        self.defaults = defaults

    def name(self, key: str) -> str:
        return self.prefix + key

    def has(self, *keys: str) -> bool:
        return any(self.config.get(k) is not None or k in self.defaults for k in keys)

    def raw(self, *keys: str) -> Any:
        for key in keys:
            value = self.config.get(key)
            if value is not None:
                return value
        for key in keys:
            if key in self.defaults:
                return self.defaults[key]
        return None

    def key_of(self, keys: tuple[str, ...]) -> str:
        """The key that gave the value (for messages)."""
        for key in keys:
            if self.config.get(key) is not None:
                return self.name(key)
        return self.name(keys[0])

    def integer(
        self,
        *keys: str,
        default: int | None = None,
        required: bool = True,
        low: int = 0,
        high: int = MAX_CONFIG_INT,
    ) -> int:
        value = self.raw(*keys)
        if value is None:
            if default is not None:
                return default
            if required:
                raise MissingConfigKeyError(self.name(keys[0]), _alias_note(keys))
            return 0
        return config_int(self.key_of(keys), value, low=low, high=high)

    def opt_int(self, *keys: str, high: int = MAX_CONFIG_INT) -> int | None:
        value = self.raw(*keys)
        return None if value is None else config_int(self.key_of(keys), value, high=high)

    def positive(self, *keys: str, default: int | None = None) -> int:
        """A required (or defaulted) count that must be at least 1."""
        return self.integer(*keys, default=default, low=1)

    def int_list(self, key: str) -> list[int]:
        """A list of layer indices (e.g. mlp_only_layers); anything else is a ConfigError."""
        value = self.raw(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise ConfigError(
                f"config.json key '{self.name(key)}' should be a list of layer indices"
            )
        return value

    def flag(self, *keys: str, default: bool = False) -> bool:
        value = self.raw(*keys)
        if value is None:
            return default
        return bool(value)


def _alias_note(keys: tuple[str, ...]) -> str:
    return "also looked for " + ", ".join(keys[1:]) if len(keys) > 1 else ""


def name_value(key: str, value: Any, default: str = "default") -> str:
    """A name-valued key (a RoPE type, a layer kind, a quantization method): a string, or
    ``default`` when absent; any other JSON value is a ConfigError."""
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        raise ConfigError(
            f"config.json key '{key}' should be a name (a string), got {describe_number(value)}"
        )
    return value


# Keys under which multimodal repos nest their language model's config.
_TEXT_CONFIG_KEYS = ("text_config", "llm_config", "language_config", "text_model_config")


def text_config_of(config: Mapping[str, Any]) -> tuple[Mapping[str, Any], str | None]:
    """The language model's config and, if nested, the key it was found under."""
    for key in _TEXT_CONFIG_KEYS:
        sub = config.get(key)
        if isinstance(sub, Mapping):
            return sub, key
    return config, None

"""Normalize a Hugging Face ``config.json`` into one typed :class:`ModelSpec`.

* :mod:`.parse` — the driver: text config, model type, family, then each part;
* :mod:`.reader` — key lookups with aliases, family defaults and range checks;
* :mod:`.registry` — one :class:`~.family.Family` entry per ``model_type``;
* :mod:`.attention`, :mod:`.ffn`, :mod:`.layers`, :mod:`.ssm`, :mod:`.hybrid`,
  :mod:`.quantization`, :mod:`.vision` — one concern each, with the families' hooks;
* :mod:`.model` — the dataclasses everything downstream reads.
"""

from __future__ import annotations

from .model import (
    AttentionSpec,
    LayerSpec,
    MLASpec,
    MLPSpec,
    ModelSpec,
    MoESpec,
    QuantSpec,
    SSMSpec,
)
from .parse import parse_config
from .reader import text_config_of

__all__ = [
    "AttentionSpec",
    "LayerSpec",
    "MLASpec",
    "MLPSpec",
    "MoESpec",
    "ModelSpec",
    "QuantSpec",
    "SSMSpec",
    "parse_config",
    "text_config_of",
]

"""config.json -> :class:`ModelSpec`: find the text model, its family, and read each part.

Configs name the same thing many ways (``n_embd``/``hidden_size``/``d_model``), nest the
language model of multimodal repos under ``text_config`` and rely on each transformers
config class's defaults for keys they omit. This package is the only place that knows
those spellings; everything downstream reads the spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError, MissingConfigKeyError, UnsupportedModelError
from .attention import engine_max_context, parse_attention, rope_cache_rows, rotary_dim
from .family import Family
from .ffn import parse_mlp, parse_moe
from .layers import parse_layers
from .model import MLPSpec, ModelSpec
from .quantization import parse_quantization
from .reader import MAX_LAYERS, Reader, text_config_of
from .registry import MODEL_TYPE_ALIASES, family_of
from .ssm import parse_ssm
from .vision import parse_vision

__all__ = ["parse_config"]


def parse_config(config: Mapping[str, Any]) -> ModelSpec:
    """Turn a config.json dict into a :class:`ModelSpec`, or raise ``ConfigError``."""
    try:
        return _parse_config(config)
    except ConfigError:
        raise
    except (
        TypeError,
        ValueError,
        KeyError,
        AttributeError,
        ZeroDivisionError,
        OverflowError,
        IndexError,
        RecursionError,
    ) as exc:
        # Hand-edited or truncated configs can put any JSON value anywhere; say so plainly
        # rather than leak a Python traceback to the page or the CLI.
        raise ConfigError(f"config.json has a value of an unexpected type or size ({exc})") from exc


def _parse_config(config: Mapping[str, Any]) -> ModelSpec:
    if not isinstance(config, Mapping):
        raise ConfigError(f"config.json must be a JSON object, got {type(config).__name__}")
    warnings: list[str] = []
    text, nested_key = text_config_of(config)
    model_type = _resolve_model_type(config, text, nested_key, warnings)
    family = family_of(model_type)
    if family.unsupported:
        raise UnsupportedModelError(
            f"'{model_type}' is {family.unsupported}; this tool sizes text-generating models"
        )
    if not family.known:
        warnings.append(
            f"unknown model_type '{model_type}': estimated with the generic decoder rules "
            "(standard keys); check the parameter count against the model card"
        )
    r = Reader(
        text,
        family.defaults if nested_key is not None else {},
        f"{nested_key}." if nested_key else "",
    )

    hidden = r.positive("hidden_size", "n_embd", "d_model", "n_embed", "dim")
    num_layers = _num_layers(r, family)
    vocab = r.positive("vocab_size", "padded_vocab_size")

    attention = parse_attention(r, family, hidden)
    moe = parse_moe(r, family)
    ssm = parse_ssm(r, family, hidden)
    mlp: MLPSpec | None = None if family.is_ssm_only else parse_mlp(r, family, hidden)
    layers = parse_layers(r, family, model_type, num_layers, moe, ssm is not None)

    max_context = r.opt_int(
        "max_position_embeddings", "n_positions", "seq_length", "max_sequence_length", "n_ctx"
    )
    tied = r.flag("tie_word_embeddings", default=family.tied_default)
    if nested_key is not None and config.get("tie_word_embeddings") is not None:
        tied = bool(config["tie_word_embeddings"])
    if moe is not None and moe.experts_per_token > moe.num_experts:
        raise ConfigError(
            f"config.json routes each token to {moe.experts_per_token} experts but has only "
            f"{moe.num_experts}"
        )
    position_rows = 0
    if family.learned_positions:
        position_rows = (max_context or 0) + family.position_offset
    extra = family.extra_params(r, hidden) if family.extra_params is not None else 0
    vision = (
        parse_vision(config, hidden)
        if nested_key is not None or "vision_config" in config
        else None
    )
    dtype = (
        config.get("torch_dtype")
        or config.get("dtype")
        or text.get("torch_dtype")
        or text.get("dtype")
    )

    return ModelSpec(
        rotary_dim=rotary_dim(r, attention, family.learned_positions),
        rope_cache_rows=rope_cache_rows(r, family, max_context),
        engine_max_context=engine_max_context(r, model_type, max_context),
        model_type=model_type or "unknown",
        architecture=_architecture(config),
        hidden_size=hidden,
        vocab_size=vocab,
        max_context=max_context,
        layers=layers,
        attention=attention,
        mlp=mlp,
        moe=moe,
        ssm=ssm,
        norm=family.norm,
        norms_per_layer=family.norms_per_layer_fn(r),
        tied_embeddings=tied,
        position_embeddings=position_rows,
        embed_rows_extra=family.embed_rows_extra,
        extra_params=extra,
        vision=vision,
        quantization=parse_quantization(config),
        checkpoint_dtype=str(dtype) if isinstance(dtype, str) else None,
        known_family=family.known,
        warnings=tuple(warnings),
    )


def _resolve_model_type(
    config: Mapping[str, Any],
    text: Mapping[str, Any],
    nested_key: str | None,
    warnings: list[str],
) -> str:
    """The text model's type; a nested text config without one takes its wrapper's
    text_model_type (llava -> llama); "" (with a warning) when only the shape says decoder."""
    outer_type = _model_type(config)
    model_type = _model_type(text) or outer_type
    if nested_key is not None and not model_type:
        model_type = family_of(outer_type).text_model_type
    if not model_type:
        if "architectures" not in config and not _looks_like_decoder(text):
            raise MissingConfigKeyError("model_type")
        warnings.append("config.json has no 'model_type'; read with the generic decoder rules")
    return model_type


def _num_layers(r: Reader, family: Family) -> int:
    if family.block_kinds is not None:
        num_layers = len(family.block_kinds(r))
    else:
        num_layers = r.integer(
            "num_hidden_layers", "n_layer", "num_layers", "n_layers", low=1, high=MAX_LAYERS
        )
    if num_layers > MAX_LAYERS:
        raise ConfigError(
            f"config.json key '{r.name('num_hidden_layers')}' is implausibly large ({num_layers})"
        )
    return num_layers


def _model_type(config: Mapping[str, Any]) -> str:
    value = config.get("model_type")
    if not isinstance(value, str):
        return ""
    return MODEL_TYPE_ALIASES.get(value, value)


def _looks_like_decoder(config: Mapping[str, Any]) -> bool:
    return any(k in config for k in ("hidden_size", "n_embd", "d_model"))


def _architecture(config: Mapping[str, Any]) -> str:
    archs = config.get("architectures")
    if isinstance(archs, list) and archs and isinstance(archs[0], str):
        return archs[0]
    return ""

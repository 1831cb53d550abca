"""Each layer's mixer, sliding window and MoE flag, from layer_types or the family's rule."""

from __future__ import annotations

from ..errors import UnsupportedModelError
from .family import Family, LayerKinds
from .ffn import moe_layers
from .model import LayerSpec, MoESpec
from .reader import Reader, name_value

__all__ = [
    "all_ssm",
    "gemma2_windows",
    "gemma3_windows",
    "parse_layers",
    "qwen_windows",
]


def parse_layers(
    r: Reader, family: Family, model_type: str, n: int, moe: MoESpec | None, has_ssm: bool
) -> tuple[LayerSpec, ...]:
    if family.layers is not None:
        return family.layers(r, n)
    window = r.opt_int("sliding_window", "attention_window_size")
    kinds = _layer_kinds(r, family, n, window)
    moe_flags = moe_layers(r, family, n, moe)
    if has_ssm is False and any(kind == "ssm" for kind, _ in kinds):
        raise UnsupportedModelError(
            f"'{model_type or 'this model'}' has recurrent (SSM / linear-attention) layers this "
            "tool does not model yet"
        )
    cross = set(r.int_list("cross_attention_layers"))
    layers = []
    for i, (mixer, layer_window) in enumerate(kinds):
        if i in cross:
            mixer = "cross_attention"
        layers.append(LayerSpec(mixer=mixer, window=layer_window, moe=moe_flags[i]))
    return tuple(layers)


def _layer_kinds(r: Reader, family: Family, n: int, window: int | None) -> LayerKinds:
    """A config's own layer_types list wins; then the family's mixer pattern; then, when a
    window is set, the family's window pattern (default: every layer uses it, as Mistral
    v0.1, Phi-3 and Mixtral do)."""
    layer_types = r.raw("layer_types", "layers_block_type")
    if isinstance(layer_types, list) and len(layer_types) >= n:
        return [_listed_kind(r, kind, window) for kind in layer_types[:n]]
    if family.mixer_pattern is not None:
        return family.mixer_pattern(r, n)
    if not window:
        return [("attention", None)] * n
    if family.window_pattern is not None:
        return family.window_pattern(r, n, window)
    return [("attention", window)] * n


def _listed_kind(r: Reader, kind: object, window: int | None) -> tuple[str, int | None]:
    k = name_value(r.name("layer_types[]"), kind).lower()
    if k in ("mamba", "mamba2", "ssm", "linear_attention", "recurrent"):
        return ("ssm", None)
    if k == "chunked_attention":
        # Llama 4: RoPE layers attend within chunks of attention_chunk_size tokens.
        return ("attention", r.opt_int("attention_chunk_size") or window)
    if "sliding" in k or k == "local":
        return ("attention", window)
    return ("attention", None)


def all_ssm(_: Reader, n: int) -> LayerKinds:
    """Pure state-space models (Mamba, FalconMamba, Mamba-2)."""
    return [("ssm", None)] * n


def gemma2_windows(_: Reader, n: int, window: int) -> LayerKinds:
    """Gemma2: layer i is sliding when (i + 1) % 2 (configuration_gemma2.py)."""
    return [("attention", window if (i + 1) % 2 else None) for i in range(n)]


def gemma3_windows(r: Reader, n: int, window: int) -> LayerKinds:
    """Gemma3: sliding unless (i + 1) % sliding_window_pattern == 0 (configuration_gemma3.py)."""
    pattern = r.positive("sliding_window_pattern", default=6)
    return [("attention", window if (i + 1) % pattern else None) for i in range(n)]


def qwen_windows(r: Reader, n: int, window: int) -> LayerKinds:
    """Qwen2/3: the window applies only with use_sliding_window, from layer
    max_window_layers on (configuration_qwen2.py)."""
    if not r.flag("use_sliding_window"):
        return [("attention", None)] * n
    first = r.integer("max_window_layers", default=n)
    return [("attention", window if i >= first else None) for i in range(n)]

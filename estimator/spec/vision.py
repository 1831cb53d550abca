"""Parameter counts of the vision towers of multimodal models.

The language model's config drives the KV cache; the vision tower and projector
only add weights. Their shapes follow transformers' modeling files of each tower
(CLIP, SigLIP, Qwen2-VL, Qwen2.5-VL, Mllama); any other tower is counted as a
plain ViT.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..values import config_float, config_int

__all__ = ["VisionSpec", "parse_vision"]


@dataclass(frozen=True)
class VisionSpec:
    """A vision tower (and projector) by its parameter count."""

    model_type: str
    params: int  # tower + projector


def _get(cfg: Mapping[str, Any], default: int, *keys: str, where: str = "vision_config") -> int:
    """The first of ``keys`` present, range-checked (at least 1), else the tower's default."""
    for key in keys:
        value = cfg.get(key)
        if value is not None:
            return config_int(f"{where}.{key}" if where else key, value, low=1)
    return default


def _vit_layer(
    h: int,
    inter: int,
    *,
    attn_bias: bool = True,
    gated: bool = False,
    norm_params: int | None = None,
) -> int:
    """One pre-norm ViT block: q/k/v/o, a two- or three-matrix MLP with biases, two norms."""
    attn = 4 * h * h + (4 * h if attn_bias else 0)
    mlp = (3 * h * inter + 2 * inter + h) if gated else (2 * h * inter + inter + h)
    norms = 2 * (2 * h if norm_params is None else norm_params)
    return attn + mlp + norms


def _clip_like(v: Mapping[str, Any], siglip: bool) -> int:
    # CLIP/SigLIP vision defaults (CLIPVisionConfig / SiglipVisionConfig).
    h = _get(v, 768, "hidden_size")
    inter = _get(v, 3072, "intermediate_size")
    layers = _get(v, 12, "num_hidden_layers")
    patch = _get(v, 32 if not siglip else 16, "patch_size")
    image = _get(v, 224, "image_size")
    channels = _get(v, 3, "num_channels")
    patches = (image // patch) ** 2
    if siglip:
        # SiglipVisionEmbeddings: conv with bias, no class token.
        embed = channels * patch * patch * h + h + patches * h
        pre = 0
    else:
        # CLIPVisionEmbeddings: conv without bias, class token, patches + 1 positions; pre_layrnorm.
        embed = channels * patch * patch * h + h + (patches + 1) * h
        pre = 2 * h
    post = 2 * h
    head = 0
    if siglip and v.get("vision_use_head", True):
        # SiglipMultiheadAttentionPoolingHead: probe, nn.MultiheadAttention (in/out proj with
        # biases), LayerNorm, MLP.
        head = h + (4 * h * h + 4 * h) + 2 * h + (2 * h * inter + inter + h)
    return embed + pre + layers * _vit_layer(h, inter) + post + head


def _qwen2_vl(v: Mapping[str, Any], text_hidden: int) -> int:
    # Qwen2VisionTransformerPretrainedModel (modeling_qwen2_vl.py).
    e = _get(v, 1280, "embed_dim")
    depth = _get(v, 32, "depth")
    ratio = config_float("vision_config.mlp_ratio", v.get("mlp_ratio", 4), low=0, high=64)
    inter = int(e * ratio)
    patch = _get(v, 14, "patch_size")
    temporal = _get(v, 2, "temporal_patch_size")
    channels = _get(v, 3, "in_chans", "in_channels")
    merge = _get(v, 2, "spatial_merge_size")
    out = _get(v, text_hidden, "hidden_size")
    embed = channels * temporal * patch * patch * e
    block = 2 * (2 * e) + (3 * e * e + 3 * e) + (e * e + e) + (2 * e * inter + inter + e)
    ctx = e * merge * merge
    merger = 2 * e + (ctx * ctx + ctx) + (ctx * out + out)
    return embed + depth * block + merger


def _qwen2_5_vl(v: Mapping[str, Any], text_hidden: int) -> int:
    # Qwen2_5_VisionTransformerPretrainedModel: RMSNorms, gated MLP with biases.
    e = _get(v, 1280, "hidden_size")
    depth = _get(v, 32, "depth")
    inter = _get(v, 3420, "intermediate_size")
    patch = _get(v, 14, "patch_size")
    temporal = _get(v, 2, "temporal_patch_size")
    channels = _get(v, 3, "in_chans", "in_channels")
    merge = _get(v, 2, "spatial_merge_size")
    out = _get(v, text_hidden, "out_hidden_size")
    embed = channels * temporal * patch * patch * e
    block = 2 * e + (3 * e * e + 3 * e) + (e * e + e) + (3 * e * inter + 2 * inter + e)
    ctx = e * merge * merge
    merger = e + (ctx * ctx + ctx) + (ctx * out + out)
    return embed + depth * block + merger


def _qwen3_vl(v: Mapping[str, Any], text_hidden: int) -> int:
    # Qwen3VLVisionModel (modeling_qwen3_vl.py; Qwen3.5 reuses it): conv3d patch embedding
    # with bias, learned position table, LayerNorm blocks with a plain MLP, a merger and
    # one extra merger per deepstack index.
    e = _get(v, 1152, "hidden_size")
    depth = _get(v, 27, "depth")
    inter = _get(v, 4304, "intermediate_size")
    patch = _get(v, 16, "patch_size")
    temporal = _get(v, 2, "temporal_patch_size")
    channels = _get(v, 3, "in_channels", "in_chans")
    merge = _get(v, 2, "spatial_merge_size")
    out = _get(v, text_hidden, "out_hidden_size")
    positions = _get(v, 2304, "num_position_embeddings")
    embed = channels * temporal * patch * patch * e + e + positions * e
    block = 2 * (2 * e) + (3 * e * e + 3 * e) + (e * e + e) + (2 * e * inter + inter + e)
    ctx = e * merge * merge
    merger = 2 * e + (ctx * ctx + ctx) + (ctx * out + out)
    deepstack = v.get("deepstack_visual_indexes")
    extra = len(deepstack) if isinstance(deepstack, list) else 0
    # deepstack mergers normalise after the shuffle: LayerNorm over ctx instead of e.
    deep = extra * (2 * ctx + (ctx * ctx + ctx) + (ctx * out + out))
    return embed + depth * block + merger + deep


def _pixtral(v: Mapping[str, Any], config: Mapping[str, Any], text_hidden: int) -> int:
    # PixtralVisionModel (modeling_pixtral.py): bias-free conv, RMSNorms, gated MLP, 2D RoPE
    # (no position table); Mistral3MultiModalProjector / LlavaMultiModalProjector after it.
    h = _get(v, 1024, "hidden_size")
    inter = _get(v, 4096, "intermediate_size")
    layers = _get(v, 24, "num_hidden_layers")
    patch = _get(v, 16, "patch_size")
    channels = _get(v, 3, "num_channels")
    tower = channels * patch * patch * h + h + layers * (4 * h * h + 3 * h * inter + 2 * h)
    bias = bool(config.get("multimodal_projector_bias", True))
    layers_used = config.get("vision_feature_layer", -1)
    feature_layers = len(layers_used) if isinstance(layers_used, list) else 1
    projector = (
        feature_layers * h * text_hidden
        + (text_hidden if bias else 0)
        + text_hidden * text_hidden
        + (text_hidden if bias else 0)
    )
    if str(config.get("model_type", "")) == "mistral3":
        merge = _get(config, 2, "spatial_merge_size", where="")
        projector += h + h * merge * merge * h  # RMSNorm + patch merger (bias-free)
    return tower + projector


def _mllama(v: Mapping[str, Any], text_hidden: int) -> int:
    # MllamaVisionModel (modeling_mllama.py): local + gated global encoders, tile embeddings.
    h = _get(v, 1280, "hidden_size")
    inter = _get(v, 5120, "intermediate_size")
    layers = _get(v, 32, "num_hidden_layers")
    global_layers = _get(v, 8, "num_global_layers")
    patch = _get(v, 14, "patch_size")
    image = _get(v, 560, "image_size")
    channels = _get(v, 3, "num_channels")
    tiles = _get(v, 4, "max_num_tiles")
    ratios = v.get("supported_aspect_ratios")
    n_ratios = len(ratios) if isinstance(ratios, list) else 8
    out_dim = _get(v, 7680, "vision_output_dim")
    positions = (image // patch) ** 2 + 1
    conv = channels * patch * patch * h
    cls = h
    gated_pos = positions * h + 1 + (n_ratios + 1) * tiles * positions * h
    tile_pos = 2 * ((n_ratios + 1) * tiles * h + 1)
    norms = 2 * (2 * h)
    block = _vit_layer(h, inter, attn_bias=False)
    projector = out_dim * text_hidden + text_hidden
    return (
        conv
        + cls
        + gated_pos
        + tile_pos
        + norms
        + layers * block
        + global_layers * (block + 2)
        + projector
    )


def _type_name(cfg: Mapping[str, Any]) -> str:
    value = cfg.get("model_type")
    return value if isinstance(value, str) else ""


def parse_vision(config: Mapping[str, Any], text_hidden: int) -> VisionSpec | None:
    """The vision tower (and projector) of a multimodal config, or None for text-only."""
    v = config.get("vision_config")
    if not isinstance(v, Mapping):
        return None
    vtype = _type_name(v)
    outer = _type_name(config)
    if outer == "qwen2_vl" or vtype == "qwen2_vl":
        return VisionSpec("qwen2_vl", _qwen2_vl(v, text_hidden))
    if outer == "qwen2_5_vl" or vtype == "qwen2_5_vl":
        return VisionSpec("qwen2_5_vl", _qwen2_5_vl(v, text_hidden))
    if outer.startswith(("qwen3_vl", "qwen3_5")) or vtype.startswith(("qwen3_vl", "qwen3_5")):
        return VisionSpec(outer or vtype, _qwen3_vl(v, text_hidden))
    if vtype == "pixtral":
        return VisionSpec("pixtral", _pixtral(v, config, text_hidden))
    if outer == "mllama" or vtype == "mllama_vision_model":
        return VisionSpec("mllama", _mllama(v, text_hidden))
    if vtype in ("clip_vision_model", "siglip_vision_model") or outer in ("llava", "gemma3"):
        siglip = vtype.startswith("siglip") or outer == "gemma3"
        tower = _clip_like(v, siglip)
        vh = _get(v, 768, "hidden_size")
        if outer == "gemma3":
            # Gemma3MultiModalProjector: a vision_h x text_h matrix and an RMSNorm of vision_h.
            projector = vh * text_hidden + vh
        else:
            # LlavaMultiModalProjector: two Linear layers with bias (multimodal_projector_bias).
            projector = vh * text_hidden + text_hidden + text_hidden * text_hidden + text_hidden
        return VisionSpec(vtype or outer, tower + projector)
    h = _get(v, 1024, "hidden_size", "embed_dim", "width")
    layers = _get(v, 24, "num_hidden_layers", "depth", "layers")
    inter = _get(v, 4 * h, "intermediate_size")
    projector = h * text_hidden + text_hidden
    return VisionSpec(vtype or "vit", layers * _vit_layer(h, inter) + projector)

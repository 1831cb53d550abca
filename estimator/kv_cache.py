"""KV cache (and recurrent state) bytes, per layer and per engine layout.

Per token and layer an attention layer stores K and V: ``kv_heads x (head_dim +
v_head_dim)`` values. MLA layers cache the compressed latent instead
(``kv_lora_rank + qk_rope_head_dim`` values, no separate V: DeepSeek-V2 paper
sec. 2.1.2) when the engine implements it. Sliding-window layers hold at most
their window; SSM layers hold a fixed state per sequence instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from .engines import EngineProfile
from .layouts import round_up
from .spec import LayerSpec, ModelSpec

__all__ = ["KVEstimate", "KVRequest", "KVTerm", "StateTerm", "estimate_kv", "kv_values_per_token"]


@dataclass(frozen=True)
class KVTerm:
    """Layers that cache alike: ``layers x heads x (k_dim + v_dim) x element_bytes`` per
    token, times ``tokens`` kept per sequence, times ``sequences`` (for ``estimator.explain``).

    ``form`` is "heads" (per-head K and V) or "latent" (MLA: ``k_dim`` is kv_lora_rank,
    ``v_dim`` the rope dim, ``heads`` 1)."""

    layers: int
    heads: int
    k_dim: int
    v_dim: int
    form: str
    window: int | None  # the layers' sliding window (None: full attention)
    tokens: int  # tokens (llama.cpp: cells) kept per sequence
    sequences: int
    element_bytes: float

    @property
    def bytes_per_token(self) -> float:
        return self.layers * self.heads * (self.k_dim + self.v_dim) * self.element_bytes

    @property
    def bytes(self) -> float:
        return self.bytes_per_token * self.tokens * self.sequences


@dataclass(frozen=True)
class StateTerm:
    """Recurrent layers' fixed state per sequence: a conv window plus the SSM/linear-attention
    state, ``layers x (conv_channels x conv_width x conv_element_bytes + state_values x
    state_element_bytes) x sequences``."""

    layers: int
    kind: str  # Mamba | Mamba-2 | gated DeltaNet | lightning attention
    conv_channels: int
    conv_width: int
    conv_element_bytes: int
    state_values: int
    state_element_bytes: int
    sequences: int

    @property
    def bytes_per_sequence(self) -> int:
        return self.layers * (
            self.conv_channels * self.conv_width * self.conv_element_bytes
            + self.state_values * self.state_element_bytes
        )

    @property
    def bytes(self) -> int:
        return self.bytes_per_sequence * self.sequences


_SSM_KINDS = {1: "Mamba", 2: "Mamba-2", 3: "gated DeltaNet", 4: "lightning attention"}


@dataclass(frozen=True)
class KVEstimate:
    """KV-cache (and SSM state) bytes for the whole batch, with the per-token rate."""

    bytes: int
    bytes_per_token: int  # all attention layers, one token, before windows cap anything
    attention_bytes: int
    state_bytes: int  # SSM layers' fixed state, all sequences
    tokens_per_sequence: int  # after block rounding
    sliding_tokens: int | None  # tokens a sliding layer keeps per sequence
    element_bytes: float
    sliding_bytes: int = 0  # the part of attention_bytes held by sliding-window layers
    terms: tuple[KVTerm, ...] = ()  # the attention layers' cache, grouped (sum: attention_bytes)
    state: StateTerm | None = None  # the recurrent layers' state (state_bytes)


def _term_shape(
    spec: ModelSpec, layer: LayerSpec, mla_latent: bool, kv_heads: int | None
) -> tuple[int, int, int, str]:
    """(heads, k_dim, v_dim, form) whose product is ``kv_values_per_token``."""
    a = spec.attention
    if a.mla is not None:
        if mla_latent:
            return 1, a.mla.kv_lora_rank, a.mla.qk_rope_head_dim, "latent"
        return a.num_heads, a.head_dim, a.v_head_dim, "heads"
    return kv_heads or a.num_kv_heads, a.head_dim, a.v_head_dim, "heads"


def kv_values_per_token(
    spec: ModelSpec, layer: LayerSpec, mla_latent: bool, kv_heads: int | None = None
) -> int:
    """Values one token adds to one layer's cache (0 for SSM and cross-attention layers)."""
    if layer.mixer != "attention" and not layer.extra_attention:
        return 0
    a = spec.attention
    if a.mla is not None:
        if mla_latent:
            return a.mla.latent_width
        return a.num_heads * (a.head_dim + a.v_head_dim)
    heads = kv_heads or a.num_kv_heads
    return heads * (a.head_dim + a.v_head_dim)


def _sliding_tokens(window: int, context: int, profile: EngineProfile, chunk: int) -> int:
    """Tokens a sliding-window layer keeps per sequence under ``profile``."""
    if profile.window_keep == "window-1":
        return min(context, window - 1)
    if profile.window_keep == "window+chunk":
        return min(context, window - 1 + chunk)
    return min(context, window)


@dataclass(frozen=True)
class KVRequest:
    """What the cache is sized for: ``batch`` sequences of ``context`` tokens, stored in
    ``element_bytes`` per value, in blocks of ``block_size`` when ``paged``; ``chunk`` is
    the tokens of one forward (a sliding window keeps that many more)."""

    batch: int
    context: int
    element_bytes: float
    block_size: int
    paged: bool
    chunk: int
    activation_bytes: int = 2  # the SSM state's element when the engine keeps it in-dtype
    kv_heads: int | None = None  # override of the config's KV heads
    flash_attention: bool = True
    swa_full: bool = False  # llama.cpp --swa-full


def estimate_kv(spec: ModelSpec, profile: EngineProfile, request: KVRequest) -> KVEstimate:
    """KV cache bytes for ``batch`` sequences of ``context`` tokens each."""
    batch, element_bytes = request.batch, request.element_bytes
    tokens = round_up(request.context, request.block_size) if request.paged else request.context
    per_token_values = 0
    attention_bytes = 0.0
    sliding_bytes = 0.0
    sliding_kept: int | None = None
    terms: dict[tuple[int, int, int, str, int | None, int], int] = {}
    for layer, count in spec.layer_groups:
        values = kv_values_per_token(spec, layer, profile.mla_latent, request.kv_heads) * count
        if not values:
            continue
        per_token_values += values
        kept, windowed = _kept_tokens(layer, profile, request, tokens)
        if windowed:
            sliding_kept = kept
            sliding_bytes += values * element_bytes * kept * batch
        attention_bytes += values * element_bytes * kept * batch
        shape = _term_shape(spec, layer, profile.mla_latent, request.kv_heads)
        key = (*shape, layer.window, kept)
        terms[key] = terms.get(key, 0) + count
    state_bytes, state = _ssm_state(spec, profile, request)
    total = int(attention_bytes) + state_bytes
    return KVEstimate(
        bytes=total,
        bytes_per_token=int(per_token_values * element_bytes),
        attention_bytes=int(attention_bytes),
        state_bytes=state_bytes,
        tokens_per_sequence=tokens,
        sliding_tokens=sliding_kept,
        element_bytes=element_bytes,
        sliding_bytes=int(sliding_bytes),
        terms=tuple(
            KVTerm(layers, heads, k_dim, v_dim, form, window, kept, batch, element_bytes)
            for (heads, k_dim, v_dim, form, window, kept), layers in terms.items()
        ),
        state=state,
    )


def _kept_tokens(
    layer: LayerSpec, profile: EngineProfile, request: KVRequest, tokens: int
) -> tuple[int, bool]:
    """Tokens (or cells) one sequence keeps in ``layer``'s cache, and whether the layer's
    sliding window cut them."""
    if profile.window_keep == "cells":
        # One KV stream per sequence (kv_unified false, llama-server's default), each of
        # n_ctx_seq cells padded to 256 with flash attention, else 32
        # (llama_kv_cache::get_padding); SWA layers keep min(n_ctx_seq, pad(n_swa + n_ubatch))
        # cells per stream (llama-kv-cache-iswa.cpp), or n_ctx_seq cells with --swa-full
        # (cparams.swa_full: "use full-size SWA cache"). Matches logged caches exactly:
        # gpt-oss-120b 2 x 131072 / 2 x 1280 cells (ubatch 1024), 2016 / 640 cells without FA.
        pad = profile.kv_pad if request.flash_attention else 32
        cells = round_up(request.context, pad)
        if layer.window and not request.swa_full:
            return min(cells, round_up(layer.window + request.chunk, pad)), True
        return cells, False
    if not layer.window:
        return tokens, False
    kept = _sliding_tokens(layer.window, request.context, profile, request.chunk)
    if request.paged:
        kept = round_up(kept, request.block_size)
    return kept, True


def _ssm_state(
    spec: ModelSpec, profile: EngineProfile, request: KVRequest
) -> tuple[int, StateTerm | None]:
    """The SSM layers' conv and recurrent state per sequence (no tokens: fixed size)."""
    if spec.ssm is None or not spec.ssm_layers:
        return 0, None
    batch = request.batch
    width = spec.ssm.d_conv - 1 if profile.ssm_conv_width == "d_conv-1" else spec.ssm.d_conv
    width = max(width, 0)
    conv_element = 4 if profile.ssm_state_fp32 else request.activation_bytes
    recurrent_fp32 = profile.ssm_recurrent_fp32 and not spec.ssm.state_in_model_dtype
    fp32 = profile.ssm_state_fp32 or recurrent_fp32 or spec.ssm.state_fp32
    state_element = 4 if fp32 else request.activation_bytes
    per_layer = (
        spec.ssm.conv_dim * width * conv_element + spec.ssm.ssm_state_elements * state_element
    )
    state = StateTerm(
        layers=spec.ssm_layers,
        kind=_SSM_KINDS.get(spec.ssm.version, "SSM"),
        conv_channels=spec.ssm.conv_dim,
        conv_width=width,
        conv_element_bytes=conv_element,
        state_values=spec.ssm.ssm_state_elements,
        state_element_bytes=state_element,
        sequences=batch,
    )
    return per_layer * spec.ssm_layers * batch, state

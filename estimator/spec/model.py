"""The typed description of one model that every estimate reads (:class:`ModelSpec`).

Parsing (estimator.spec.parse) fills these from a config.json; nothing downstream looks at
the config again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from .vision import VisionSpec

__all__ = [
    "AttentionSpec",
    "LayerSpec",
    "MLASpec",
    "MLPSpec",
    "MoESpec",
    "ModelSpec",
    "QuantSpec",
    "SSMSpec",
]


@dataclass(frozen=True)
class MLASpec:
    """Multi-head latent attention (DeepSeek-V2 paper, arXiv:2405.04434, sec. 2.1)."""

    q_lora_rank: int | None
    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int

    @property
    def latent_width(self) -> int:
        """Values cached per token per layer when the latent is cached (512 + 64 = 576)."""
        return self.kv_lora_rank + self.qk_rope_head_dim


@dataclass(frozen=True)
class AttentionSpec:
    """A layer's attention: head counts and sizes, biases, norms."""

    num_heads: int
    num_kv_heads: int
    head_dim: int
    v_head_dim: int
    qkv_bias: bool = False
    o_bias: bool = False
    qk_norm: bool = False  # per-head RMSNorm on q and k (Qwen3, Gemma 3)
    qk_norm_full: bool = False  # RMSNorm over the whole q and k projections (OLMo 2/3)
    sinks: bool = False  # learned per-head attention sinks (gpt-oss)
    output_gate: bool = False  # q_proj also yields a sigmoid gate (Qwen3-Next/Qwen3.5)
    mla: MLASpec | None = None

    @property
    def kind(self) -> str:
        if self.mla is not None:
            return "MLA"
        if self.num_kv_heads == self.num_heads:
            return "MHA"
        if self.num_kv_heads == 1:
            return "MQA"
        return "GQA"


@dataclass(frozen=True)
class MLPSpec:
    """A dense feed-forward block."""

    intermediate_size: int
    gated: bool  # SwiGLU/GeGLU: three matrices instead of two
    bias: bool = False


@dataclass(frozen=True)
class MoESpec:
    """A mixture-of-experts feed-forward block: routed and shared experts."""

    num_experts: int
    experts_per_token: int
    expert_intermediate: int
    gated: bool = True
    expert_bias: bool = False
    shared_intermediate: int = 0  # total width of the always-on shared expert(s)
    shared_gate: bool = False  # Qwen2-MoE's sigmoid gate on the shared expert
    router_bias: bool = False
    router_score_bias: bool = False  # DeepSeek-V3 e_score_correction_bias


@dataclass(frozen=True)
class SSMSpec:
    """A Mamba mixer (Mamba: arXiv:2312.00752; Mamba-2: arXiv:2405.21060)."""

    version: int
    d_inner: int
    d_state: int
    d_conv: int
    dt_rank: int
    n_groups: int = 1
    n_heads: int = 0  # Mamba-2 only
    conv_bias: bool = True
    proj_bias: bool = False
    inner_norms: bool = False  # Jamba's dt/B/C RMSNorms
    gated_norm: bool = True  # Mamba-2's RMSNormGated over d_inner before out_proj
    state_fp32: bool = False  # the recurrent state is kept in fp32 (config mamba_ssm_dtype)
    state_in_model_dtype: bool = False  # even where an engine keeps SSM states in fp32

    @property
    def conv_dim(self) -> int:
        if self.version == 1:
            return self.d_inner
        if self.version == 4:
            return 0  # lightning attention has no convolution
        # Mamba-2: x, B, C pass the conv; gated DeltaNet (version 3): q, k, v do.
        return self.d_inner + 2 * self.n_groups * self.d_state

    @property
    def ssm_state_elements(self) -> int:
        """Recurrent state per sequence per layer (d_inner x d_state for Mamba; per value
        head a key_dim x value_dim matrix for gated DeltaNet, which is the same product)."""
        return self.d_inner * self.d_state


@dataclass(frozen=True)
class QuantSpec:
    """A pre-quantized checkpoint's ``quantization_config``, reduced to what sizes it."""

    method: str  # gptq | awq | bitsandbytes | fp8 | compressed-tensors | mxfp4 | other
    bits: float
    group_size: int | None
    precision_key: str  # the matching key of estimator.precision.PRECISIONS
    skipped_modules: tuple[str, ...] = ()
    label: str = ""


@dataclass(frozen=True)
class LayerSpec:
    """One decoder layer: its mixer, window and feed-forward kind."""

    mixer: str  # attention | ssm | cross_attention | none (an FFN-only block, Nemotron-H)
    window: int | None = None  # sliding-window size; None: sees the whole context
    moe: bool = False
    ffn: bool = True  # False for mixer-only blocks (Nemotron-H's Mamba and attention blocks)
    # An SSM block that also runs attention and caches its K/V: "shared" (Zamba2: one shared
    # attention block, counted once) or "parallel" (Falcon-H1: its own attention, side by side).
    extra_attention: str = ""


@dataclass(frozen=True)
class ModelSpec:
    """Everything the estimator needs to know about one model's structure."""

    model_type: str
    architecture: str
    hidden_size: int
    vocab_size: int
    max_context: int | None
    layers: tuple[LayerSpec, ...]
    attention: AttentionSpec
    mlp: MLPSpec | None
    moe: MoESpec | None
    ssm: SSMSpec | None
    norm: str  # rms | layer (weight + bias) | none (parameter-free, OLMo 1)
    norms_per_layer: int
    tied_embeddings: bool
    position_embeddings: int = 0  # learned absolute position rows (GPT-2, OPT)
    embed_rows_extra: int = 0  # extra embedding rows (mllama's 8 image tokens)
    extra_params: int = 0  # odd parameters outside the common pattern
    vision: VisionSpec | None = None
    quantization: QuantSpec | None = None
    checkpoint_dtype: str | None = None
    known_family: bool = True
    rotary_dim: int = 0  # dims that get RoPE per head (0: no rotary embedding)
    # Positions of each cos/sin cache a vLLM-style engine builds (one per distinct RoPE).
    rope_cache_rows: tuple[int, ...] = ()
    # The longest max_model_len vLLM accepts without VLLM_ALLOW_LONG_MAX_MODEL_LEN
    # (config/model.py _get_and_verify_max_len); None when the config states no limit.
    engine_max_context: int | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @cached_property
    def layer_groups(self) -> tuple[tuple[LayerSpec, int], ...]:
        """Distinct layers with their counts (a 61-layer model has two or three kinds)."""
        counts: dict[LayerSpec, int] = {}
        for layer in self.layers:
            counts[layer] = counts.get(layer, 0) + 1
        return tuple(counts.items())

    @cached_property
    def num_layers(self) -> int:
        return len(self.layers)

    @cached_property
    def attention_layers(self) -> int:
        return sum(1 for layer in self.layers if layer.mixer == "attention")

    @cached_property
    def sliding_layers(self) -> int:
        return sum(1 for layer in self.layers if layer.mixer == "attention" and layer.window)

    @cached_property
    def ssm_layers(self) -> int:
        return sum(1 for layer in self.layers if layer.mixer == "ssm")

    @cached_property
    def sliding_window(self) -> int | None:
        windows = [layer.window for layer in self.layers if layer.window]
        return min(windows) if windows else None


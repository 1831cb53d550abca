"""Parameter counts from a :class:`ModelSpec`, tensor group by tensor group.

Counts are kept per layer and per kind of tensor because the groups are stored
differently: engines quantize the linear layers of the blocks but usually keep
embeddings, norms and biases in 16 bits, llama.cpp picks a type per tensor name,
and pipeline parallelism splits by layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from .spec import AttentionSpec, LayerSpec, ModelSpec

__all__ = ["LayerParams", "ParamCounts", "count_params"]


@dataclass(frozen=True)
class LayerParams:
    """One block's parameters, by the tensor names llama.cpp uses to choose types."""

    attn_q: int = 0  # q (or MLA q_a/q_b) projection
    attn_k: int = 0  # k (MLA: kv_a_proj_with_mqa)
    attn_v: int = 0  # v (MLA: kv_b_proj)
    attn_o: int = 0
    ffn_gate_up: int = 0  # dense (or shared-expert) gate+up
    ffn_down: int = 0
    experts_gate_up: int = 0  # all routed experts
    experts_down: int = 0
    ssm_linear: int = 0  # Mamba in/x/dt/out projections
    small: int = 0  # norms, biases, routers, gates, sinks, conv kernels: never quantized

    @cached_property
    def linear(self) -> int:
        return (
            self.attn_q
            + self.attn_k
            + self.attn_v
            + self.attn_o
            + self.ffn_gate_up
            + self.ffn_down
            + self.experts_gate_up
            + self.experts_down
            + self.ssm_linear
        )

    @cached_property
    def total(self) -> int:
        return self.linear + self.small

    @cached_property
    def experts(self) -> int:
        return self.experts_gate_up + self.experts_down


@dataclass(frozen=True)
class ParamCounts:
    """Parameter counts of a model; the sums are cached (a sweep reads them 100 times)."""

    layers: tuple[LayerParams, ...]
    embedding: int  # token (+ position) embeddings
    lm_head: int  # 0 when tied to the embedding
    final_small: int  # final norm and other non-layer small tensors
    vision: int
    experts_per_token: int = 0
    num_experts: int = 0

    @cached_property
    def layers_total(self) -> int:
        return sum(layer.total for layer in self.layers)

    @cached_property
    def linear(self) -> int:
        return sum(layer.linear for layer in self.layers)

    @cached_property
    def total(self) -> int:
        return self.layers_total + self.embedding + self.lm_head + self.final_small + self.vision

    @cached_property
    def experts(self) -> int:
        return sum(layer.experts for layer in self.layers)

    @cached_property
    def active(self) -> int:
        """Parameters a token passes through: routed experts count k of E."""
        if not self.num_experts:
            return self.total
        routed = self.experts
        return self.total - routed + routed * self.experts_per_token // self.num_experts


def _attention(a: AttentionSpec, h: int, *, cross: bool = False) -> LayerParams:
    if a.mla is not None:
        m = a.mla
        qk = m.qk_nope_head_dim + m.qk_rope_head_dim
        if m.q_lora_rank:
            q = h * m.q_lora_rank + m.q_lora_rank * a.num_heads * qk
            small = m.q_lora_rank  # q_a_layernorm
        else:
            q = h * a.num_heads * qk
            small = 0
        k = h * (m.kv_lora_rank + m.qk_rope_head_dim)  # kv_a_proj_with_mqa
        v = m.kv_lora_rank * a.num_heads * (m.qk_nope_head_dim + m.v_head_dim)  # kv_b_proj
        o = a.num_heads * m.v_head_dim * h
        small += m.kv_lora_rank  # kv_a_layernorm
        return LayerParams(attn_q=q, attn_k=k, attn_v=v, attn_o=o, small=small)
    q_width = a.num_heads * a.head_dim
    gate = q_width if a.output_gate else 0
    k_width = a.num_kv_heads * a.head_dim
    v_width = a.num_kv_heads * a.v_head_dim
    small = 0
    if a.qkv_bias:
        small += q_width + k_width + v_width
    if a.o_bias:
        small += h
    if a.qk_norm or cross:
        small += 2 * a.head_dim
    if a.qk_norm_full:
        small += q_width + k_width
    if a.sinks:
        small += a.num_heads
    if cross:
        small += 2  # MllamaCrossAttentionDecoderLayer: cross_attn_attn_gate, cross_attn_mlp_gate
    return LayerParams(
        attn_q=h * (q_width + gate),
        attn_k=h * k_width,
        attn_v=h * v_width,
        attn_o=a.num_heads * a.v_head_dim * h,
        small=small,
    )


def _ffn(spec: ModelSpec, layer: LayerSpec) -> LayerParams:
    h = spec.hidden_size
    moe = spec.moe
    if layer.moe and moe is not None:
        e, inter = moe.num_experts, moe.expert_intermediate
        mats = 2 if moe.gated else 1
        # DeepSeek-V3's e_score_correction_bias is a buffer in transformers, not a parameter.
        small = h * e + (e if moe.router_bias else 0)
        if moe.expert_bias:
            small += e * (mats * inter + h)
        gate_up = 0
        down = 0
        if moe.shared_intermediate:
            gate_up = mats * h * moe.shared_intermediate
            down = moe.shared_intermediate * h
            if moe.shared_gate:
                small += h  # Qwen2MoeSparseMoeBlock.shared_expert_gate: Linear(h, 1, bias=False)
        return LayerParams(
            ffn_gate_up=gate_up,
            ffn_down=down,
            experts_gate_up=e * mats * h * inter,
            experts_down=e * inter * h,
            small=small,
        )
    mlp = spec.mlp
    if mlp is None:
        return LayerParams()
    inter = mlp.intermediate_size
    mats = 2 if mlp.gated else 1
    small = (mats * inter + h) if mlp.bias else 0
    return LayerParams(ffn_gate_up=mats * h * inter, ffn_down=inter * h, small=small)


def _ssm(spec: ModelSpec) -> LayerParams:
    s = spec.ssm
    assert s is not None
    h = spec.hidden_size
    if s.version == 1:
        in_proj = h * 2 * s.d_inner
        x_proj = s.d_inner * (s.dt_rank + 2 * s.d_state)
        dt_proj = s.dt_rank * s.d_inner
        out_proj = s.d_inner * h
        small = s.d_inner * s.d_conv  # depthwise conv1d kernel (llama.cpp keeps it F32)
        small += s.d_inner if s.conv_bias else 0
        small += s.d_inner  # dt_proj bias
        small += s.d_inner * s.d_state + s.d_inner  # A_log, D
        if s.proj_bias:
            small += 2 * s.d_inner + h
        if s.inner_norms:
            small += s.dt_rank + 2 * s.d_state  # Jamba dt/b/c layernorms
        return LayerParams(ssm_linear=in_proj + x_proj + dt_proj + out_proj, small=small)
    if s.version == 4:
        # MiniMaxLightningAttention: qkv_proj (3 x), output_gate, out_proj; RMSNorm of d_inner.
        return LayerParams(ssm_linear=5 * h * s.d_inner, small=s.d_inner)
    if s.version == 3:
        # Qwen3.5 GatedDeltaNet: in_proj_qkv, in_proj_z, in_proj_b, in_proj_a, out_proj;
        # conv1d without bias, dt_bias, A_log, and a gated RMSNorm of one value head.
        key_dim = s.n_groups * s.d_state
        linear = h * (2 * key_dim + 2 * s.d_inner + 2 * s.n_heads) + s.d_inner * h
        small = s.conv_dim * s.d_conv + 2 * s.n_heads + s.d_inner // s.n_heads
        return LayerParams(ssm_linear=linear, small=small)
    proj = 2 * s.d_inner + 2 * s.n_groups * s.d_state + s.n_heads
    conv = s.conv_dim
    small = conv * s.d_conv + (conv if s.conv_bias else 0) + 3 * s.n_heads
    small += s.d_inner if s.gated_norm else 0
    if s.proj_bias:
        small += proj + h
    return LayerParams(ssm_linear=h * proj + s.d_inner * h, small=small)


def _add(a: LayerParams, b: LayerParams) -> LayerParams:
    return LayerParams(
        attn_q=a.attn_q + b.attn_q,
        attn_k=a.attn_k + b.attn_k,
        attn_v=a.attn_v + b.attn_v,
        attn_o=a.attn_o + b.attn_o,
        ffn_gate_up=a.ffn_gate_up + b.ffn_gate_up,
        ffn_down=a.ffn_down + b.ffn_down,
        experts_gate_up=a.experts_gate_up + b.experts_gate_up,
        experts_down=a.experts_down + b.experts_down,
        ssm_linear=a.ssm_linear + b.ssm_linear,
        small=a.small + b.small,
    )


def count_params(spec: ModelSpec) -> ParamCounts:
    """All parameters of the model as transformers builds it (tied weights once)."""
    h = spec.hidden_size
    norm = {"rms": h, "layer": 2 * h, "none": 0}[spec.norm]
    block_norms = LayerParams(small=spec.norms_per_layer * norm)
    cache: dict[tuple[str, bool, bool, str], LayerParams] = {}
    layers = []
    for layer in spec.layers:
        key = (layer.mixer, layer.moe, layer.ffn, layer.extra_attention)
        if key not in cache:
            if layer.mixer == "ssm":
                mixer = _ssm(spec)
                if layer.extra_attention == "parallel":
                    mixer = _add(mixer, _attention(spec.attention, h))
            elif layer.mixer == "none":
                mixer = LayerParams()
            else:
                mixer = _attention(spec.attention, h, cross=layer.mixer == "cross_attention")
            ffn = _ffn(spec, layer) if layer.ffn else LayerParams()
            cache[key] = _add(_add(mixer, ffn), block_norms)
        layers.append(cache[key])
    embedding = (spec.vocab_size + spec.embed_rows_extra + spec.position_embeddings) * h
    lm_head = 0 if spec.tied_embeddings else spec.vocab_size * h
    moe = spec.moe
    return ParamCounts(
        layers=tuple(layers),
        embedding=embedding,
        lm_head=lm_head,
        final_small=norm + spec.extra_params,
        vision=spec.vision.params if spec.vision else 0,
        experts_per_token=moe.experts_per_token if moe else 0,
        num_experts=moe.num_experts if moe else 0,
    )

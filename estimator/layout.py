"""What a llama.cpp-style engine places, layer by layer: weights, routed experts, KV.

:func:`model_layout` splits one estimate's totals over the repeating layers (by each
layer's parameters and cached values), the output layer and the input embedding, so the
placement can move whole layers (or only their experts) between devices and system RAM.
"""

from __future__ import annotations

from dataclasses import dataclass

from .engines import ENGINE_PROFILES
from .gguf import GGUF_BASE_TYPE
from .kv_cache import kv_values_per_token
from .params import ParamCounts
from .precision import GGUF_TYPE_BITS
from .result import Estimate
from .spec import ModelSpec

__all__ = ["ModelLayout", "model_layout"]


@dataclass(frozen=True)
class ModelLayout:
    """Per-layer bytes of one model at one set of options (a llama.cpp view)."""

    dense: tuple[int, ...]  # weights of each repeating layer outside its routed experts
    experts: tuple[int, ...]  # routed-expert weights (ffn_*_exps) of each layer
    kv: tuple[int, ...]  # KV cache (or recurrent state) of each layer
    output: int  # output matrix + output norm (the "non-repeating" layer)
    input_cpu: int  # token embeddings, kept in host memory by llama.cpp
    projector: int  # vision tower (mmproj), loaded on the first GPU
    compute: int  # compute buffer of the device that holds the output layer
    compute_block: int  # compute buffer of a device that holds repeating layers only
    host_compute: int  # host-side compute buffer (CPU / CUDA_Host)
    largest_matrix: int  # the biggest weight matrix of one repeating layer
    ubatch: int
    vocab: int
    hidden: int

    @property
    def layers(self) -> int:
        return len(self.dense)

    def full(self, index: int) -> int:
        return self.dense[index] + self.experts[index] + self.kv[index]


def _output_bytes(spec: ModelSpec, counts: ParamCounts, precision: str, act_bytes: int) -> int:
    """Bytes of the output matrix as stored: Q6_K (Q8_0 for Q8_0 files) in a GGUF, else the
    activation dtype (gguf.py gguf_weight_bytes: the output tensor's own type rule)."""
    rows = counts.embedding if spec.tied_embeddings else counts.lm_head
    if precision in GGUF_BASE_TYPE:
        base = GGUF_BASE_TYPE[precision]
        kind = "Q8_0" if base == "Q8_0" or spec.model_type == "falcon" else "Q6_K"
        return int(rows * GGUF_TYPE_BITS[kind] / 8)
    if precision == "fp32":
        return rows * 4
    return rows * act_bytes


def model_layout(spec: ModelSpec, counts: ParamCounts, est: Estimate) -> ModelLayout:
    """Split ``est`` (an estimate of this model) into per-layer placeable parts."""
    profile = ENGINE_PROFILES[est.options.engine]
    weights = next(c for c in est.components if c.name == "weights")
    acts = next(c for c in est.components if c.name == "activations")
    kv_in = next(c for c in est.components if c.name == "kv_cache").inputs
    act_bytes = 4 if est.precision == "fp32" else 2
    output_matrix = _output_bytes(spec, counts, est.precision, act_bytes)
    output = output_matrix + counts.final_small * 4
    projector = counts.vision * 2 if counts.vision else 0
    input_cpu = int(weights.inputs.get("cpu_bytes", 0)) if profile.input_embedding_on_cpu else 0
    if spec.tied_embeddings:
        input_cpu = output_matrix  # the output keeps its own copy on the GPU
    repeating = max(est.weights_bytes - output - projector, 0)
    total_params = sum(layer.total for layer in counts.layers) or 1
    dense = tuple(
        int(repeating * (layer.total - layer.experts) / total_params) for layer in counts.layers
    )
    experts = tuple(int(repeating * layer.experts / total_params) for layer in counts.layers)
    kv = _kv_per_layer(spec, est, kv_in)
    block = int(acts.inputs.get("block_bytes", 0)) + int(
        acts.inputs.get("attention_scores_bytes", 0)
    )
    tokens = int(acts.inputs.get("tokens", 1))
    largest = 0
    for layer, params in zip(spec.layers, counts.layers, strict=False):
        width = max(params.ffn_gate_up // 2, params.ffn_down, params.attn_q, params.attn_o)
        if layer.moe and spec.moe is not None and spec.moe.num_experts:
            width = max(width, params.experts_gate_up // 2 // spec.moe.num_experts)
        largest = max(largest, width)
    per_param = repeating / max(counts.linear or total_params, 1)
    return ModelLayout(
        dense=dense,
        experts=experts,
        kv=kv,
        output=output,
        input_cpu=input_cpu,
        projector=projector,
        compute=est.activation_bytes,
        compute_block=min(block, est.activation_bytes),
        # ggml's host buffer: the input embeddings and residual of one ubatch in F32 (the
        # logs show 3 x n_ubatch x n_embd x 4 B: Llama-3-8B 24.01 MiB at ubatch 512).
        host_compute=3 * tokens * spec.hidden_size * 4,
        largest_matrix=int(largest * per_param),
        ubatch=tokens,
        vocab=spec.vocab_size,
        hidden=spec.hidden_size,
    )


def _kv_per_layer(spec: ModelSpec, est: Estimate, kv_in: dict[str, object]) -> tuple[int, ...]:
    """The estimate's KV bytes shared over the layers by what each caches."""
    state = int(kv_in.get("state_bytes", 0) or 0)  # type: ignore[call-overload]
    attention = est.kv_cache_bytes - state
    full = int(kv_in.get("tokens_per_sequence", 0) or 0)  # type: ignore[call-overload]
    sliding = kv_in.get("sliding_tokens")
    weights: list[float] = []
    for layer in spec.layers:
        values = kv_values_per_token(spec, layer, True)
        cells = int(sliding) if layer.window and sliding else full  # type: ignore[call-overload]
        weights.append(values * cells)
    total = sum(weights) or 1.0
    ssm = spec.ssm_layers
    out = []
    for layer, w in zip(spec.layers, weights, strict=True):
        share = int(attention * w / total)
        if layer.mixer == "ssm" and ssm:
            share += state // ssm
        out.append(share)
    return tuple(out)

"""The four lines of a breakdown (weights, KV cache, activations, overhead) with the formula
inputs behind each (read by :mod:`estimator.explain`), and the model summary."""

from __future__ import annotations

import dataclasses

from .kv_cache import KVEstimate
from .options import EstimateOptions
from .params import ParamCounts
from .result import Component, ModelSummary
from .spec import ModelSpec
from .stages import ActivationsPart, OverheadPart, Setup, WeightsPart

__all__ = [
    "activations_component",
    "kv_component",
    "model_summary",
    "overhead_component",
    "weights_component",
]


def weights_component(spec: ModelSpec, counts: ParamCounts, part: WeightsPart) -> Component:
    stored = part.stored
    rope = part.rope_bytes
    return Component(
        "weights",
        part.bytes,
        "params x bits per weight / 8"
        if stored.bytes_source == "config-arithmetic"
        else f"exact, from {stored.bytes_source}",
        {
            "params": stored.params,
            "precision": stored.precision.key,
            "rope_cache_bytes": rope,
            "layout_padding_bytes": part.padding_bytes,
            "cpu_bytes": part.cpu_bytes,
            "bits_per_weight": round(stored.bytes * 8 / max(stored.params, 1), 4),
            "source": stored.bytes_source,
            # For estimator.explain: the stored bytes and the parts they come from.
            "stored_bytes": stored.bytes,
            "terms": [dataclasses.asdict(t) for t in stored.terms],
            "expert_params": counts.experts,
            "rope_cache_rows": sum(spec.rope_cache_rows) if rope else 0,
            "rotary_dim": spec.rotary_dim if rope else 0,
            "rope_element_bytes": part.rope_element_bytes if rope else 0,
            "cpu_subtracted": bool(part.cpu_bytes) and not spec.tied_embeddings,
        },
    )


def kv_component(options: EstimateOptions, setup: Setup, kv: KVEstimate) -> Component:
    return Component(
        "kv_cache",
        kv.bytes,
        "batch x tokens kept x layers x kv_heads x (k_dim + v_dim) x bytes"
        + (" + SSM state" if kv.state_bytes else ""),
        {
            "batch": options.batch,
            "context": setup.context,
            "tokens_per_sequence": kv.tokens_per_sequence,
            "sliding_tokens": kv.sliding_tokens,
            "bytes_per_token": kv.bytes_per_token,
            "kv_dtype": setup.kv_dtype,
            "element_bytes": setup.element_bytes,
            "state_bytes": kv.state_bytes,
            "sliding_bytes": kv.sliding_bytes,
            "paged": setup.paged,
            "block_size": setup.block,
            # For estimator.explain: layers that cache alike, and the recurrent state.
            "terms": [dataclasses.asdict(t) for t in kv.terms],
            "state": None if kv.state is None else dataclasses.asdict(kv.state),
            "chunk_tokens": setup.chunk or setup.context,
        },
    )


def activations_component(
    options: EstimateOptions, setup: Setup, part: ActivationsPart
) -> Component:
    act, peak = part.estimate, part.vllm_profile
    return Component(
        "activations",
        act.bytes,
        "peak of one block for the tokens of one forward + logits"
        + (" + eager attention scores" if act.attention_scores_bytes else ""),
        {
            "tokens": act.tokens,
            "block_bytes": act.block_bytes,
            "attention_scores_bytes": act.attention_scores_bytes,
            "logits_bytes": act.logits_bytes,
            "flash_attention": options.flash_attention,
            "element_bytes": setup.act_bytes,
            # vLLM: the parts of its profiled peak (for estimator.explain)
            "vllm_profile": None
            if peak is None
            else {
                **dataclasses.asdict(peak),
                "block": peak.block,
                "hidden": peak.hidden,
                "logits": peak.logits,
            },
        },
    )


def overhead_component(setup: Setup, overhead: OverheadPart) -> Component:
    profile = setup.profile
    return Component(
        "overhead",
        overhead.bytes,
        "CUDA context + CUDA graphs" + (" + communication buffers" if overhead.non_torch else ""),
        {
            "cuda_context_bytes": profile.cuda_context_bytes,
            "cuda_graph_bytes": profile.cuda_graph_bytes,
            "non_torch_bytes": overhead.non_torch,
            "engine": profile.key,
        },
    )


def model_summary(
    spec: ModelSpec, counts: ParamCounts, params: int, param_source: str
) -> ModelSummary:
    a = spec.attention
    moe = spec.moe
    quant = spec.quantization
    if param_source == "config-arithmetic":
        active = counts.active
    else:
        # The checkpoint's count minus the experts a token skips; a count smaller than
        # those (a partial upload) is scaled instead, so active never goes below zero.
        inactive = counts.total - counts.active
        active = params - inactive if params >= counts.total else params * counts.active // max(
            counts.total, 1
        )
    return ModelSummary(
        model_type=spec.model_type,
        architecture=spec.architecture,
        params=params,
        active_params=active,
        param_source=param_source,
        layers=spec.num_layers,
        hidden_size=spec.hidden_size,
        attention=a.kind if spec.attention_layers else "none",
        num_attention_heads=a.num_heads,
        num_kv_heads=a.num_kv_heads,
        head_dim=a.head_dim,
        sliding_window=spec.sliding_window,
        sliding_layers=spec.sliding_layers,
        ssm_layers=spec.ssm_layers,
        experts=moe.num_experts if moe else 0,
        experts_per_token=moe.experts_per_token if moe else 0,
        max_context=spec.max_context,
        vocab_size=spec.vocab_size,
        tied_embeddings=spec.tied_embeddings,
        vision_params=counts.vision,
        pre_quantization=quant.label if quant else None,
        checkpoint_dtype=spec.checkpoint_dtype,
    )

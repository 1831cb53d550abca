"""How the memory of one replica splits over tensor- and pipeline-parallel GPUs."""

from __future__ import annotations

from dataclasses import dataclass

from .options import EstimateOptions
from .params import ParamCounts
from .result import ParallelPlan
from .spec import ModelSpec

__all__ = ["Footprint", "parallel_plan"]


@dataclass(frozen=True)
class Footprint:
    """The bytes of one replica that the split works on.

    ``replicated_weights`` are buffers every rank holds whole (the RoPE cos/sin cache);
    ``logits`` is the part of ``activations`` that every rank holds whole."""

    weights: int
    replicated_weights: int
    kv_attention: int
    kv_state: int
    activations: int
    logits: int
    overhead: int


def parallel_plan(
    spec: ModelSpec,
    counts: ParamCounts,
    options: EstimateOptions,
    bytes_: Footprint,
    warnings: list[str],
) -> ParallelPlan:
    tp, pp = options.tp, options.pipeline_parallel
    gpus = max(options.gpu_count, tp * pp)
    kv_attention, kv_state = bytes_.kv_attention, bytes_.kv_state
    if tp == 1 and pp == 1:
        per_gpu = bytes_.weights + kv_attention + kv_state + bytes_.activations + bytes_.overhead
        return ParallelPlan(
            1,
            1,
            gpus,
            per_gpu,
            (),
            (),
            (),
            kv_attention + kv_state,
            1.0,
            bytes_.weights,
            bytes_.activations,
        )
    a = spec.attention
    if a.num_heads and a.num_heads % tp:
        warnings.append(
            f"tensor parallel {tp} does not divide the {a.num_heads} attention heads; "
            "engines such as vLLM refuse this"
        )
    weights_gpu = _weights_per_gpu(counts, bytes_, tp, pp)
    kv_gpu, notes = _kv_per_gpu(spec, kv_attention, tp, pp)
    state_gpu = kv_state / pp / tp
    act_gpu = (bytes_.activations - bytes_.logits) / tp + bytes_.logits
    per_gpu = int(weights_gpu + kv_gpu + state_gpu + act_gpu + bytes_.overhead)
    return ParallelPlan(
        tensor_parallel=tp,
        pipeline_parallel=pp,
        gpus=gpus,
        per_gpu_bytes=per_gpu,
        split=("weights", "kv_cache", "activations"),
        replicated=("overhead", "logits"),
        notes=notes,
        kv_per_gpu_bytes=int(kv_gpu + state_gpu),
        kv_share=kv_gpu / kv_attention if kv_attention else 1.0 / (tp * pp),
        weights_per_gpu_bytes=int(weights_gpu),
        activations_per_gpu_bytes=int(act_gpu),
    )


def _weights_per_gpu(counts: ParamCounts, bytes_: Footprint, tp: int, pp: int) -> float:
    """PP: layers split evenly, the embedding on the first stage and the LM head on the last;
    the heavier end stage sets the per-GPU figure. TP: every matrix (and the vocab) split."""
    total = counts.total or 1
    split_weights = bytes_.weights - bytes_.replicated_weights
    outer = (counts.embedding + counts.lm_head) / total
    outer_bytes = split_weights * outer
    layer_bytes = split_weights - outer_bytes
    end_stage = (
        max(counts.embedding, counts.lm_head) / total * split_weights if pp > 1 else outer_bytes
    )
    return (layer_bytes / pp + end_stage) / tp + bytes_.replicated_weights


def _kv_per_gpu(
    spec: ModelSpec, kv_attention: int, tp: int, pp: int
) -> tuple[float, tuple[str, ...]]:
    a = spec.attention
    if a.mla is not None:
        # the MLA latent is replicated on every TP rank
        return kv_attention / pp, ("MLA latent cache is replicated on each tensor-parallel rank",)
    if a.num_kv_heads and a.num_kv_heads < tp:
        # each rank holds one (replicated) KV head
        return kv_attention / pp / a.num_kv_heads, (
            f"{a.num_kv_heads} KV heads < TP {tp}: KV heads are replicated",
        )
    return kv_attention / pp / tp, ()

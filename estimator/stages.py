"""The stages of one breakdown, each a small function passing small typed records.

:func:`estimator.breakdown.breakdown` runs them in order: weights -> setup (context, KV
dtype, the engine's scheduling knobs) -> KV cache -> activations -> overhead -> parallel
plan (:mod:`estimator.parallel`) -> engine pool -> fit. Warnings are appended to one list
in that order, so the order people read them in is the order the stages run.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import vllm_v1
from .activations import ActivationEstimate, estimate_activations
from .devices import Device
from .engines import EngineProfile
from .errors import OptionError
from .gguf import GGUF_BASE_TYPE, gguf_token_embd_bytes
from .kv_cache import KVEstimate, KVRequest, estimate_kv
from .layouts import vllm_mxfp4_moe_padding_bytes
from .options import EstimateOptions
from .params import ParamCounts
from .precision import KV_BYTES
from .spec import ModelSpec
from .weights import WeightsEstimate

__all__ = [
    "DEFAULT_CONTEXT",
    "ActivationsPart",
    "OverheadPart",
    "Setup",
    "WeightsPart",
    "activations_stage",
    "kv_stage",
    "overhead_stage",
    "setup_stage",
    "weights_stage",
]

#: Context used when none is given: a common serving length, capped by the model's limit.
DEFAULT_CONTEXT = 4096


@dataclass(frozen=True)
class WeightsPart:
    """The weights on the GPUs: the stored tensors plus the engine's buffers and padding,
    less an input embedding the engine keeps in system RAM."""

    stored: WeightsEstimate
    rope_bytes: int  # the cos/sin cache a vLLM-style engine registers
    rope_element_bytes: int
    padding_bytes: int  # vLLM's MXFP4 expert padding
    cpu_bytes: int  # the input embedding on the CPU (llama.cpp)
    bytes: int


@dataclass(frozen=True)
class Setup:
    """What the later stages share: the engine, the device that bounds a shard, and the
    request shape after the engine's defaults (context, KV dtype, blocks, chunk, seqs)."""

    profile: EngineProfile
    gpu: Device | None
    engine_version: str | None
    vllm_v1: bool  # vLLM's V1 engine (not V0)
    nvlink: bool  # no device named lacks NVLink (vLLM's communication buffers)
    act_bytes: int
    kv_dtype: str
    element_bytes: float
    context: int
    prompt: int
    paged: bool
    block: int
    chunk: int | None  # tokens of one forward (None: the whole prompt)
    seqs: int  # sequences scheduled at once


@dataclass(frozen=True)
class ActivationsPart:
    """The activation stage's result, with vLLM's profiled-peak parts when the engine profiles."""

    estimate: ActivationEstimate
    vllm_profile: vllm_v1.ProfilePeak | None  # vLLM: the parts of its profiled peak


@dataclass(frozen=True)
class OverheadPart:
    """The overhead stage's result: bytes per GPU, and the part outside torch's allocator."""

    bytes: int
    non_torch: int  # vLLM V1: communication buffers outside torch's allocator


def weights_stage(
    spec: ModelSpec,
    counts: ParamCounts,
    options: EstimateOptions,
    profile: EngineProfile,
    stored: WeightsEstimate,
    gpu: Device | None,
) -> WeightsPart:
    act_bytes = stored.precision.activation_bytes
    rope_element = 4 if profile.rope_cache_fp32 else act_bytes
    rope_bytes = 0
    if profile.rope_cache and spec.rotary_dim and spec.max_context:
        rope_bytes = sum(spec.rope_cache_rows) * spec.rotary_dim * rope_element
    padding_bytes = 0
    if profile.pads_mxfp4_experts and stored.precision.key == "mxfp4":
        arch = gpu.arch if gpu is not None else None
        padding_bytes = vllm_mxfp4_moe_padding_bytes(spec, options.tp, arch)
    on_gpu = stored.bytes + rope_bytes + padding_bytes
    cpu_bytes = 0
    if profile.input_embedding_on_cpu:
        # Never more than the weights themselves (a GGUF file smaller than its table).
        cpu_bytes = min(_token_embedding_bytes(spec, counts, stored.precision.key), stored.bytes)
        if not spec.tied_embeddings:  # tied: the output copy stays on the GPU
            on_gpu -= cpu_bytes
    return WeightsPart(stored, rope_bytes, rope_element, padding_bytes, cpu_bytes, on_gpu)


def _token_embedding_bytes(spec: ModelSpec, counts: ParamCounts, precision_key: str) -> int:
    """Bytes of the input embedding table at the weights' storage type."""
    if precision_key in GGUF_BASE_TYPE:
        return gguf_token_embd_bytes(spec, counts, precision_key)
    rows = counts.embedding
    return rows * 4 if precision_key == "fp32" else rows * 2  # F16/BF16 (quantizers skip it)


def setup_stage(
    spec: ModelSpec,
    options: EstimateOptions,
    profile: EngineProfile,
    weights: WeightsPart,
    devices: tuple[Device, ...],
    gpu: Device | None,
    engine_version: str | None,
    warnings: list[str],
) -> Setup:
    precision = weights.stored.precision
    act_bytes = precision.activation_bytes
    kv_dtype = _kv_dtype(options.kv_dtype, act_bytes, precision.key, profile, warnings)
    context = _context(spec, options, warnings)
    generated = options.generated_tokens or 0
    if generated > context:
        raise OptionError(
            f"generated_tokens ({generated:,}) cannot exceed the context ({context:,})"
        )
    chunk = options.max_num_batched_tokens or profile.chunk_tokens
    seqs = options.max_num_seqs or profile.max_num_seqs
    if profile.batch_defaults == "vllm-serve":
        # `vllm serve` sizes its batch by the GPU (arg_utils.get_batch_defaults).
        serve = vllm_v1.serve_defaults(
            gpu.memory_bytes if gpu is not None else None, gpu.name if gpu is not None else ""
        )
        chunk = options.max_num_batched_tokens or serve.max_num_batched_tokens
        seqs = options.max_num_seqs or serve.max_num_seqs
    kv_heads = options.kv_heads
    if kv_heads is not None and spec.attention.num_heads % kv_heads:
        raise OptionError(
            f"kv_heads ({kv_heads}) must divide the attention heads ({spec.attention.num_heads})"
        )
    return Setup(
        profile=profile,
        gpu=gpu,
        engine_version=engine_version,
        # GPUs without NVLink exchange tensors over PCIe, with smaller NCCL buffers.
        nvlink=not any(device.nvlink is False for device in devices),
        vllm_v1=profile.memory_profiler == "vllm-v1" and not vllm_v1.is_v0(engine_version),
        act_bytes=act_bytes,
        kv_dtype=kv_dtype,
        element_bytes=KV_BYTES[kv_dtype],
        context=context,
        prompt=max(1, context - generated),
        paged=profile.paged if options.paged_attention is None else options.paged_attention,
        block=options.block_size or profile.block_size,
        chunk=chunk,
        seqs=seqs,
    )


def _context(spec: ModelSpec, options: EstimateOptions, warnings: list[str]) -> int:
    limit = spec.max_context
    context = options.context or min(limit or DEFAULT_CONTEXT, DEFAULT_CONTEXT)
    if limit and context > limit:
        if spec.position_embeddings:
            consequence = "it has learned positions for only that many and cannot run longer"
        else:
            consequence = "quality may degrade unless RoPE scaling is configured"
        warnings.append(
            f"context {context:,} is beyond the model's trained limit of {limit:,} tokens; "
            + consequence
        )
    return context


def _kv_dtype(
    requested: str,
    act_bytes: int,
    precision_key: str,
    profile: EngineProfile,
    warnings: list[str],
) -> str:
    if requested == "auto":
        if act_bytes == 4:
            return "fp32"
        return "fp16" if precision_key == "fp16" else "bf16"
    gguf_engine = profile.runtime == "ggml"
    if requested in ("q8_0", "q4_0") and not gguf_engine:
        warnings.append(f"KV cache type {requested} exists only in llama.cpp")
    if requested == "fp8" and gguf_engine:
        warnings.append("llama.cpp has no fp8 KV cache; use q8_0 or q4_0")
    return requested


def kv_stage(
    spec: ModelSpec, options: EstimateOptions, setup: Setup, warnings: list[str]
) -> KVEstimate:
    profile = setup.profile
    request = KVRequest(
        batch=options.batch,
        context=setup.context,
        element_bytes=setup.element_bytes,
        block_size=setup.block if setup.paged else 1,
        paged=setup.paged,
        chunk=setup.chunk or setup.context,
        activation_bytes=setup.act_bytes,
        kv_heads=options.kv_heads,
        flash_attention=options.flash_attention,
        swa_full=options.swa_full,
    )
    kv = estimate_kv(spec, profile, request)
    if options.swa_full and spec.sliding_layers and profile.window_keep != "cells":
        warnings.append("a full-size sliding-window cache (swa_full) is a llama.cpp option")
    return kv


def activations_stage(
    spec: ModelSpec,
    options: EstimateOptions,
    setup: Setup,
    precision_key: str,
    warnings: list[str],
) -> ActivationsPart:
    profile, seqs = setup.profile, setup.seqs
    if not options.flash_attention and not profile.honours_flash_toggle:
        warnings.append(
            f"{profile.label} always uses fused attention kernels; FlashAttention off has no effect"
        )
    act = estimate_activations(
        spec,
        profile,
        batch=options.batch,
        prompt=setup.prompt,
        context=setup.context,
        act_bytes=setup.act_bytes,
        flash_attention=options.flash_attention,
        chunk_tokens=setup.chunk,
        max_num_seqs=seqs,
    )
    peak: vllm_v1.ProfilePeak | None = None
    if profile.memory_profiler == "vllm-v1":
        act, peak = _vllm_activations(spec, options, setup, act, precision_key)
    if profile.logits_rows == "max_num_seqs":
        if options.batch > seqs:
            warnings.append(
                f"{profile.label} schedules at most {seqs:,} sequences at once "
                f"(max_num_seqs); the other {options.batch - seqs:,} requests wait"
            )
    elif options.max_num_seqs is not None:
        warnings.append(f"max_num_seqs is a vLLM/SGLang setting; {profile.label} ignores it")
    return ActivationsPart(act, peak)


def _vllm_activations(
    spec: ModelSpec,
    options: EstimateOptions,
    setup: Setup,
    act: ActivationEstimate,
    precision_key: str,
) -> tuple[ActivationEstimate, vllm_v1.ProfilePeak]:
    """vLLM's profiled peak on one GPU of the last stage (the forward or the sampler, the
    larger; vllm_v1.profile_peak), and its parts. Returned as if it were all logits, which
    the parallel plan keeps whole on every GPU, because the split is already applied."""
    version = setup.engine_version
    tokens = setup.chunk or setup.context
    parts = vllm_v1.profile_peak(
        spec,
        tokens=tokens,
        rows=max(setup.seqs, options.batch) if vllm_v1.is_v0(version) else setup.seqs,
        act_bytes=setup.act_bytes,
        tp=options.tp,
        version=version,
        mxfp4_experts=precision_key == "mxfp4",
    )
    peak = parts.peak
    return ActivationEstimate(
        bytes=peak,
        tokens=tokens,
        block_bytes=act.block_bytes,
        attention_scores_bytes=0,
        logits_bytes=peak,
    ), parts


def overhead_stage(options: EstimateOptions, setup: Setup) -> OverheadPart:
    """CUDA context and graphs, and vLLM V1's memory outside torch."""
    profile = setup.profile
    non_torch = 0
    if setup.vllm_v1:
        non_torch = vllm_v1.non_torch_bytes(
            options.tp, options.pipeline_parallel, setup.engine_version, nvlink=setup.nvlink
        )
    return OverheadPart(
        profile.cuda_context_bytes + profile.cuda_graph_bytes + non_torch, non_torch
    )

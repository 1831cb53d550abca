"""Put the parts together: one model, one set of options, one breakdown.

``estimate`` parses the config and then calls ``estimate_spec``; the planning
helpers (sweeps, fit solvers, GPU ranking) call ``breakdown`` directly with a
parsed spec and its parameter counts, so a 100-point chart costs no re-parsing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from . import vllm_v1
from .activations import ActivationEstimate, estimate_activations
from .devices import Device, resolve_devices
from .engines import ENGINE_PROFILES
from .errors import ConfigError, OptionError
from .gguf import GGUF_BASE_TYPE, gguf_token_embd_bytes
from .kv_cache import estimate_kv
from .layouts import vllm_mxfp4_moe_padding_bytes
from .options import EstimateOptions
from .params import ParamCounts, count_params
from .precision import KV_BYTES
from .result import (
    Component,
    Estimate,
    GpuFit,
    ModelSummary,
    ParallelPlan,
    WeightMetadata,
)
from .spec import ModelSpec, parse_config
from .values import MAX_PARAMS, describe_number
from .weights import estimate_weights

__all__ = ["DEFAULT_CONTEXT", "breakdown", "estimate", "estimate_spec", "prepare"]

#: Context used when none is given: a common serving length, capped by the model's limit.
DEFAULT_CONTEXT = 4096
#: Largest GPU count the recommendation searches (a rack of 8-GPU nodes).
MAX_RECOMMENDED_GPUS = 64


def prepare(config: Mapping[str, Any], options: EstimateOptions) -> tuple[ModelSpec, ParamCounts]:
    """Parse the config and apply the options that change the model (layers to run)."""
    spec = parse_config(config)
    if options.layers is not None:
        if options.layers > spec.num_layers:
            raise OptionError(
                f"layers ({options.layers}) is more than the model has ({spec.num_layers})"
            )
        spec = dataclasses.replace(spec, layers=spec.layers[: options.layers])
    counts = count_params(spec)
    if counts.total > MAX_PARAMS:
        part = max(
            ("the vision tower", counts.vision),
            ("the embeddings", counts.embedding + counts.lm_head),
            ("the layers", counts.layers_total),
            key=lambda item: item[1],
        )[0]
        raise ConfigError(
            f"config.json describes {describe_number(counts.total)} parameters, mostly in "
            f"{part}: a size in it is out of range (no model has more than "
            f"{describe_number(MAX_PARAMS)})"
        )
    return spec, counts


def estimate(
    config: Mapping[str, Any],
    options: EstimateOptions | None = None,
    metadata: WeightMetadata | None = None,
    *,
    engine_version: str | None = None,
) -> Estimate:
    """Memory needed to serve the model of ``config`` with ``options``.

    ``engine_version`` picks an older engine release to model (e.g. "0.15.1", or "v0" for
    vLLM's V0 engine), for checking published logs; None models the newest release."""
    options = options or EstimateOptions()
    spec, counts = prepare(config, options)
    return estimate_spec(spec, counts, options, metadata, engine_version=engine_version)


def estimate_spec(
    spec: ModelSpec,
    counts: ParamCounts,
    options: EstimateOptions,
    metadata: WeightMetadata | None = None,
    *,
    engine_version: str | None = None,
) -> Estimate:
    """Full estimate (with GPU fit and recommendation) for a parsed spec."""
    result = breakdown(spec, counts, options, metadata, engine_version=engine_version)
    devices = hardware_devices(options)
    if not devices:
        return result
    from .hardware import plan_hardware  # builds on breakdown; imported here to avoid a cycle

    placement, speed = plan_hardware(spec, counts, options, metadata, result, devices)
    result = dataclasses.replace(result, placement=placement, speed=speed)
    if len(devices) > 1 or devices[0].kind in ("custom", "cpu"):
        return result  # "more of the same GPU" answers neither a mixed set nor a custom card
    from .planning import recommend  # planning builds on breakdown; import here avoids a cycle

    return dataclasses.replace(result, recommendation=recommend(spec, counts, options, metadata))


def hardware_devices(options: EstimateOptions) -> tuple[Device, ...]:
    """The devices ``options`` names: a catalog list (``gpu``) and/or a custom GPU."""
    return resolve_devices(
        options.gpu, options.gpu_memory_bytes, options.gpu_bandwidth_gbs, options.wired_limit_mb
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
    requested: str, act_bytes: int, precision_key: str, engine: str, warnings: list[str]
) -> str:
    if requested == "auto":
        if act_bytes == 4:
            return "fp32"
        return "fp16" if precision_key == "fp16" else "bf16"
    gguf_engine = engine in ("llama.cpp", "ollama")
    if requested in ("q8_0", "q4_0") and not gguf_engine:
        warnings.append(f"KV cache type {requested} exists only in llama.cpp")
    if requested == "fp8" and gguf_engine:
        warnings.append("llama.cpp has no fp8 KV cache; use q8_0 or q4_0")
    return requested


def breakdown(
    spec: ModelSpec,
    counts: ParamCounts,
    options: EstimateOptions,
    metadata: WeightMetadata | None = None,
    *,
    engine_version: str | None = None,
) -> Estimate:
    """Weights, KV cache, activations, overhead, per-GPU split and GPU fit (no recommendation)."""
    warnings = list(spec.warnings)
    profile = ENGINE_PROFILES[options.engine]
    weights = estimate_weights(spec, counts, options.precision, options.group_size, metadata)
    warnings.extend(weights.notes)
    precision = weights.precision
    act_bytes = precision.activation_bytes
    rope_bytes = 0
    if profile.rope_cache and spec.rotary_dim and spec.max_context:
        rope_element = 4 if profile.rope_cache_fp32 else act_bytes
        rope_bytes = sum(spec.rope_cache_rows) * spec.rotary_dim * rope_element
    devices = hardware_devices(options)
    # The smallest device bounds equal tensor-parallel shards (and is the only one when
    # a single GPU is given); placements over mixed devices are in estimator.placement.
    gpu = min(devices, key=lambda d: d.usable_bytes) if devices else None
    if gpu is not None and gpu.memory_bytes == 0:
        gpu = None  # a CPU-only machine: no GPU fit; its RAM is placed (estimator.placement)
    padding_bytes = 0
    if profile.pads_mxfp4_experts and precision.key == "mxfp4":
        arch = gpu.arch if gpu is not None else None
        padding_bytes = vllm_mxfp4_moe_padding_bytes(spec, options.tp, arch)
    weights_bytes = weights.bytes + rope_bytes + padding_bytes
    cpu_bytes = 0
    if profile.input_embedding_on_cpu:
        # Never more than the weights themselves (a GGUF file smaller than its table).
        cpu_bytes = min(_token_embedding_bytes(spec, counts, weights.precision.key), weights.bytes)
        if not spec.tied_embeddings:  # tied: the output copy stays on the GPU
            weights_bytes -= cpu_bytes
    kv_dtype = _kv_dtype(options.kv_dtype, act_bytes, precision.key, options.engine, warnings)
    element = KV_BYTES[kv_dtype]

    context = _context(spec, options, warnings)
    generated = options.generated_tokens or 0
    if generated > context:
        raise OptionError(
            f"generated_tokens ({generated:,}) cannot exceed the context ({context:,})"
        )
    prompt = max(1, context - generated)
    paged = profile.paged if options.paged_attention is None else options.paged_attention
    block = options.block_size or profile.block_size
    chunk = options.max_num_batched_tokens or profile.chunk_tokens
    seqs = options.max_num_seqs or profile.max_num_seqs
    vllm_v1_engine = profile.key == "vllm" and not vllm_v1.is_v0(engine_version)
    if profile.key == "vllm":
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
    kv = estimate_kv(
        spec,
        profile,
        batch=options.batch,
        context=context,
        element_bytes=element,
        block_size=block if paged else 1,
        paged=paged,
        chunk=chunk or context,
        activation_bytes=act_bytes,
        kv_heads=kv_heads,
        flash_attention=options.flash_attention,
        swa_full=options.swa_full,
    )
    if options.swa_full and spec.sliding_layers and profile.window_keep != "llama.cpp":
        warnings.append("a full-size sliding-window cache (swa_full) is a llama.cpp option")
    flash = options.flash_attention
    if not flash and not profile.honours_flash_toggle:
        warnings.append(
            f"{profile.label} always uses fused attention kernels; FlashAttention off has no effect"
        )
    act = estimate_activations(
        spec,
        profile,
        batch=options.batch,
        prompt=prompt,
        context=context,
        act_bytes=act_bytes,
        flash_attention=flash,
        chunk_tokens=chunk,
        max_num_seqs=seqs,
    )
    vllm_profile: vllm_v1.ProfilePeak | None = None
    if profile.key == "vllm":
        tokens = chunk or context
        act, vllm_profile = _vllm_activations(
            spec, options, act, tokens, seqs, act_bytes, precision.key, engine_version
        )
    if profile.logits_rows == "max_num_seqs":
        if options.batch > seqs:
            warnings.append(
                f"{profile.label} schedules at most {seqs:,} sequences at once "
                f"(max_num_seqs); the other {options.batch - seqs:,} requests wait"
            )
    elif options.max_num_seqs is not None:
        warnings.append(f"max_num_seqs is a vLLM/SGLang setting; {profile.label} ignores it")
    non_torch = 0
    if vllm_v1_engine:
        # GPUs without NVLink exchange tensors over PCIe, with smaller NCCL buffers.
        nvlink = not any(device.nvlink is False for device in devices)
        non_torch = vllm_v1.non_torch_bytes(
            options.tp, options.pipeline_parallel, engine_version, nvlink=nvlink
        )
    overhead = profile.cuda_context_bytes + profile.cuda_graph_bytes + non_torch
    total = weights_bytes + kv.bytes + act.bytes + overhead

    parallel = _parallel_plan(
        spec,
        counts,
        options,
        weights_bytes,
        rope_bytes,
        kv.attention_bytes,
        kv.state_bytes,
        act.bytes,
        act.logits_bytes,
        overhead,
        warnings,
    )
    fit = None
    reserved = None
    kv_capacity: int | None = None
    concurrency: float | None = None
    if gpu is not None:
        usable = int(gpu.usable_bytes * (1 - options.headroom))
        if profile.reserves_fraction:
            reserved = int(gpu.memory_bytes * options.gpu_memory_utilization)
            usable = min(usable, reserved)
        per_gpu = parallel.per_gpu_bytes
        if reserved is not None:
            # The pool is what the reservation leaves after weights, the profiled activation
            # peak and the CUDA context. CUDA graphs are captured after the pool is sized
            # (vLLM: compile_or_warm_up_model runs after initialize_kv_cache; SGLang keeps
            # them in the 1 - mem_fraction_static share), so they do not shrink it.
            held = parallel.per_gpu_bytes - parallel.kv_per_gpu_bytes - profile.cuda_graph_bytes
            if profile.pool_before_activations:
                held -= parallel.activations_per_gpu_bytes
            available = reserved - held
            capacity = _engine_kv_capacity(
                spec, parallel, available, kv.bytes_per_token, block if paged else 1
            )
            start = None
            if vllm_v1_engine:
                # V1 measures from the snapshot taken after the CUDA context was created, so
                # the pool is the budget less weights, the profiled peak and the non-torch
                # memory the profile added (gpu_worker.determine_available_memory).
                start = vllm_v1.startup(
                    spec,
                    total_bytes=gpu.memory_bytes,
                    utilization=options.gpu_memory_utilization,
                    weights=parallel.weights_per_gpu_bytes,
                    activation=parallel.activations_per_gpu_bytes,
                    non_torch=non_torch,
                    max_model_len=context,
                    limit=context,
                    batched_tokens=chunk or context,
                    element_bytes=element,
                    tp=options.tp,
                    pp=options.pipeline_parallel,
                    block_size=block if paged else 1,
                )
            if start is not None and start.concurrency is not None:
                # kv_cache_utils: blocks per group and per request, as vLLM logs them.
                kv_capacity, concurrency = start.tokens, round(start.concurrency, 2)
            elif capacity is not None:
                kv_capacity, concurrency = capacity, round(capacity / context, 2)
            elif parallel.kv_per_gpu_bytes:
                # Sliding and recurrent layers: a request costs what it keeps (window, state),
                # so count whole requests of this context in the pool.
                per_request = parallel.kv_per_gpu_bytes / options.batch
                concurrency = round(max(available, 0) / per_request, 2)
            if concurrency is not None and concurrency < 1:
                # vLLM checks this at start-up (kv_cache_utils check_enough_kv_cache_memory:
                # "To serve at least one request with the models's max seq len ...").
                warnings.append(
                    f"{profile.label} would refuse to start: its KV pool holds less than one "
                    f"request of {context:,} tokens; lower the context (max_model_len), raise "
                    "gpu_memory_utilization or add GPUs"
                )
        if vllm_v1_engine and reserved is not None:
            # V1 budgets from the snapshot after the CUDA context, and captures CUDA graphs
            # after the pool is sized: both live outside gpu_memory_utilization.
            outside = profile.cuda_context_bytes + profile.cuda_graph_bytes
            usable = min(gpu.memory_bytes, reserved + outside)
        fits = per_gpu <= usable
        fit = GpuFit(
            gpu=gpu.key,
            gpu_name=gpu.name,
            capacity_bytes=gpu.memory_bytes,
            usable_bytes=usable,
            per_gpu_bytes=per_gpu,
            fits=fits,
            utilization=per_gpu / gpu.memory_bytes,
        )

    components = (
        Component(
            "weights",
            weights_bytes,
            "params x bits per weight / 8"
            if weights.bytes_source == "config-arithmetic"
            else f"exact, from {weights.bytes_source}",
            {
                "params": weights.params,
                "precision": precision.key,
                "rope_cache_bytes": rope_bytes,
                "layout_padding_bytes": padding_bytes,
                "cpu_bytes": cpu_bytes,
                "bits_per_weight": round(weights.bytes * 8 / max(weights.params, 1), 4),
                "source": weights.bytes_source,
                # For estimator.explain: the stored bytes and the parts they come from.
                "stored_bytes": weights.bytes,
                "terms": [dataclasses.asdict(t) for t in weights.terms],
                "expert_params": counts.experts,
                "rope_cache_rows": sum(spec.rope_cache_rows) if rope_bytes else 0,
                "rotary_dim": spec.rotary_dim if rope_bytes else 0,
                "rope_element_bytes": (4 if profile.rope_cache_fp32 else act_bytes)
                if rope_bytes
                else 0,
                "cpu_subtracted": bool(cpu_bytes) and not spec.tied_embeddings,
            },
        ),
        Component(
            "kv_cache",
            kv.bytes,
            "batch x tokens kept x layers x kv_heads x (k_dim + v_dim) x bytes"
            + (" + SSM state" if kv.state_bytes else ""),
            {
                "batch": options.batch,
                "context": context,
                "tokens_per_sequence": kv.tokens_per_sequence,
                "sliding_tokens": kv.sliding_tokens,
                "bytes_per_token": kv.bytes_per_token,
                "kv_dtype": kv_dtype,
                "element_bytes": element,
                "state_bytes": kv.state_bytes,
                "sliding_bytes": kv.sliding_bytes,
                "paged": paged,
                "block_size": block,
                # For estimator.explain: layers that cache alike, and the recurrent state.
                "terms": [dataclasses.asdict(t) for t in kv.terms],
                "state": None if kv.state is None else dataclasses.asdict(kv.state),
                "chunk_tokens": chunk or context,
            },
        ),
        Component(
            "activations",
            act.bytes,
            "peak of one block for the tokens of one forward + logits"
            + (" + eager attention scores" if act.attention_scores_bytes else ""),
            {
                "tokens": act.tokens,
                "block_bytes": act.block_bytes,
                "attention_scores_bytes": act.attention_scores_bytes,
                "logits_bytes": act.logits_bytes,
                "flash_attention": flash,
                "element_bytes": act_bytes,
                # vLLM: the parts of its profiled peak (for estimator.explain)
                "vllm_profile": None
                if vllm_profile is None
                else {
                    **dataclasses.asdict(vllm_profile),
                    "block": vllm_profile.block,
                    "hidden": vllm_profile.hidden,
                    "logits": vllm_profile.logits,
                },
            },
        ),
        Component(
            "overhead",
            overhead,
            "CUDA context + CUDA graphs" + (" + communication buffers" if non_torch else ""),
            {
                "cuda_context_bytes": profile.cuda_context_bytes,
                "cuda_graph_bytes": profile.cuda_graph_bytes,
                "non_torch_bytes": non_torch,
                "engine": profile.key,
            },
        ),
    )
    summary = _summary(spec, counts, weights.params, weights.param_source)
    return Estimate(
        model=summary,
        options=options,
        precision=precision.key,
        kv_dtype=kv_dtype,
        context=context,
        weights_bytes=weights_bytes,
        kv_cache_bytes=kv.bytes,
        kv_bytes_per_token=kv.bytes_per_token,
        activation_bytes=act.bytes,
        overhead_bytes=overhead,
        total_bytes=total,
        components=components,
        parallel=parallel,
        fit=fit,
        recommendation=None,
        engine_reserved_bytes=reserved,
        engine_kv_capacity_tokens=kv_capacity,
        engine_max_concurrency=concurrency,
        warnings=tuple(warnings),
    )


def _vllm_activations(
    spec: ModelSpec,
    options: EstimateOptions,
    act: ActivationEstimate,
    tokens: int,
    rows: int,
    act_bytes: int,
    precision_key: str,
    engine_version: str | None,
) -> tuple[ActivationEstimate, vllm_v1.ProfilePeak]:
    """vLLM's profiled peak on one GPU of the last stage (the forward or the sampler, the
    larger; vllm_v1.profile_peak), and its parts. Returned as if it were all logits, which
    the parallel plan keeps whole on every GPU, because the split is already applied."""
    parts = vllm_v1.profile_peak(
        spec,
        tokens=tokens,
        rows=max(rows, options.batch) if vllm_v1.is_v0(engine_version) else rows,
        act_bytes=act_bytes,
        tp=options.tp,
        version=engine_version,
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


def _token_embedding_bytes(spec: ModelSpec, counts: ParamCounts, precision_key: str) -> int:
    """Bytes of the input embedding table at the weights' storage type."""
    if precision_key in GGUF_BASE_TYPE:
        return gguf_token_embd_bytes(spec, counts, precision_key)
    rows = counts.embedding
    return rows * 4 if precision_key == "fp32" else rows * 2  # F16/BF16 (quantizers skip it)


def _engine_kv_capacity(
    spec: ModelSpec, parallel: ParallelPlan, available: int, bytes_per_token: int, block: int
) -> int | None:
    """Tokens the engine's KV pool holds: ``available`` is what its reservation leaves after
    weights, activations and overhead; it is cut in whole blocks (vLLM gpu_worker
    determine_available_memory, kv_cache_utils get_num_blocks). Only for models whose every
    layer caches every token: sliding and recurrent layers are grouped differently."""
    if spec.sliding_layers or spec.ssm_layers or not bytes_per_token:
        return None
    per_block = bytes_per_token * parallel.kv_share * block
    if available <= 0 or per_block <= 0:
        return 0
    return int(available // per_block) * block


def _parallel_plan(
    spec: ModelSpec,
    counts: ParamCounts,
    options: EstimateOptions,
    weights: int,
    replicated_weights: int,
    kv_attention: int,
    kv_state: int,
    activations: int,
    logits: int,
    overhead: int,
    warnings: list[str],
) -> ParallelPlan:
    tp, pp = options.tp, options.pipeline_parallel
    gpus = max(options.gpu_count, tp * pp)
    if tp == 1 and pp == 1:
        per_gpu = weights + kv_attention + kv_state + activations + overhead
        return ParallelPlan(
            1, 1, gpus, per_gpu, (), (), (), kv_attention + kv_state, 1.0, weights, activations
        )
    notes = []
    a = spec.attention
    if a.num_heads and a.num_heads % tp:
        warnings.append(
            f"tensor parallel {tp} does not divide the {a.num_heads} attention heads; "
            "engines such as vLLM refuse this"
        )
    total = counts.total or 1
    # Buffers every rank holds whole (the RoPE cos/sin cache) are not split.
    split_weights = weights - replicated_weights
    outer = (counts.embedding + counts.lm_head) / total
    outer_bytes = split_weights * outer
    layer_bytes = split_weights - outer_bytes
    # PP: layers split evenly, the embedding on the first stage and the LM head on the last;
    # the heavier end stage sets the per-GPU figure. TP: every matrix (and the vocab) split.
    end_stage = (
        max(counts.embedding, counts.lm_head) / total * split_weights if pp > 1 else outer_bytes
    )
    weights_gpu = (layer_bytes / pp + end_stage) / tp + replicated_weights
    if a.mla is not None:
        kv_gpu = kv_attention / pp  # the MLA latent is replicated on every TP rank
        notes.append("MLA latent cache is replicated on each tensor-parallel rank")
    elif a.num_kv_heads and a.num_kv_heads < tp:
        kv_gpu = kv_attention / pp / a.num_kv_heads  # each rank holds one (replicated) KV head
        notes.append(f"{a.num_kv_heads} KV heads < TP {tp}: KV heads are replicated")
    else:
        kv_gpu = kv_attention / pp / tp
    state_gpu = kv_state / pp / tp
    act_gpu = (activations - logits) / tp + logits
    per_gpu = int(weights_gpu + kv_gpu + state_gpu + act_gpu + overhead)
    return ParallelPlan(
        tensor_parallel=tp,
        pipeline_parallel=pp,
        gpus=gpus,
        per_gpu_bytes=per_gpu,
        split=("weights", "kv_cache", "activations"),
        replicated=("overhead", "logits"),
        notes=tuple(notes),
        kv_per_gpu_bytes=int(kv_gpu + state_gpu),
        kv_share=kv_gpu / kv_attention if kv_attention else 1.0 / (tp * pp),
        weights_per_gpu_bytes=int(weights_gpu),
        activations_per_gpu_bytes=int(act_gpu),
    )


def _summary(spec: ModelSpec, counts: ParamCounts, params: int, param_source: str) -> ModelSummary:
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

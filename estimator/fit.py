"""The last stages of a breakdown: the engine's KV pool and whether the GPU holds it all."""

from __future__ import annotations

from dataclasses import dataclass

from . import vllm_v1
from .kv_cache import KVEstimate
from .options import EstimateOptions
from .result import GpuFit, ParallelPlan
from .spec import ModelSpec
from .stages import OverheadPart, Setup

__all__ = ["EnginePool", "fit_stage", "pool_stage"]


@dataclass(frozen=True)
class EnginePool:
    """What an engine that reserves a fraction of the GPU (vLLM, SGLang) does with it."""

    reserved: int | None = None  # bytes of gpu_memory_utilization x memory
    kv_capacity: int | None = None  # tokens its KV pool holds
    concurrency: float | None = None  # requests of this context the pool holds at once


def pool_stage(
    spec: ModelSpec,
    options: EstimateOptions,
    setup: Setup,
    parallel: ParallelPlan,
    kv: KVEstimate,
    overhead: OverheadPart,
    warnings: list[str],
) -> EnginePool:
    gpu, profile = setup.gpu, setup.profile
    if gpu is None or not profile.reserves_fraction:
        return EnginePool()
    reserved = int(gpu.memory_bytes * options.gpu_memory_utilization)
    # The pool is what the reservation leaves after weights, the profiled activation peak
    # and the CUDA context. CUDA graphs are captured after the pool is sized (vLLM:
    # compile_or_warm_up_model runs after initialize_kv_cache; SGLang keeps them in the
    # 1 - mem_fraction_static share), so they do not shrink it.
    held = parallel.per_gpu_bytes - parallel.kv_per_gpu_bytes - profile.cuda_graph_bytes
    if profile.pool_before_activations:
        held -= parallel.activations_per_gpu_bytes
    available = reserved - held
    block = setup.block if setup.paged else 1
    capacity = _engine_kv_capacity(spec, parallel, available, kv.bytes_per_token, block)
    start = _vllm_start(spec, options, setup, parallel, overhead) if setup.vllm_v1 else None
    kv_capacity: int | None = None
    concurrency: float | None = None
    if start is not None and start.concurrency is not None:
        # kv_cache_utils: blocks per group and per request, as vLLM logs them.
        kv_capacity, concurrency = start.tokens, round(start.concurrency, 2)
    elif capacity is not None:
        kv_capacity, concurrency = capacity, round(capacity / setup.context, 2)
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
            f"request of {setup.context:,} tokens; lower the context (max_model_len), raise "
            "gpu_memory_utilization or add GPUs"
        )
    return EnginePool(reserved, kv_capacity, concurrency)


def _vllm_start(
    spec: ModelSpec,
    options: EstimateOptions,
    setup: Setup,
    parallel: ParallelPlan,
    overhead: OverheadPart,
) -> vllm_v1.Startup:
    """V1 measures from the snapshot taken after the CUDA context was created, so the pool
    is the budget less weights, the profiled peak and the non-torch memory the profile
    added (gpu_worker.determine_available_memory)."""
    assert setup.gpu is not None
    return vllm_v1.startup(
        spec,
        total_bytes=setup.gpu.memory_bytes,
        utilization=options.gpu_memory_utilization,
        weights=parallel.weights_per_gpu_bytes,
        activation=parallel.activations_per_gpu_bytes,
        non_torch=overhead.non_torch,
        max_model_len=setup.context,
        limit=setup.context,
        batched_tokens=setup.chunk or setup.context,
        element_bytes=setup.element_bytes,
        tp=options.tp,
        pp=options.pipeline_parallel,
        block_size=setup.block if setup.paged else 1,
    )


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


def fit_stage(
    options: EstimateOptions, setup: Setup, parallel: ParallelPlan, pool: EnginePool
) -> GpuFit | None:
    """Whether the per-GPU need fits what the engine may use of the GPU."""
    gpu = setup.gpu
    if gpu is None:
        return None
    usable = int(gpu.usable_bytes * (1 - options.headroom))
    if pool.reserved is not None:
        usable = min(usable, pool.reserved)
        if setup.vllm_v1:
            # V1 budgets from the snapshot after the CUDA context, and captures CUDA graphs
            # after the pool is sized: both live outside gpu_memory_utilization.
            outside = setup.profile.cuda_context_bytes + setup.profile.cuda_graph_bytes
            usable = min(gpu.memory_bytes, pool.reserved + outside)
    per_gpu = parallel.per_gpu_bytes
    return GpuFit(
        gpu=gpu.key,
        gpu_name=gpu.name,
        capacity_bytes=gpu.memory_bytes,
        usable_bytes=usable,
        per_gpu_bytes=per_gpu,
        fits=per_gpu <= usable,
        utilization=per_gpu / gpu.memory_bytes,
    )

"""The memory checks at start-up, one per ``StartupRules.check`` (estimator.engines); each
engine's wording and its source are listed in estimator.launch_checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import vllm_v1
from .breakdown import breakdown, hardware_devices
from .engines import EngineProfile, StartupCheck
from .errors import EstimatorError
from .estimate import estimate_spec
from .hardware import plan_hardware
from .launch_checks import (
    Judgement,
    Problem,
    Setup,
    gib,
    static_problems,
    total_bytes,
    vllm_start,
)
from .options import EstimateOptions
from .params import ParamCounts
from .result import Estimate, WeightMetadata
from .spec import ModelSpec

__all__ = ["judge"]

MIB = 1024**2


@dataclass(frozen=True)
class _Case:
    """One judgement's inputs."""

    spec: ModelSpec
    counts: ParamCounts
    setup: Setup
    est: Estimate
    meta: WeightMetadata | None
    problems: list[Problem]  # the static checks' findings


def _profiled_pool(c: _Case) -> Judgement:
    """vLLM V1: the profile run, then the KV pool from what the reservation leaves."""
    spec, setup, est, problems = c.spec, c.setup, c.est, list(c.problems)
    o = setup.options
    warnings: list[str] = []
    chunk = int(est.components[2].inputs["tokens"])
    seqs = o.max_num_seqs
    major, minor = vllm_v1.release(setup.engine_version)[:2]
    assumptions = [
        f"vLLM V1 (`vllm serve`, release {major}.{minor}): max_num_batched_tokens {chunk:,}"
        + (f", max_num_seqs {seqs:,}" if seqs else "")
        + ", block size 16"
    ]
    total = total_bytes(setup, est)
    if total is None:
        return Judgement(problems, warnings, spec.engine_max_context, None, False, assumptions)
    derived = spec.engine_max_context or est.context
    limit = max(derived, est.context) if setup.allow_long_context else derived
    start = vllm_start(spec, setup, est, total, limit)
    per_gpu_weights = est.parallel.weights_per_gpu_bytes
    if per_gpu_weights > total:
        problems.append(
            Problem(
                "weights_oom",
                f"CUDA out of memory while loading the weights: {gib(per_gpu_weights)} GiB per "
                f"GPU, and the GPU has {gib(total)} GiB (torch.OutOfMemoryError in "
                "load_model).",
            )
        )
    elif start.available <= 0:
        problems.append(
            Problem(
                "no_kv_memory",
                "No available memory for the cache blocks. Try increasing "
                "`gpu_memory_utilization` when initializing the engine. (Available KV cache "
                f"memory: {gib(start.available)} GiB: {gib(start.budget)} GiB budget - "
                f"{gib(start.weights)} GiB weights - {gib(start.activation)} GiB activation "
                f"peak - {gib(start.non_torch)} GiB non-torch)",
            )
        )
    elif start.needed is not None and start.needed > start.available:
        estimated = start.max_model_len or 0
        hint = (
            f"Based on the available memory, the estimated maximum model length is {estimated}. "
            if estimated > 0
            else ""
        )
        problems.append(
            Problem(
                "kv_cache_too_small",
                f"To serve at least one request with the models's max seq len ({est.context}), "
                f"({gib(start.needed)} GiB KV cache is needed, which is larger than the "
                f"available KV cache memory ({gib(start.available)} GiB). {hint}Try "
                "increasing `gpu_memory_utilization` or decreasing `max_model_len` when "
                "initializing the engine.",
            )
        )
    headroom = total - start.budget
    graphs = 0 if o.enforce_eager else vllm_v1.CUDA_GRAPH_BYTES
    if headroom < vllm_v1.CUDA_CONTEXT_BYTES + graphs:
        warnings.append(
            f"only {gib(headroom)} GiB stays outside gpu_memory_utilization "
            f"{o.gpu_memory_utilization:g}, less than the CUDA context "
            f"({gib(vllm_v1.CUDA_CONTEXT_BYTES)} GiB) and CUDA graphs ({gib(graphs)} GiB) "
            "vLLM allocates there: the start may fail with CUDA out of memory during graph "
            "capture"
        )
    max_context = start.max_model_len if start.layout is not None else None
    if start.layout is not None and start.available <= 0:
        max_context = 0
    concurrency = est.engine_max_concurrency
    if start.concurrency is not None:
        concurrency = round(start.concurrency, 2)
    return Judgement(problems, warnings, max_context, concurrency, True, assumptions)


def _static_pool(c: _Case) -> Judgement:
    """SGLang: the pool is sized from the reserved fraction before any forward."""
    spec, setup, est, problems = c.spec, c.setup, c.est, list(c.problems)
    o, profile = setup.options, setup.profile
    warnings: list[str] = []
    assumptions = [
        f"{profile.label}: {profile.launch.memory_fraction} {o.gpu_memory_utilization:g}"
    ]
    if est.fit is None:
        return Judgement(problems, warnings, spec.engine_max_context, None, False, assumptions)
    tokens = est.engine_kv_capacity_tokens
    if tokens is not None and tokens <= 0:
        problems.append(
            Problem(
                "no_kv_memory", "Not enough memory. Please try to increase --mem-fraction-static."
            )
        )
    max_context = spec.engine_max_context
    if tokens is not None and tokens > 0:
        cap = tokens - 1  # scheduler: max_req_len = min(context_len - 1, max_total_num_tokens - 1)
        max_context = min(max_context or cap, cap)
        if cap < est.context:
            warnings.append(
                f"{profile.label} starts but caps each request at {cap:,} tokens (its pool "
                f"holds {tokens:,}), below the context of {est.context:,}"
            )
    return Judgement(
        problems, warnings, max_context, est.engine_max_concurrency, True, assumptions
    )


def _prefill_warmup(c: _Case) -> Judgement:
    """TGI: a warm-up forward at the prefill budget, then the router's token checks."""
    spec, setup, est, problems = c.spec, c.setup, c.est, list(c.problems)
    o, profile = setup.options, setup.profile
    warnings: list[str] = []
    prefill = o.max_num_batched_tokens or profile.chunk_tokens or 4096
    assumptions = [f"TGI v3: --max-batch-prefill-tokens {prefill:,}"]
    if est.fit is None:
        return Judgement(problems, warnings, spec.engine_max_context, None, False, assumptions)
    tokens = est.engine_kv_capacity_tokens
    reserved = est.engine_reserved_bytes or est.fit.capacity_bytes
    held = est.parallel.weights_per_gpu_bytes + est.parallel.activations_per_gpu_bytes
    if held > reserved:
        problems.append(
            Problem(
                "prefill_oom",
                f"Not enough memory to handle {prefill} prefill tokens. You need to decrease "
                "`--max-batch-prefill-tokens`",
            )
        )
    elif tokens is not None and tokens < est.context:
        # The router checks max_total_tokens against the batch total the warm-up found.
        problems.append(
            Problem(
                "max_total_tokens",
                f"`max_total_tokens` must be <= `max_batch_total_tokens`. Given: {est.context} "
                f"and {tokens}",
            )
        )
    max_context = spec.engine_max_context
    if tokens is not None:
        max_context = min(max_context or tokens, tokens)
    return Judgement(
        problems, warnings, max_context, est.engine_max_concurrency, True, assumptions
    )


def _layer_placed(o: EstimateOptions) -> bool:
    """Layers split over mixed GPUs or system RAM (issue 14): estimator.placement judges."""
    return bool(
        o.ram_bytes
        or o.n_gpu_layers is not None
        or o.n_cpu_moe
        or o.tensor_split
        or (o.gpu and "," in o.gpu)
    )


def _placed(c: _Case, warnings: list[str]) -> Judgement:
    """Layers placed over the GPUs and system RAM (estimator.placement, as llama.cpp's
    common/fit.cpp and llama-model.cpp load_tensors place them)."""
    o = c.setup.options
    placed = estimate_spec(c.spec, c.counts, o, c.meta).placement
    problems = list(c.problems)
    if placed is None:
        return Judgement(problems, warnings, None, None, False, [])
    if placed.fits is False:
        problems.append(Problem("buffer_alloc", f"placement: {placed.verdict}"))
    assumptions = [f"{c.setup.profile.label}: layers as placed ({' '.join(placed.flags)})"]
    best = placed.max_context if placed.fits is False else c.est.context
    concurrency = float(o.batch) if not problems else 0.0
    return Judgement(problems, warnings, best, concurrency, placed.fits is not None, assumptions)


def _oom_problem(profile: EngineProfile, est: Estimate, total: int) -> Problem:
    if profile.startup.oom == "ggml-cuda":
        weights = est.parallel.weights_per_gpu_bytes
        if weights > total:
            return Problem(
                "buffer_alloc",
                f"ggml_backend_cuda_buffer_type_alloc_buffer: allocating {weights / MIB:.2f} MiB "
                "on device 0: cudaMalloc failed: out of memory; llama_model_load: error loading "
                "model: unable to allocate CUDA0 buffer",
            )
        return Problem(
            "buffer_alloc",
            f"ggml_backend_cuda_buffer_type_alloc_buffer: allocating "
            f"{est.kv_cache_bytes / MIB:.2f} MiB on device 0: cudaMalloc failed: out of memory; "
            "llama_init_from_model: failed to initialize the context: failed to allocate "
            "buffer for kv cache",
        )
    need = est.per_gpu_bytes
    return Problem(
        "cuda_oom",
        f"torch.OutOfMemoryError: CUDA out of memory (needs about {gib(need)} GiB per GPU, "
        f"the GPU has {gib(total)} GiB)",
    )


def _largest(fits: Callable[[int], bool], low: int, high: int, step: int) -> int:
    """The largest multiple of ``step`` in [low, high] that fits (0 if none)."""
    if high < low or not fits(low):
        return 0
    lo, hi = low // step, high // step
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid * step):
            lo = mid
        else:
            hi = mid - 1
    return lo * step


def _context_warnings(c: _Case) -> list[str]:
    """What a context past the model's trained length draws, in the engine's words."""
    limit = c.spec.engine_max_context or c.spec.max_context
    context, rule = c.est.context, c.setup.profile.startup.context_warning
    if not limit or context <= limit:
        return []
    if rule == "n_ctx_train":  # llama-context.cpp
        return [
            f"n_ctx_per_seq ({context}) > n_ctx_train ({limit}) -- possible training "
            "context overflow"
        ]
    if rule == "num_ctx_clamp":  # Ollama llm/server.go: opts.NumCtx = trainCtx
        return [
            f"requested context size too large for model (num_ctx={context}, "
            f"n_ctx_train={limit}): Ollama clamps num_ctx to {limit:,}"
        ]
    return [f"context {context:,} is beyond the model's {limit:,} positions"]


def _allocate_all(c: _Case) -> Judgement:
    """Everything is allocated at start (llama.cpp, transformers): it fits or it fails."""
    spec, setup, est, problems = c.spec, c.setup, c.est, list(c.problems)
    o, profile = setup.options, setup.profile
    rules = profile.startup
    warnings = _context_warnings(c)
    assumptions = [rules.assumption]
    limit = spec.engine_max_context or spec.max_context
    if (
        profile.layer_placement == "llama-fit"
        and _layer_placed(o)
        and setup.gpu_memory_bytes is None
    ):
        return _placed(c, warnings)
    total = total_bytes(setup, est)
    if total is None:
        return Judgement(problems, warnings, limit, None, False, assumptions)
    if est.per_gpu_bytes > total:
        problems.append(_oom_problem(profile, est, total))
    step = rules.context_step

    def fits(context: int) -> bool:
        try:
            trial = breakdown(spec, c.counts, o.with_(context=context), c.meta)
        except EstimatorError:
            return False
        return trial.per_gpu_bytes <= total

    max_context = _largest(fits, step, limit or est.context, step)
    concurrency = float(o.batch) if not problems else 0.0
    return Judgement(problems, warnings, max_context, concurrency, True, assumptions)


def human_bytes2(n: int) -> str:
    """Ollama's format.HumanBytes2 (format/bytes.go): one decimal, binary units."""
    for unit, size in (("GiB", 1024**3), ("MiB", MIB), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def _offload_estimate(c: _Case) -> Judgement:
    """Ollama: the layers its estimate fits go on the GPU(s), the rest into system RAM
    (llm/memory.go EstimateGPULayers, estimator.placement); NewLlamaServer (llm/server.go)
    refuses only when the RAM part exceeds the free RAM: "model requires more system memory
    (X) than is available (Y)". On macOS it skips that check (dynamic swap)."""
    o, profile = c.setup.options, c.setup.profile
    warnings = _context_warnings(c)
    assumptions = [profile.startup.assumption]
    problems = list(c.problems)
    devices = hardware_devices(o)
    if not devices:  # no GPU chosen: nothing to place
        limit = c.spec.engine_max_context or c.spec.max_context
        return Judgement(problems, warnings, limit, None, False, assumptions)
    placed, _ = plan_hardware(c.spec, c.counts, o, c.meta, c.est, devices)
    cpu = placed.cpu
    ram_part = cpu.used_bytes if cpu is not None else 0
    apple = any(d.unified for d in devices)  # a Mac: macOS
    spill = not placed.on_gpus
    if placed.fits is False and o.offload == "none":
        # every layer forced onto the GPUs (num_gpu): llama.cpp's runner fails to allocate
        problems.append(
            Problem(
                "buffer_alloc",
                f"num_gpu {placed.total_layers} (--offload none) but Ollama's estimate fits "
                f"{placed.gpu_layers} layers on the GPU: the runner's allocation fails "
                "(cudaMalloc failed: out of memory)",
            )
        )
    elif placed.fits is False and apple:
        warnings.append(
            f"{placed.verdict}: on macOS Ollama does not check free memory (llm/server.go), so "
            "it loads the model anyway and the system swaps"
        )
    elif placed.fits is False:
        ram = cpu.memory_bytes if cpu is not None else 0
        problems.append(
            Problem(
                "system_memory",
                f"model requires more system memory ({human_bytes2(ram_part)}) than is "
                f"available ({human_bytes2(ram)})",
            )
        )
    gpus = "GPUs" if len(placed.devices) > 1 else "GPU"
    if not spill:
        detail = f"all {placed.total_layers} layers on the {gpus}"
    else:
        where = (
            f"no layer on the {gpus} (it runs on the CPU)"
            if placed.gpu_layers == 0
            else f"{placed.gpu_layers}/{placed.total_layers} layers on the {gpus}"
        )
        detail = f"{where}, {human_bytes2(ram_part)} in system RAM (slower)"
        if placed.fits is None:
            warnings.append(
                f"Ollama loads {human_bytes2(ram_part)} into system RAM: give the RAM "
                "(--ram) to check that it is free"
            )
    best = placed.max_context if placed.fits is False else None
    concurrency = float(o.batch) if not problems else 0.0
    return Judgement(problems, warnings, best, concurrency, True, assumptions, detail)


_CHECKS: dict[StartupCheck, Callable[[_Case], Judgement]] = {
    "profiled-pool": _profiled_pool,
    "static-pool": _static_pool,
    "prefill-warmup": _prefill_warmup,
    "allocate-all": _allocate_all,
    "offload-estimate": _offload_estimate,
}


def judge(
    spec: ModelSpec,
    counts: ParamCounts,
    setup: Setup,
    est: Estimate,
    meta: WeightMetadata | None,
) -> Judgement:
    """The engine's start-up checks on this estimate, as its profile names them."""
    problems = static_problems(spec, setup, est)
    case = _Case(spec, counts, setup, est, meta, problems)
    return _CHECKS[setup.profile.startup.check](case)


"""Will the launch start? The checks each engine runs at start-up, the smallest fixes,
and the command to paste.

Each check is the engine's own, with its wording and the numbers it would print:

- vLLM (V1): ``config/model.py`` ``verify_with_parallel_config`` ("Total number of attention
  heads (H) must be divisible by tensor parallel size (T).") and
  ``_get_and_verify_max_len`` ("User-specified max_model_len (N) is greater than the derived
  max_model_len ..."); the ``divide`` asserts of ``VocabParallelEmbedding``,
  ``QKVParallelLinear`` and ``MergedColumnParallelLinear`` (``vllm/distributed/utils.py``
  ``ensure_divisibility``: "A is not divisible by B"); ``v1/core/kv_cache_utils.py``
  ``_check_enough_kv_cache_memory`` ("No available memory for the cache blocks." and "To serve
  at least one request with the models's max seq len ...").
- SGLang: ``configs/model_config.py`` ``_derive_context_length`` and ``model_runner``
  ``init_memory_pool`` ("Not enough memory. Please try to increase --mem-fraction-static.");
  requests are then capped at the pool (``scheduler``: ``max_req_len = min(context_len - 1,
  max_total_num_tokens - 1)``).
- llama.cpp: ``ggml-cuda.cu`` ``ggml_backend_cuda_buffer_type_alloc_buffer`` ("allocating X MiB
  on device 0: cudaMalloc failed: out of memory"), then ``llama_model_load`` ("unable to
  allocate CUDA0 buffer") or ``llama_init_from_model`` ("failed to allocate buffer for kv
  cache").
- TGI: the warm-up (``flash_causal_lm.py`` ``warmup``: "Not enough memory to handle N prefill
  tokens. You need to decrease `--max-batch-prefill-tokens`") and the launcher's token checks
  (``launcher/src/main.rs``).
- transformers: ``torch.OutOfMemoryError`` when the weights and the generate peak exceed the
  GPU.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from . import vllm_v1
from .breakdown import breakdown
from .commands import launch_command
from .engines import ENGINE_PROFILES
from .errors import EstimatorError
from .estimate import estimate_spec
from .options import EstimateOptions
from .params import ParamCounts
from .precision import KV_BYTES
from .result import Estimate, WeightMetadata
from .spec import ModelSpec

__all__ = [
    "Fix",
    "LaunchVerdict",
    "Problem",
    "fit_with_launch",
    "launch_verdict",
    "valid_tensor_parallel",
    "vllm_startup",
]

GIB = 1024**3
MIB = 1024**2
#: TP sizes searched for valid values and fixes (a node holds at most 8 GPUs; 16 and up
#: need several nodes and are listed when the model allows them).
_TP_CANDIDATES = (1, 2, 4, 8, 16, 32, 64)


@dataclass(frozen=True)
class Problem:
    """One reason the engine refuses, in the engine's words."""

    code: str
    message: str


@dataclass(frozen=True)
class Fix:
    """A change that makes the launch start, verified by re-estimating it."""

    change: str
    flags: tuple[str, ...]
    result: str
    #: The estimator settings the change sets (EstimateOptions fields, plus ``enforce_eager``),
    #: so that a page can apply it; empty when the change is a flag only (``auto``).
    options: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class LaunchVerdict:
    engine: str
    label: str
    starts: bool
    problems: tuple[Problem, ...]
    max_context: int | None  # the longest context that starts with these settings
    valid_tensor_parallel: tuple[int, ...] | None  # None: the engine does not split heads
    concurrency: float | None  # requests of the chosen context that fit at once
    fixes: tuple[Fix, ...]
    command: str | None
    memory_checked: bool  # False when no GPU was chosen: only the static checks ran
    warnings: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def summary(self) -> str:
        """One line: "vLLM will start: ..." or "vLLM will refuse to start: ..."."""
        if not self.starts:
            return f"{self.label} will refuse to start: {self.problems[0].message}"
        if not self.memory_checked:
            return f"{self.label} passes its start-up checks (choose a GPU to check memory)"
        if self.concurrency is not None:
            return (
                f"{self.label} will start: {self.concurrency:.2f} requests of the chosen "
                "context fit at once"
            )
        return f"{self.label} will start"

    def to_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "starts": self.starts,
            "summary": self.summary,
            "problems": [dataclasses.asdict(p) for p in self.problems],
            "max_context": self.max_context,
            "valid_tensor_parallel": None
            if self.valid_tensor_parallel is None
            else list(self.valid_tensor_parallel),
            "concurrency": self.concurrency,
            "fixes": [
                {
                    "change": f.change,
                    "flags": list(f.flags),
                    "result": f.result,
                    "options": dict(f.options),
                }
                for f in self.fixes
            ],
            "command": self.command,
            "memory_checked": self.memory_checked,
            "warnings": list(self.warnings),
            "assumptions": list(self.assumptions),
        }


@dataclass(frozen=True)
class _Setup:
    """What a verdict is judged on (options plus the flags the options do not hold)."""

    options: EstimateOptions
    model_id: str
    gpu_memory_bytes: int | None
    enforce_eager: bool = False
    allow_long_context: bool = False
    engine_version: str | None = None  # an older engine release to model (validation)


def _gib(value: int) -> float:
    """vLLM's format_gib: GiB rounded to two places (vllm/utils/mem_utils.py)."""
    return round(value / GIB, 2)


def _divides(n: int, d: int) -> bool:
    return d > 0 and n % d == 0


def _tp_problems(spec: ModelSpec, tp: int, engine: str) -> list[Problem]:
    """The divisibility every TP-sharded layer asserts, in the order vLLM builds them."""
    if tp <= 1:
        return []
    a = spec.attention
    problems: list[Problem] = []
    if engine == "tgi":
        if a.num_heads and a.num_heads % tp:
            # TGI custom_modeling (e.g. flash_llama_modeling.py FlashLlamaAttention).
            problems.append(
                Problem(
                    "tp_heads",
                    f"`num_heads` must be divisible by `num_shards` (got `num_heads`: "
                    f"{a.num_heads} and `num_shards`: {tp}",
                )
            )
        return problems
    if a.num_heads and a.num_heads % tp:
        # vLLM checks the heads first (ModelConfig.verify_with_parallel_config); SGLang's
        # QKVParallelLinear asserts divide(total_num_heads, tp_size).
        message = (
            f"{a.num_heads} is not divisible by {tp}"
            if engine == "sglang"
            else f"Total number of attention heads ({a.num_heads}) must be divisible by tensor "
            f"parallel size ({tp})."
        )
        problems.append(Problem("tp_heads", message))
    # VocabParallelEmbedding pads the vocabulary to a multiple of 64, then divides it.
    padded = -(-spec.vocab_size // 64) * 64
    if padded % tp:
        problems.append(Problem("tp_vocab", f"{padded} is not divisible by {tp}"))
    if a.mla is None and a.num_kv_heads:
        kv = a.num_kv_heads
        if tp >= kv and tp % kv:
            # QKVParallelLinear: num_kv_head_replicas = divide(tp_size, total_num_kv_heads)
            problems.append(Problem("tp_kv_heads", f"{tp} is not divisible by {kv}"))
        elif tp < kv and kv % tp:
            problems.append(Problem("tp_kv_heads", f"{kv} is not divisible by {tp}"))
    if spec.mlp is not None and spec.mlp.intermediate_size % tp:
        problems.append(
            Problem("tp_intermediate", f"{spec.mlp.intermediate_size} is not divisible by {tp}")
        )
    if spec.moe is not None and spec.moe.expert_intermediate % tp:
        problems.append(
            Problem("tp_intermediate", f"{spec.moe.expert_intermediate} is not divisible by {tp}")
        )
    return problems


def valid_tensor_parallel(spec: ModelSpec, engine: str) -> tuple[int, ...] | None:
    """TP sizes the engine accepts for this model (llama.cpp splits by layer: None)."""
    if ENGINE_PROFILES[engine].launch.tensor_parallel is None:
        return None
    return tuple(t for t in _TP_CANDIDATES if not _tp_problems(spec, t, engine))


def _max_len_problem(spec: ModelSpec, context: int, engine: str) -> Problem | None:
    derived = spec.engine_max_context
    if derived is None or context <= derived:
        return None
    if engine == "sglang":
        return Problem(
            "context_length",
            f"User-specified context_length ({context}) is greater than the derived "
            f"context_length ({derived}). This may lead to incorrect model outputs or CUDA "
            "errors. Note that the derived context_length may differ from "
            "max_position_embeddings in the model's config. To allow overriding this "
            "maximum, set the env var SGLANG_ALLOW_OVERWRITE_LONGER_CONTEXT_LEN=1",
        )
    return Problem(
        "max_model_len",
        f"User-specified max_model_len ({context}) is greater than the derived max_model_len "
        f"(max_position_embeddings={derived} or model_max_length=None in model's config.json)."
        " To allow overriding this maximum, set the env var VLLM_ALLOW_LONG_MAX_MODEL_LEN=1.",
    )


def _total_bytes(setup: _Setup, estimate: Estimate) -> int | None:
    if setup.gpu_memory_bytes is not None:
        return setup.gpu_memory_bytes
    return estimate.fit.capacity_bytes if estimate.fit is not None else None


def _vllm_start(
    spec: ModelSpec, setup: _Setup, est: Estimate, total: int, limit: int
) -> vllm_v1.Startup:
    o = setup.options
    chunk = est.components[2].inputs["tokens"]
    kv = est.components[1].inputs  # --block-size cuts the pool (unpaged: token by token)
    non_torch = int(est.components[3].inputs.get("non_torch_bytes", 0))
    return vllm_v1.startup(
        spec,
        total_bytes=total,
        utilization=o.gpu_memory_utilization,
        weights=est.parallel.weights_per_gpu_bytes,
        activation=est.parallel.activations_per_gpu_bytes,
        non_torch=non_torch,
        max_model_len=est.context,
        limit=limit,
        batched_tokens=int(chunk),
        element_bytes=KV_BYTES[est.kv_dtype],
        tp=o.tp,
        pp=o.pipeline_parallel,
        block_size=int(kv["block_size"]) if kv["paged"] else 1,
    )


@dataclass
class _Judgement:
    problems: list[Problem]
    warnings: list[str]
    max_context: int | None
    concurrency: float | None
    memory_checked: bool
    assumptions: list[str]


def _judge_vllm(spec: ModelSpec, setup: _Setup, est: Estimate) -> _Judgement:
    o = setup.options
    problems: list[Problem] = []
    warnings: list[str] = []
    if not setup.allow_long_context:
        problem = _max_len_problem(spec, est.context, "vllm")
        if problem:
            problems.append(problem)
    problems += _tp_problems(spec, o.tp, "vllm")
    chunk = int(est.components[2].inputs["tokens"])
    seqs = o.max_num_seqs
    assumptions = [
        f"vLLM V1 (`vllm serve`, release {vllm_v1.release(setup.engine_version)[0]}."
        f"{vllm_v1.release(setup.engine_version)[1]}): max_num_batched_tokens {chunk:,}"
        + (f", max_num_seqs {seqs:,}" if seqs else "")
        + ", block size 16"
    ]
    total = _total_bytes(setup, est)
    if total is None:
        return _Judgement(problems, warnings, spec.engine_max_context, None, False, assumptions)
    derived = spec.engine_max_context or est.context
    limit = max(derived, est.context) if setup.allow_long_context else derived
    start = _vllm_start(spec, setup, est, total, limit)
    per_gpu_weights = est.parallel.weights_per_gpu_bytes
    if per_gpu_weights > total:
        problems.append(
            Problem(
                "weights_oom",
                f"CUDA out of memory while loading the weights: {_gib(per_gpu_weights)} GiB per "
                f"GPU, and the GPU has {_gib(total)} GiB (torch.OutOfMemoryError in "
                "load_model).",
            )
        )
    elif start.available <= 0:
        problems.append(
            Problem(
                "no_kv_memory",
                "No available memory for the cache blocks. Try increasing "
                "`gpu_memory_utilization` when initializing the engine. (Available KV cache "
                f"memory: {_gib(start.available)} GiB: {_gib(start.budget)} GiB budget - "
                f"{_gib(start.weights)} GiB weights - {_gib(start.activation)} GiB activation "
                f"peak - {_gib(start.non_torch)} GiB non-torch)",
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
                f"({_gib(start.needed)} GiB KV cache is needed, which is larger than the "
                f"available KV cache memory ({_gib(start.available)} GiB). {hint}Try "
                "increasing `gpu_memory_utilization` or decreasing `max_model_len` when "
                "initializing the engine.",
            )
        )
    headroom = total - start.budget
    graphs = 0 if setup.enforce_eager else vllm_v1.CUDA_GRAPH_BYTES
    if headroom < vllm_v1.CUDA_CONTEXT_BYTES + graphs:
        warnings.append(
            f"only {_gib(headroom)} GiB stays outside gpu_memory_utilization "
            f"{o.gpu_memory_utilization:g}, less than the CUDA context "
            f"({_gib(vllm_v1.CUDA_CONTEXT_BYTES)} GiB) and CUDA graphs ({_gib(graphs)} GiB) "
            "vLLM allocates there: the start may fail with CUDA out of memory during graph "
            "capture"
        )
    max_context = start.max_model_len if start.layout is not None else None
    if start.layout is not None and start.available <= 0:
        max_context = 0
    concurrency = est.engine_max_concurrency
    if start.concurrency is not None:
        concurrency = round(start.concurrency, 2)
    return _Judgement(problems, warnings, max_context, concurrency, True, assumptions)


def _judge_sglang(spec: ModelSpec, setup: _Setup, est: Estimate) -> _Judgement:
    o = setup.options
    problems: list[Problem] = []
    if not setup.allow_long_context:
        problem = _max_len_problem(spec, est.context, "sglang")
        if problem:
            problems.append(problem)
    problems += _tp_problems(spec, o.tp, "sglang")
    warnings: list[str] = []
    assumptions = [f"SGLang: --mem-fraction-static {o.gpu_memory_utilization:g}"]
    if est.fit is None:
        return _Judgement(problems, warnings, spec.engine_max_context, None, False, assumptions)
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
                f"SGLang starts but caps each request at {cap:,} tokens (its pool holds "
                f"{tokens:,}), below the context of {est.context:,}"
            )
    return _Judgement(
        problems, warnings, max_context, est.engine_max_concurrency, True, assumptions
    )


def _judge_tgi(spec: ModelSpec, setup: _Setup, est: Estimate) -> _Judgement:
    o = setup.options
    problems = _tp_problems(spec, o.tp, "tgi")
    warnings: list[str] = []
    prefill = o.max_num_batched_tokens or ENGINE_PROFILES["tgi"].chunk_tokens or 4096
    assumptions = [f"TGI v3: --max-batch-prefill-tokens {prefill:,}"]
    if est.fit is None:
        return _Judgement(problems, warnings, spec.engine_max_context, None, False, assumptions)
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
    return _Judgement(
        problems, warnings, max_context, est.engine_max_concurrency, True, assumptions
    )


def _judge_memory_only(
    spec: ModelSpec, counts: ParamCounts, setup: _Setup, est: Estimate, meta: WeightMetadata | None
) -> _Judgement:
    """llama.cpp and transformers: everything is allocated at start; it fits or it fails."""
    o = setup.options
    engine = o.engine
    problems: list[Problem] = []
    warnings: list[str] = []
    assumptions = (
        ["llama.cpp: every layer on the GPU (-ngl 99), one KV stream per --parallel slot"]
        if engine == "llama.cpp"
        else ['transformers generate() on the GPU(s), device_map="auto"']
    )
    limit = spec.engine_max_context or spec.max_context
    if limit and est.context > limit:
        warnings.append(
            f"n_ctx_per_seq ({est.context}) > n_ctx_train ({limit}) -- possible training "
            "context overflow"
            if engine == "llama.cpp"
            else f"context {est.context:,} is beyond the model's {limit:,} positions"
        )
    if engine == "llama.cpp" and _layer_placed(o) and setup.gpu_memory_bytes is None:
        return _judge_placement(spec, counts, o, est, meta, warnings)
    total = _total_bytes(setup, est)
    if total is None:
        return _Judgement(problems, warnings, limit, None, False, assumptions)
    if est.per_gpu_bytes > total:
        problems.append(_memory_problem(engine, est, total))
    step = 256 if engine == "llama.cpp" else 1

    def fits(context: int) -> bool:
        try:
            trial = breakdown(spec, counts, o.with_(context=context), meta)
        except EstimatorError:
            return False
        return trial.per_gpu_bytes <= total

    max_context = _largest(fits, step, limit or est.context, step)
    concurrency = float(o.batch) if not problems else 0.0
    return _Judgement(problems, warnings, max_context, concurrency, True, assumptions)


def _layer_placed(o: EstimateOptions) -> bool:
    """Layers split over mixed GPUs or system RAM (issue 14): estimator.placement judges."""
    return bool(
        o.ram_bytes
        or o.n_gpu_layers is not None
        or o.n_cpu_moe
        or o.tensor_split
        or (o.gpu and "," in o.gpu)
    )


def _judge_placement(
    spec: ModelSpec,
    counts: ParamCounts,
    o: EstimateOptions,
    est: Estimate,
    meta: WeightMetadata | None,
    warnings: list[str],
) -> _Judgement:
    """llama.cpp with its layers placed over the GPUs and system RAM (estimator.placement,
    as common/fit.cpp and llama-model.cpp load_tensors place them)."""
    placed = estimate_spec(spec, counts, o, meta).placement
    if placed is None:
        return _Judgement([], warnings, None, None, False, [])
    problems = []
    if placed.fits is False:
        problems.append(Problem("buffer_alloc", f"placement: {placed.verdict}"))
    assumptions = [f"llama.cpp: layers as placed ({' '.join(placed.flags)})"]
    best = placed.max_context if placed.fits is False else est.context
    concurrency = float(o.batch) if not problems else 0.0
    return _Judgement(problems, warnings, best, concurrency, placed.fits is not None, assumptions)


def _memory_problem(engine: str, est: Estimate, total: int) -> Problem:
    need = est.per_gpu_bytes
    if engine == "llama.cpp":
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
    return Problem(
        "cuda_oom",
        f"torch.OutOfMemoryError: CUDA out of memory (needs about {_gib(need)} GiB per GPU, "
        f"the GPU has {_gib(total)} GiB)",
    )


def _largest(fits: Any, low: int, high: int, step: int) -> int:
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


def _judge(
    spec: ModelSpec,
    counts: ParamCounts,
    setup: _Setup,
    est: Estimate,
    meta: WeightMetadata | None,
) -> _Judgement:
    engine = setup.options.engine
    if engine == "vllm":
        return _judge_vllm(spec, setup, est)
    if engine == "sglang":
        return _judge_sglang(spec, setup, est)
    if engine == "tgi":
        return _judge_tgi(spec, setup, est)
    return _judge_memory_only(spec, counts, setup, est, meta)


def _estimate(
    spec: ModelSpec, counts: ParamCounts, setup: _Setup, meta: WeightMetadata | None
) -> Estimate:
    return breakdown(spec, counts, setup.options, meta, engine_version=setup.engine_version)


def _verdict(
    spec: ModelSpec,
    counts: ParamCounts,
    setup: _Setup,
    meta: WeightMetadata | None,
    with_fixes: bool,
) -> LaunchVerdict:
    est = _estimate(spec, counts, setup, meta)
    j = _judge(spec, counts, setup, est, meta)
    o = setup.options
    fixes = tuple(_fixes(spec, counts, setup, est, j, meta)) if with_fixes and j.problems else ()
    command = launch_command(
        o.engine,
        setup.model_id,
        o,
        context=est.context,
        precision=est.precision,
        kv_dtype=est.kv_dtype,
        checkpoint_dtype=spec.checkpoint_dtype,
        enforce_eager=setup.enforce_eager,
        allow_long_context=setup.allow_long_context,
    )
    return LaunchVerdict(
        engine=o.engine,
        label=ENGINE_PROFILES[o.engine].label,
        starts=not j.problems,
        problems=tuple(j.problems),
        max_context=j.max_context,
        valid_tensor_parallel=valid_tensor_parallel(spec, o.engine),
        concurrency=j.concurrency if not j.problems else None,
        fixes=fixes,
        command=command,
        memory_checked=j.memory_checked,
        warnings=tuple(j.warnings),
        assumptions=tuple(j.assumptions),
    )


def launch_verdict(
    spec: ModelSpec,
    counts: ParamCounts,
    options: EstimateOptions,
    metadata: WeightMetadata | None = None,
    *,
    model_id: str = "MODEL",
    gpu_memory_bytes: int | None = None,
    enforce_eager: bool = False,
    allow_long_context: bool = False,
    with_fixes: bool = True,
    engine_version: str | None = None,
) -> LaunchVerdict | None:
    """Whether ``options.engine`` starts with these settings, and what to change if not.

    ``gpu_memory_bytes`` overrides the chosen GPU's total (a log's ``total_gpu_memory``);
    ``allow_long_context`` is VLLM_ALLOW_LONG_MAX_MODEL_LEN=1 (SGLang's
    SGLANG_ALLOW_OVERWRITE_LONGER_CONTEXT_LEN=1); ``engine_version`` models an older
    release (see ``estimate``). None for the generic engine."""
    if not ENGINE_PROFILES[options.engine].serving_engine:
        return None
    setup = _Setup(
        options, model_id, gpu_memory_bytes, enforce_eager, allow_long_context, engine_version
    )
    return _verdict(spec, counts, setup, metadata, with_fixes)


def fit_with_launch(fit_text: str, fits: bool, launch: dict[str, Any] | None, batch: int) -> str:
    """The fit verdict ("fits" / "does NOT fit", maybe with its error margin) said so that it
    never contradicts the launch verdict (``LaunchVerdict.to_dict()``) beside it.

    The fit asks whether ``batch`` requests of the context fit in the usable memory (the
    GPU less its headroom); the engine asks whether it can start at all. They differ when a
    start-up check fails on memory that fits (a TP size the heads or vocabulary do not
    divide, a context past the model's limit), and when the engine starts but serves fewer
    requests at once than the batch (vLLM, SGLang and TGI queue the rest)."""
    if not launch or not launch.get("memory_checked"):
        return fit_text
    label = ENGINE_PROFILES[launch["engine"]].label
    if not launch["starts"]:
        return f"the memory fits, but {label} will refuse to start" if fits else fit_text
    if fits:
        return fit_text
    n = launch.get("concurrency")
    if n is not None and n < batch:
        return (
            f"{batch:,} requests do NOT fit at once; {label} starts and serves "
            f"{n:.2f} at a time"
        )
    return f"does NOT fit with the headroom kept free; {label} starts with less to spare"


def _result(verdict: LaunchVerdict, context: int) -> str:
    if verdict.concurrency is not None and verdict.memory_checked:
        n = verdict.concurrency
        return f"starts: {n:.2f} request{'s' if n != 1 else ''} of {context:,} tokens at once"
    return "starts"


def _try(
    spec: ModelSpec,
    counts: ParamCounts,
    setup: _Setup,
    meta: WeightMetadata | None,
    change: str,
    flags: tuple[str, ...],
    **overrides: Any,
) -> Fix | None:
    options_changes = {k: v for k, v in overrides.items() if k not in ("enforce_eager", "allow")}
    try:
        options = setup.options.with_(**options_changes) if options_changes else setup.options
    except EstimatorError:
        return None
    trial = dataclasses.replace(
        setup,
        options=options,
        enforce_eager=bool(overrides.get("enforce_eager", setup.enforce_eager)),
        allow_long_context=bool(overrides.get("allow", setup.allow_long_context)),
    )
    try:
        verdict = _verdict(spec, counts, trial, meta, with_fixes=False)
    except EstimatorError:
        return None
    if not verdict.starts:
        return None
    context = options.context or _estimate(spec, counts, trial, meta).context
    settings = {k: v for k, v in overrides.items() if k != "allow"}
    return Fix(change, flags, _result(verdict, context), tuple(settings.items()))


def _memory_fixes(
    spec: ModelSpec,
    counts: ParamCounts,
    setup: _Setup,
    est: Estimate,
    meta: WeightMetadata | None,
) -> list[Fix | None]:
    """Fixes for a memory problem that keep the model and the GPUs: a smaller KV element,
    a larger reservation."""
    o = setup.options
    flags = ENGINE_PROFILES[o.engine].launch
    found: list[Fix | None] = []
    if flags.kv_fp8 and est.kv_dtype not in ("fp8", "q8_0", "q4_0"):
        found.append(
            _try(
                spec,
                counts,
                setup,
                meta,
                "store the KV cache in FP8",
                ("--kv-cache-dtype", flags.kv_fp8),
                kv_dtype="fp8",
            )
        )
    if flags.kv_q8_0 and est.kv_dtype not in ("q8_0", "q4_0"):
        found.append(
            _try(
                spec,
                counts,
                setup,
                meta,
                "quantize the KV cache to q8_0",
                ("-ctk", "q8_0", "-ctv", "q8_0"),
                kv_dtype="q8_0",
            )
        )
    if flags.memory_fraction and o.gpu_memory_utilization < 0.95:
        found.append(
            _try(
                spec,
                counts,
                setup,
                meta,
                "raise the memory reservation to 0.95",
                (flags.memory_fraction, "0.95"),
                gpu_memory_utilization=0.95,
            )
        )
    return found


def _fixes(
    spec: ModelSpec,
    counts: ParamCounts,
    setup: _Setup,
    est: Estimate,
    j: _Judgement,
    meta: WeightMetadata | None,
) -> list[Fix]:
    """Candidate changes, smallest first, each kept only if re-estimating it starts."""
    o = setup.options
    flags = ENGINE_PROFILES[o.engine].launch
    codes = {p.code for p in j.problems}
    found: list[Fix | None] = []
    derived = spec.engine_max_context
    if codes & {"max_model_len", "context_length"} and derived:
        found.append(
            _try(
                spec,
                counts,
                setup,
                meta,
                f"use the model's limit of {derived:,} tokens",
                (flags.context, str(derived)),
                context=derived,
            )
        )
    if j.max_context and j.max_context < est.context:
        length = j.max_context
        value = length * o.batch if flags.context_per_slot else length
        shorter = _try(
            spec,
            counts,
            setup,
            meta,
            f"shorten the context to {length:,} tokens",
            (flags.context, str(value)),
            context=length,
        )
        found.append(shorter)
        if flags.auto_context and shorter is not None:
            # --max-model-len auto (-1): kv_cache_utils._auto_fit_max_model_len picks the
            # same length from the pool at start-up, and stays right on other hardware.
            found.append(
                Fix(
                    f"let vLLM fit the context to memory (here {length:,} tokens)",
                    (flags.context, "auto"),
                    shorter.result,
                )
            )
    memory = codes - {
        "max_model_len",
        "context_length",
        "tp_heads",
        "tp_vocab",
        "tp_kv_heads",
        "tp_intermediate",
    }
    if memory:
        found += _memory_fixes(spec, counts, setup, est, meta)
    if flags.enforce_eager and not setup.enforce_eager and any(
        "CUDA graphs" in w for w in j.warnings
    ):
        found.append(
            _try(
                spec,
                counts,
                setup,
                meta,
                "skip CUDA graphs (eager mode)",
                ("--enforce-eager",),
                enforce_eager=True,
            )
        )
    tp_codes = codes & {"tp_heads", "tp_vocab", "tp_kv_heads", "tp_intermediate"}
    valid = valid_tensor_parallel(spec, o.engine) or ()
    if flags.tensor_parallel and (memory or tp_codes):
        larger = [t for t in valid if o.tp < t <= 8]
        # A size the engine rejects: the nearest valid one below it keeps the GPUs in use.
        order = ([t for t in valid if t < o.tp][::-1] + larger) if tp_codes else larger
        for t in order:
            change = "run on one GPU" if t == 1 else f"split the model over {t} GPUs"
            fix = _try(
                spec,
                counts,
                setup,
                meta,
                change,
                (flags.tensor_parallel, str(t)),
                tensor_parallel=t,
                gpus=max(t * o.pipeline_parallel, 1),
            )
            if fix is not None:
                found.append(fix)
                break
    if memory and est.precision in ("bf16", "fp16", "fp32", "fp8") and flags.four_bit:
        found.append(
            _try(
                spec,
                counts,
                setup,
                meta,
                "use a 4-bit checkpoint of the model",
                flags.four_bit_flags,
                precision=flags.four_bit,
            )
        )
    unique: dict[tuple[str, ...], Fix] = {}
    for fix in found:
        if fix is not None and fix.flags not in unique:
            unique[fix.flags] = fix
    return list(unique.values())


def vllm_startup(
    spec: ModelSpec,
    counts: ParamCounts,
    options: EstimateOptions,
    metadata: WeightMetadata | None = None,
    *,
    gpu_memory_bytes: int | None = None,
    engine_version: str | None = None,
) -> vllm_v1.Startup | None:
    """vLLM's start-up figures (budget, profiled peak, KV pool, tokens, concurrency) for
    these options on a GPU of ``gpu_memory_bytes`` (default: the chosen GPU's total)."""
    setup = _Setup(
        options.with_(engine="vllm"), "MODEL", gpu_memory_bytes, engine_version=engine_version
    )
    est = _estimate(spec, counts, setup, metadata)
    total = _total_bytes(setup, est)
    if total is None:
        return None
    derived = spec.engine_max_context or est.context
    return _vllm_start(spec, setup, est, total, max(derived, est.context))

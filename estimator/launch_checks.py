"""The checks each engine runs at start-up, with its wording and the numbers it would print.

Which checks run is the engine profile's ``startup`` (estimator.engines.StartupRules). This
module holds the checks that need no memory figure (the context limit, TP divisibility) and
the records a verdict is judged with; estimator.launch_judges holds the memory checks, by
``StartupRules.check``:

- ``profiled-pool`` (vLLM V1): ``config/model.py`` ``verify_with_parallel_config`` ("Total
  number of attention heads (H) must be divisible by tensor parallel size (T).") and
  ``_get_and_verify_max_len`` ("User-specified max_model_len (N) is greater than the derived
  max_model_len ..."); the ``divide`` asserts of ``VocabParallelEmbedding``,
  ``QKVParallelLinear`` and ``MergedColumnParallelLinear`` (``vllm/distributed/utils.py``
  ``ensure_divisibility``: "A is not divisible by B"); ``v1/core/kv_cache_utils.py``
  ``_check_enough_kv_cache_memory`` ("No available memory for the cache blocks." and "To serve
  at least one request with the models's max seq len ...").
- ``static-pool`` (SGLang): ``configs/model_config.py`` ``_derive_context_length`` and
  ``model_runner`` ``init_memory_pool`` ("Not enough memory. Please try to increase
  --mem-fraction-static."); requests are then capped at the pool (``scheduler``:
  ``max_req_len = min(context_len - 1, max_total_num_tokens - 1)``).
- ``prefill-warmup`` (TGI): the warm-up (``flash_causal_lm.py`` ``warmup``: "Not enough memory
  to handle N prefill tokens. You need to decrease `--max-batch-prefill-tokens`") and the
  launcher's token checks (``launcher/src/main.rs``).
- ``allocate-all``: llama.cpp's ``ggml-cuda.cu`` ``ggml_backend_cuda_buffer_type_alloc_buffer``
  ("allocating X MiB on device 0: cudaMalloc failed: out of memory"), then
  ``llama_model_load`` ("unable to allocate CUDA0 buffer") or ``llama_init_from_model``
  ("failed to allocate buffer for kv cache"); transformers' ``torch.OutOfMemoryError`` when
  the weights and the generate peak exceed the GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import vllm_v1
from .engines import ENGINE_PROFILES, EngineProfile
from .options import EstimateOptions
from .precision import KV_BYTES
from .result import Estimate
from .spec import ModelSpec

__all__ = [
    "Judgement",
    "Problem",
    "Setup",
    "gib",
    "static_problems",
    "total_bytes",
    "valid_tensor_parallel",
    "vllm_start",
]

GIB = 1024**3
#: TP sizes searched for valid values and fixes (a node holds at most 8 GPUs; 16 and up
#: need several nodes and are listed when the model allows them).
_TP_CANDIDATES = (1, 2, 4, 8, 16, 32, 64)


@dataclass(frozen=True)
class Problem:
    """One reason the engine refuses, in the engine's words."""

    code: str
    message: str


@dataclass(frozen=True)
class Setup:
    """What a verdict is judged on (options plus the flags the options do not hold)."""

    options: EstimateOptions
    model_id: str
    gpu_memory_bytes: int | None
    allow_long_context: bool = False
    engine_version: str | None = None  # an older engine release to model (validation)
    revision: str | None = None  # the Hub revision the model was read at (the command)

    @property
    def profile(self) -> EngineProfile:
        return ENGINE_PROFILES[self.options.engine]


@dataclass
class Judgement:
    """What the engine's start-up checks found for one setup, before it becomes a verdict."""

    problems: list[Problem]
    warnings: list[str]
    max_context: int | None
    concurrency: float | None
    memory_checked: bool
    assumptions: list[str]
    detail: str = ""  # how it starts, when the concurrency alone does not say (Ollama's offload)


def gib(value: int) -> float:
    """vLLM's format_gib: GiB rounded to two places (vllm/utils/mem_utils.py)."""
    return round(value / GIB, 2)


def _heads_message(profile: EngineProfile, heads: int, tp: int) -> str:
    check = profile.startup.tp_heads
    if check == "num-shards":  # TGI custom_modeling (e.g. flash_llama_modeling.py)
        return (
            f"`num_heads` must be divisible by `num_shards` (got `num_heads`: {heads} and "
            f"`num_shards`: {tp}"
        )
    if check == "divide-assert":  # QKVParallelLinear: divide(total_num_heads, tp_size)
        return f"{heads} is not divisible by {tp}"
    return (  # ModelConfig.verify_with_parallel_config
        f"Total number of attention heads ({heads}) must be divisible by tensor parallel "
        f"size ({tp})."
    )


def _tp_problems(spec: ModelSpec, tp: int, profile: EngineProfile) -> list[Problem]:
    """The divisibility every TP-sharded layer asserts, in the order vLLM builds them."""
    if tp <= 1:
        return []
    a = spec.attention
    problems: list[Problem] = []
    if a.num_heads and a.num_heads % tp:
        problems.append(Problem("tp_heads", _heads_message(profile, a.num_heads, tp)))
    if not profile.startup.tp_layers:
        return problems
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
    """TP sizes the engine accepts for this model (an engine that splits by layer: None)."""
    profile = ENGINE_PROFILES[engine]
    if profile.launch.tensor_parallel is None:
        return None
    return tuple(t for t in _TP_CANDIDATES if not _tp_problems(spec, t, profile))


def _max_len_problem(spec: ModelSpec, context: int, profile: EngineProfile) -> Problem | None:
    derived = spec.engine_max_context
    check = profile.startup.max_len
    if check == "none" or derived is None or context <= derived:
        return None
    env = profile.launch.long_context_env
    if check == "context_length":
        return Problem(
            "context_length",
            f"User-specified context_length ({context}) is greater than the derived "
            f"context_length ({derived}). This may lead to incorrect model outputs or CUDA "
            "errors. Note that the derived context_length may differ from "
            "max_position_embeddings in the model's config. To allow overriding this "
            f"maximum, set the env var {env}=1",
        )
    return Problem(
        "max_model_len",
        f"User-specified max_model_len ({context}) is greater than the derived max_model_len "
        f"(max_position_embeddings={derived} or model_max_length=None in model's config.json)."
        f" To allow overriding this maximum, set the env var {env}=1.",
    )


def static_problems(spec: ModelSpec, setup: Setup, est: Estimate) -> list[Problem]:
    """The checks that need no memory figure: the context limit, then TP divisibility."""
    profile = setup.profile
    problems: list[Problem] = []
    if not setup.allow_long_context:
        problem = _max_len_problem(spec, est.context, profile)
        if problem:
            problems.append(problem)
    if profile.launch.tensor_parallel is not None:
        problems += _tp_problems(spec, setup.options.tp, profile)
    return problems


def total_bytes(setup: Setup, estimate: Estimate) -> int | None:
    """The GPU's total the verdict is judged on (a log's, or the chosen GPU's)."""
    if setup.gpu_memory_bytes is not None:
        return setup.gpu_memory_bytes
    return estimate.fit.capacity_bytes if estimate.fit is not None else None


def vllm_start(
    spec: ModelSpec, setup: Setup, est: Estimate, total: int, limit: int
) -> vllm_v1.Startup:
    """vLLM V1's start-up accounting (estimator.vllm_v1) for this estimate on ``total`` bytes."""
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

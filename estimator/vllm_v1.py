"""vLLM V1's start-up memory: its defaults, profiled peak, KV groups and the checks it runs.

vLLM sizes its KV pool once, at start-up (vllm/v1/worker/gpu_worker.py
determine_available_memory): ``total x gpu_memory_utilization`` minus the weights, the
torch peak of one profile run and the non-torch memory that run added. The pool is then
cut into blocks per KV-cache group (vllm/v1/core/kv_cache_utils.py) and checked against
one request of ``max_model_len`` tokens. Every constant below cites the engine code path
or the published start-up log it comes from (tests/validation/launch_records.json).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .activations import block_values_per_token
from .spec import ModelSpec

__all__ = [
    "BLOCK_SIZE",
    "CUDA_GRAPH_BYTES",
    "KvGroup",
    "KvLayout",
    "ProfilePeak",
    "ServeDefaults",
    "is_v0",
    "kv_layout",
    "non_torch_bytes",
    "profile_peak",
    "profile_peak_bytes",
    "release",
    "sampler_bytes_per_logit",
    "serve_defaults",
]

GIB = 1024**3
MIB = 1024**2

#: vllm/config/cache.py: CacheConfig.block_size defaults to 16 tokens on CUDA.
BLOCK_SIZE = 16

#: The newest release whose behaviour is modelled; ``engine_version=None`` means it.
LATEST = (0, 19)

#: "Estimated CUDA graph memory: X GiB total" (gpu_model_runner.py) in the v0.19 H100 logs
#: of llm-d-planner's sweep: gemma-3-4b 0.70, Llama-3.1-8B 0.84 (fp32: 0.80), gemma-2-9b
#: 0.84, gemma-3-27b 1.05 GiB; 51 PIECEWISE + 51 FULL graphs up to 512 tokens. Captured
#: after the KV pool is sized (VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS is off in v0.19),
#: so it comes out of the 1 - gpu_memory_utilization headroom, not out of the pool.
CUDA_GRAPH_BYTES = int(0.85 * GIB)

#: The CUDA context and library handles present before vLLM measures anything
#: ("worker init memory snapshot: ... non_torch_memory=0.51GiB", v0.19 H100 log); V1
#: measures from this snapshot, so it lies outside the gpu_memory_utilization budget.
CUDA_CONTEXT_BYTES = int(0.51 * GIB)


@dataclass(frozen=True)
class ServeDefaults:
    """The batch limits ``vllm serve`` picks when none are given."""

    max_num_batched_tokens: int
    max_num_seqs: int


def serve_defaults(gpu_total_bytes: int | None, gpu_name: str = "") -> ServeDefaults:
    """``vllm serve`` defaults (vllm/engine/arg_utils.py get_batch_defaults, the
    OPENAI_API_SERVER context): 8192 batched tokens and 1024 sequences on GPUs with at
    least 70 GiB that are not A100s ("Defaulting max_num_seqs to 1024 for
    OPENAI_API_SERVER usage context" in the v0.19 H100 logs), else 2048 and 256."""
    big = gpu_total_bytes is not None and gpu_total_bytes >= 70 * GIB
    if big and "a100" not in gpu_name.lower():
        return ServeDefaults(8192, 1024)
    return ServeDefaults(2048, 256)


def release(version: str | None) -> tuple[int, int]:
    """(major, minor) of a vLLM version string; ``None`` is the latest modelled release
    and "v0" (the V0 engine, whatever its release) reads as 0.6."""
    if not version:
        return LATEST
    if version.strip().lower() in ("v0", "0"):
        return (0, 6)
    match = re.match(r"\s*v?(\d+)\.(\d+)", version)
    if match is None:
        return LATEST
    return int(match.group(1)), int(match.group(2))


def is_v0(version: str | None) -> bool:
    """The V0 engine: every release before 0.8 (V1 became the default in 0.8.0)."""
    return release(version) < (0, 8)


def sampler_bytes_per_logit(version: str | None, act_bytes: int) -> int:
    """Bytes one logit row element holds at the sampler's profiled peak.

    The profile samples ``max_num_seqs`` rows of the full vocabulary with top-k and top-p
    on (V0 model_runner.profile_run; V1 gpu_model_runner._dummy_sampler_run). From v0.17
    the logged torch peak is the logits in the model dtype plus 13 B of fp32/index
    intermediates per element: Llama-3.1-8B 1.89 GiB (bf16) and 2.21 GiB (fp32),
    Qwen2.5-7B and Qwen3-8B 2.21, phi-4 1.52, gemma-2-9b 3.65 GiB, all at 1024 rows on an
    H100 (v0.19). Before v0.17 the sort-based path held about 36 B: Qwen3-14B's peak fell
    from 5.64 to 2.23 GiB between v0.16 and v0.17 (llm-d-planner accuracy report), and
    the V0 builds logged 1.26 GiB for Meta-Llama-3-8B at TP 1 and 2 (vllm#10511)."""
    if release(version) >= (0, 17):
        return act_bytes + 13
    return 36


def non_torch_bytes(tp: int, pp: int, version: str | None, nvlink: bool = True) -> int:
    """Memory outside torch's allocator that the V1 profile run adds, per GPU
    ("non-torch forward increase memory" in gpu_worker.py's profiling line).

    v0.18+ on H100 (llm-d-planner sweep): 0.24-0.27 GiB at TP 1 (cuBLAS/attention
    workspaces), 2.06-2.08 GiB at TP 2 and 2.13-2.17 GiB at TP 4 (NCCL and custom
    all-reduce buffers created by the first forward), 0.07 GiB on rank 0 at PP 2 and 4.
    v0.15-v0.17 logged 0.13 GiB at TP 1 (Qwen3-14B).

    Those TP figures are NVLink/NVSwitch machines: the communication buffers add about
    1.8 GiB over TP 1 there, in V1 (2.07 - 0.25) as in the V0 profiler of December 2024,
    which predates FlashInfer's fused all-reduce (3.58 - 1.79 GiB, H100, vllm PR #10511).
    GPUs without NVLink (``nvlink=False``) talk over PCIe: two L40S at TP 2 logged 0.30 GiB
    for the same increase (vLLM 0.7.1, vllm#15815: "non_torch_memory takes 0.30GiB"), the
    only published multi-GPU figure without NVLink; custom all-reduce there keeps three
    8 MiB buffers (custom_all_reduce.py, and none above two PCIe-only GPUs)."""
    if tp >= 2 and not nvlink:
        return int(0.30 * GIB)
    if tp >= 4:
        return int(2.15 * GIB)
    if tp >= 2:
        return int(2.07 * GIB)
    if pp > 1:
        return int(0.07 * GIB)
    if release(version) < (0, 18):
        return int(0.13 * GIB)
    return int(0.25 * GIB)


def _moe_workspace_bytes(spec: ModelSpec, tokens: int, tp: int, act_bytes: int) -> int:
    """The fused-MoE workspaces vLLM's modular kernel keeps between forwards.

    TritonExperts.workspace_shapes (vllm/model_executor/layers/fused_moe): workspace1
    ``(M, topk, max(N // 2, K))`` and workspace2 ``(M, topk, max(N, K))`` in the
    activation dtype, N the gate+up width per TP rank, K the hidden size; the
    workspace manager keeps them, so they stay allocated while the sampler runs
    (Qwen3-30B-A3B: 2.68 GiB logged = 2.21 GiB of sampler + 0.5 GiB of workspace;
    Mixtral-8x7B at TP 2: 1.21 GiB = 0.52 + 0.66 GiB). Chunked at 32768 tokens
    (VLLM_FUSED_MOE_CHUNK_SIZE)."""
    moe = spec.moe
    if moe is None or not any(layer.moe for layer in spec.layers):
        return 0
    m = min(tokens, 32768)
    n = (2 if moe.gated else 1) * moe.expert_intermediate // tp
    k = spec.hidden_size
    return m * moe.experts_per_token * (max(n // 2, k) + max(n, k)) * act_bytes


@dataclass(frozen=True)
class ProfilePeak:
    """The parts of vLLM's profiled torch peak on one GPU (see :func:`profile_peak`)."""

    tokens: int  # the profiled forward's tokens
    values_per_token: int  # one block's intermediates per token
    hidden_size: int
    act_bytes: int
    tp: int
    rows: int  # logit rows the sampler profiles (max_num_seqs)
    vocab: int
    bytes_per_logit: int
    sampler: bool  # False: a pipeline stage before the last (hidden states and residual)
    workspace: int  # the fused-MoE workspaces kept between forwards

    @property
    def block(self) -> int:
        """One block's intermediates over the profiled tokens, split by TP."""
        return self.tokens * self.values_per_token * self.act_bytes // self.tp

    @property
    def hidden(self) -> int:
        """The forward's hidden states, alive while the sampler runs."""
        return self.tokens * self.hidden_size * self.act_bytes

    @property
    def logits(self) -> int:
        return self.rows * self.vocab * self.bytes_per_logit if self.sampler else 0

    @property
    def peak(self) -> int:
        if self.sampler:
            return max(self.block, self.logits + self.hidden) + self.workspace
        return self.block + 2 * self.hidden + self.workspace


def profile_peak(
    spec: ModelSpec,
    *,
    tokens: int,
    rows: int,
    act_bytes: int,
    tp: int,
    version: str | None,
    sampler: bool = True,
    mxfp4_experts: bool = False,
) -> ProfilePeak:
    """Torch peak of vLLM's profile run on one GPU ("torch peak memory increase"), by part.

    The forward over ``tokens`` (max_num_batched_tokens; V0: max(max_model_len, 2048))
    holds one block's intermediates split by TP; the sampler then runs on ``rows``
    (max_num_seqs) rows of full-vocabulary logits, which TP does not split, while the
    forward's hidden states are still alive. The two happen one after the other, so the
    peak is the larger (V0 and V1 alike: Meta-Llama-3-8B logged 1.26 GiB at TP 1 and
    TP 2, where a sum would differ by half a block). MoE models add the kept workspace;
    MXFP4 experts run other kernels (gpt-oss-20b at TP 2: 2.87 GiB, the sampler alone).
    Pipeline stages other than the last skip the sampler (``sampler=False``) but hold the
    hidden states and residual they send on (Llama-3.1-8B PP 2 rank 0: 1.10 GiB)."""
    workspace = 0
    if not mxfp4_experts and not is_v0(version):
        workspace = _moe_workspace_bytes(spec, tokens, tp, act_bytes)
    return ProfilePeak(
        tokens=tokens,
        values_per_token=block_values_per_token(spec),
        hidden_size=spec.hidden_size,
        act_bytes=act_bytes,
        tp=tp,
        rows=rows,
        vocab=spec.vocab_size,
        bytes_per_logit=sampler_bytes_per_logit(version, act_bytes),
        sampler=sampler,
        workspace=workspace,
    )


def profile_peak_bytes(
    spec: ModelSpec,
    *,
    tokens: int,
    rows: int,
    act_bytes: int,
    tp: int,
    version: str | None,
    sampler: bool = True,
    mxfp4_experts: bool = False,
) -> int:
    """Torch peak of vLLM's profile run on one GPU ("torch peak memory increase"): the
    larger of the forward and the sampler, see :func:`profile_peak`."""
    return profile_peak(
        spec,
        tokens=tokens,
        rows=rows,
        act_bytes=act_bytes,
        tp=tp,
        version=version,
        sampler=sampler,
        mxfp4_experts=mxfp4_experts,
    ).peak


@dataclass(frozen=True)
class KvGroup:
    """One KV-cache group: layers of one kind sharing a block table."""

    window: int | None  # sliding window, None for full attention


@dataclass(frozen=True)
class KvLayout:
    """How vLLM lays the KV pool out over layers (kv_cache_utils.get_kv_cache_groups).

    ``page_bytes`` is one block of one layer; ``group_size`` layers share one tensor of
    ``num_blocks`` pages, and every group takes its blocks from that pool."""

    page_bytes: int
    group_size: int
    groups: tuple[KvGroup, ...]
    block_size: int = BLOCK_SIZE
    padding_layers: int = 0

    def blocks_per_request(self, max_model_len: int, batched_tokens: int) -> int:
        """Blocks one request of ``max_model_len`` tokens needs across all groups:
        FullAttentionSpec ``cdiv(max_model_len, block)``, SlidingWindowSpec
        ``cdiv(min(window - 1 + max_num_batched_tokens, max_model_len), block) + 1``
        (vllm/v1/kv_cache_interface.py max_memory_usage_bytes)."""
        total = 0
        for group in self.groups:
            if group.window is None:
                total += math.ceil(max_model_len / self.block_size)
            else:
                kept = min(group.window - 1 + batched_tokens, max_model_len)
                total += math.ceil(kept / self.block_size) + 1
        return total

    def needed_bytes(self, max_model_len: int, batched_tokens: int) -> int:
        """KV bytes one request needs (_max_memory_usage_bytes_from_groups)."""
        return (
            self.group_size
            * self.page_bytes
            * self.blocks_per_request(max_model_len, batched_tokens)
        )

    def num_blocks(self, available: int) -> int:
        """get_num_blocks: ``available // page_size // num_layers`` (never negative)."""
        if available <= 0:
            return 0
        return int(available // self.page_bytes // self.group_size)

    def tokens(self, num_blocks: int) -> int:
        """vLLM's "GPU KV cache size: N tokens" (_report_kv_cache_config)."""
        return num_blocks // len(self.groups) * self.block_size

    def concurrency(self, num_blocks: int, max_model_len: int, batched_tokens: int) -> float:
        """vLLM's "Maximum concurrency for N tokens per request"
        (get_max_concurrency_for_kv_cache_config)."""
        need = self.blocks_per_request(max_model_len, batched_tokens)
        return num_blocks / need if need else 0.0

    def max_model_len(self, available: int, limit: int, batched_tokens: int) -> int:
        """vLLM's "estimated maximum model length": the largest length up to ``limit``
        whose request fits ``available`` (estimate_max_model_len, a binary search)."""
        if available <= 0 or self.needed_bytes(1, batched_tokens) > available:
            return 0
        low, high, best = 1, limit, 1
        while low <= high:
            mid = (low + high) // 2
            if self.needed_bytes(mid, batched_tokens) <= available:
                best, low = mid, mid + 1
            else:
                high = mid - 1
        return best


def kv_layout(
    spec: ModelSpec, *, tp: int, pp: int, element_bytes: float, block_size: int = BLOCK_SIZE
) -> KvLayout | None:
    """The KV groups of the busiest pipeline stage, or None where vLLM's grouping of the
    model is not modelled here (recurrent/SSM layers, cross-attention)."""
    a = spec.attention
    kinds: dict[int | None, int] = {}
    for layer in spec.layers:
        if layer.mixer == "ssm" or layer.extra_attention:
            return None
        if layer.mixer != "attention":
            continue
        kinds[layer.window] = kinds.get(layer.window, 0) + 1
    if not kinds:
        return None
    if a.mla is not None:
        # MLAAttentionSpec: the latent (kv_lora_rank + rope dims), one "head", no K/V pair.
        values = a.mla.latent_width
    else:
        # QKVParallelLinear: num_kv_heads // tp per rank, one replicated head when tp >= it.
        heads = max(1, a.num_kv_heads // tp) if a.num_kv_heads else 1
        values = heads * (a.head_dim + a.v_head_dim)
    page = int(block_size * values * element_bytes)
    # get_pp_indices spreads layers evenly; the busiest stage holds ceil(n / pp) of each kind.
    counts = {window: math.ceil(n / pp) for window, n in kinds.items()}
    if len(counts) == 1:
        window = next(iter(counts))
        return KvLayout(page, next(iter(counts.values())), (KvGroup(window),), block_size)
    # _get_kv_cache_groups_uniform_page_size: groups of the smallest type's layer count (the
    # largest when it is under 1.5x the smallest), every type padded to whole groups.
    smallest, largest = min(counts.values()), max(counts.values())
    group_size = largest if largest < smallest * 1.5 else smallest
    groups: list[KvGroup] = []
    padding = 0
    for window, n in counts.items():
        per_type = math.ceil(n / group_size)
        groups.extend(KvGroup(window) for _ in range(per_type))
        padding += per_type * group_size - n
    return KvLayout(page, group_size, tuple(groups), block_size, padding)


@dataclass(frozen=True)
class Startup:
    """The figures vLLM logs at start-up, per GPU of the busiest stage."""

    budget: int  # total x gpu_memory_utilization ("Requested memory")
    weights: int
    activation: int  # "torch peak memory increase"
    non_torch: int  # "non-torch forward increase memory"
    available: int  # "Available KV cache memory" (negative: nothing left)
    layout: KvLayout | None
    num_blocks: int
    tokens: int  # "GPU KV cache size: N tokens"
    concurrency: float | None  # "Maximum concurrency for N tokens per request"
    needed: int | None  # KV bytes one request of max_model_len needs
    max_model_len: int | None  # "the estimated maximum model length"


def startup(
    spec: ModelSpec,
    *,
    total_bytes: int,
    utilization: float,
    weights: int,
    activation: int,
    non_torch: int,
    max_model_len: int,
    limit: int,
    batched_tokens: int,
    element_bytes: float,
    tp: int,
    pp: int,
    block_size: int = BLOCK_SIZE,
) -> Startup:
    """Budget, KV pool and the one-request check (gpu_worker.determine_available_memory,
    kv_cache_utils.get_kv_cache_configs) for one GPU of the busiest stage; ``limit`` bounds
    the estimated maximum length (the configured max_model_len); ``block_size`` is
    ``--block-size`` (the pool is cut into blocks of it)."""
    budget = int(total_bytes * utilization)
    available = budget - weights - activation - non_torch
    layout = kv_layout(spec, tp=tp, pp=pp, element_bytes=element_bytes, block_size=block_size)
    if layout is None:
        return Startup(
            budget, weights, activation, non_torch, available, None, 0, 0, None, None, None
        )
    blocks = layout.num_blocks(available)
    return Startup(
        budget=budget,
        weights=weights,
        activation=activation,
        non_torch=non_torch,
        available=available,
        layout=layout,
        num_blocks=blocks,
        tokens=layout.tokens(blocks),
        concurrency=layout.concurrency(blocks, max_model_len, batched_tokens),
        needed=layout.needed_bytes(max_model_len, batched_tokens),
        max_model_len=layout.max_model_len(available, limit, batched_tokens),
    )

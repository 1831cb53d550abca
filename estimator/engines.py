"""How each inference engine allocates memory: one profile per engine.

Every constant cites the engine code path or log it comes from. The estimate
code reads only these profiles, so an engine's behaviour lives in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, TypeAlias

__all__ = [
    "ENGINE_PROFILES",
    "MIB",
    "BatchDefaults",
    "CommandForm",
    "ContextWarning",
    "ConvWidth",
    "EngineProfile",
    "LaunchFlags",
    "LayerPlacement",
    "LogitsRows",
    "MaxLenCheck",
    "MemoryProfiler",
    "OomReport",
    "Runtime",
    "StartupCheck",
    "StartupRules",
    "TpHeadsCheck",
    "WindowKeep",
]

#: Tokens a sliding-window layer keeps per sequence: the window, one less (transformers),
#: the window plus one forward's chunk (vLLM), or llama.cpp-style padded cells.
WindowKeep: TypeAlias = Literal["window", "window-1", "window+chunk", "cells"]
#: Convolution state columns an SSM layer keeps.
ConvWidth: TypeAlias = Literal["d_conv", "d_conv-1"]
#: Rows of logits at the peak: one per sequence, one per ubatch token, or max_num_seqs.
LogitsRows: TypeAlias = Literal["last", "ubatch", "max_num_seqs"]
#: The tensor runtime: torch (fp8 KV types, FP32-accumulate GEMMs, a roofline speed) or
#: ggml (q8_0/q4_0 KV types, FP16-accumulate GEMMs, the speed fitted to llama.cpp runs).
Runtime: TypeAlias = Literal["torch", "ggml"]
#: Batch settings when none are given: the profile's own, or `vllm serve`'s by GPU.
BatchDefaults: TypeAlias = Literal["profile", "vllm-serve"]
#: How start-up memory is measured: by the profile's figures, or vLLM's profile run and
#: V1 start-up accounting (estimator.vllm_v1).
MemoryProfiler: TypeAlias = Literal["none", "vllm-v1"]
#: How the model is spread over devices: equal tensor-parallel shards, or whole layers
#: placed by llama.cpp's fit (common/fit.cpp) or Ollama's estimate (llm/memory.go).
LayerPlacement: TypeAlias = Literal["shards", "llama-fit", "ollama-estimate"]

#: The form of the command that launches it (estimator.commands): none, an OpenAI-style
#: server with long flags (`vllm serve`, `python -m sglang.launch_server`), a launcher in a
#: Docker image (TGI), `llama-server`, or a Python snippet (transformers).
CommandForm: TypeAlias = Literal["none", "server", "docker-launcher", "llama-server", "python"]
#: What decides the start (estimator.launch_checks): everything allocated at start, it fits or
#: it fails (llama.cpp, transformers); vLLM's profile run, then the KV pool from what is left
#: (vllm_v1); a pool sized before any forward (SGLang mem_fraction_static); a warm-up forward at
#: the prefill budget (TGI); layers placed by the engine's own estimate, what does not fit the
#: GPUs loaded into system RAM, refused only when RAM is short too (Ollama, llm/server.go).
StartupCheck: TypeAlias = Literal[
    "allocate-all", "profiled-pool", "static-pool", "prefill-warmup", "offload-estimate"
]
#: How the engine refuses a context beyond the model's derived limit: it does not check, vLLM's
#: `_get_and_verify_max_len` (max_model_len), SGLang's `_derive_context_length` (context_length).
MaxLenCheck: TypeAlias = Literal["none", "max_model_len", "context_length"]
#: Which check refuses attention heads that TP does not divide, in its own words: vLLM's
#: ModelConfig.verify_with_parallel_config, the `divide` assert of QKVParallelLinear (SGLang),
#: TGI's custom modeling ("`num_heads` must be divisible by `num_shards`").
TpHeadsCheck: TypeAlias = Literal["verify-parallel-config", "divide-assert", "num-shards"]
#: What a context past the model's positions draws: a plain warning, llama.cpp's
#: "n_ctx_per_seq > n_ctx_train" (llama-context.cpp), or Ollama's clamp of num_ctx to the
#: trained context ("requested context size too large for model", llm/server.go).
ContextWarning: TypeAlias = Literal["positions", "n_ctx_train", "num_ctx_clamp"]
#: How an allocation that does not fit is reported: torch's CUDA out of memory, or ggml-cuda's
#: failed buffer allocation (ggml_backend_cuda_buffer_type_alloc_buffer).
OomReport: TypeAlias = Literal["torch", "ggml-cuda"]

MIB = 1024**2


@dataclass(frozen=True)
class StartupRules:
    """The checks the engine runs at start-up (estimator.launch_checks), as data."""

    check: StartupCheck = "allocate-all"
    max_len: MaxLenCheck = "none"
    tp_heads: TpHeadsCheck = "verify-parallel-config"
    # Vocabulary (padded to 64), KV heads and MLP widths asserted divisible by TP as the
    # linear layers are built (vllm/distributed/utils.py ensure_divisibility).
    tp_layers: bool = True
    context_warning: ContextWarning = "positions"
    oom: OomReport = "torch"
    context_step: int = 1  # the longest context that starts, searched in steps of this
    # What an allocate-all verdict assumes about the launch.
    assumption: str = 'transformers generate() on the GPU(s), device_map="auto"'


@dataclass(frozen=True)
class LaunchFlags:
    """How the engine's launch command spells the settings a start-up fix changes
    (estimator.launch) and the command writes (estimator.commands); None (or False) where
    the engine has no such setting."""

    command: CommandForm = "none"
    program: tuple[str, ...] = ()  # what runs before the model
    model_flag: str | None = None  # None: the model is the first positional argument
    revision: str | None = None  # the flag of the Hub revision (branch, tag or commit)
    long_context_env: str | None = None  # the env var that allows a context past the limit

    context: str = "-c"  # the maximum length (llama.cpp -c, vLLM --max-model-len, ...)
    context_per_slot: bool = False  # llama.cpp: -c covers every --parallel slot (x batch)
    auto_context: bool = False  # vLLM --max-model-len auto fits the length to the pool
    kv_fp8: str | None = None  # the --kv-cache-dtype value for FP8
    kv_q8_0: bool = False  # llama.cpp -ctk q8_0 -ctv q8_0
    memory_fraction: str | None = None  # the flag of the reserved fraction of GPU memory
    # The flag (with its value) that skips CUDA graph capture: vLLM --enforce-eager, SGLang
    # --disable-cuda-graph, TGI --cuda-graphs 0; None where the engine captures none.
    enforce_eager: str | None = None
    tensor_parallel: str | None = None  # the flag of the tensor-parallel size
    pipeline_parallel: str | None = None  # the flag of the pipeline-parallel size
    kv_cache_dtype: str = "--kv-cache-dtype"  # the flag that takes kv_fp8
    memory_fraction_default: float | None = None  # written only when it differs (None: always)
    serve_dtype: bool = False  # vLLM --dtype / --quantization fp8 when the width changes
    max_seqs: str | None = None  # the flag of the most requests at once
    batched_tokens: str | None = None  # the flag of the tokens per forward (prefill budget)
    four_bit: str | None = None  # the precision of a 4-bit checkpoint it serves
    four_bit_flags: tuple[str, ...] = ()  # and how the command asks for it


@dataclass(frozen=True)
class EngineProfile:
    """One engine's allocation rules, launch flags and start-up checks, each with its source."""

    key: str
    label: str
    # KV cache layout
    paged: bool  # KV in fixed-size blocks (rounded up per sequence)
    block_size: int  # tokens per block when paged
    mla_latent: bool  # MLA caches the compressed latent instead of per-head K/V
    window_keep: WindowKeep
    ssm_conv_width: ConvWidth
    ssm_state_fp32: bool  # recurrent state stored in fp32 regardless of model dtype
    kv_pad: int  # KV cells padded to a multiple of this (llama.cpp), 1 for none
    # Activations
    chunk_tokens: int | None  # prefill processed in chunks of this many tokens (None: whole prompt)
    honours_flash_toggle: bool  # eager attention (scores materialized) possible
    logits_rows: LogitsRows
    logits_fp32_copies: int  # fp32 copies of the logits rows alive at the peak
    # Fixed costs
    cuda_context_bytes: int
    cuda_graph_bytes: int
    reserves_fraction: bool  # grabs gpu_memory_utilization x capacity up front
    rope_cache: bool = False  # a (max_position x rotary_dim) cos/sin buffer counted with weights
    rope_cache_fp32: bool = False  # that buffer kept in fp32 rather than the model dtype
    pads_mxfp4_experts: bool = False  # MXFP4 MoE experts padded to the kernel's layout (layouts.py)
    input_embedding_on_cpu: bool = False  # token embeddings stay in host memory
    ssm_recurrent_fp32: bool = False  # the SSM recurrent state is kept in fp32 (conv state not)
    max_num_seqs: int = 256
    # Activations are sized by a warm-up/profile forward at the whole batched-token budget,
    # whatever the requested load (vLLM profile_run, SGLang and TGI warmup).
    profiles_full_budget: bool = False
    # The compute graph keeps intermediates and logits in F32 and reuses buffers between the
    # block and the output (ggml-alloc): llama.cpp.
    f32_graph: bool = False
    # The KV pool is sized before any forward runs, so activations live in the share the
    # reservation leaves free instead of shrinking the pool (SGLang).
    pool_before_activations: bool = False
    runtime: Runtime = "torch"
    batch_defaults: BatchDefaults = "profile"
    memory_profiler: MemoryProfiler = "none"
    layer_placement: LayerPlacement = "shards"
    launch: LaunchFlags = LaunchFlags()
    startup: StartupRules = StartupRules()
    # A real engine, with logs to check against and a command to launch; the generic
    # profile is no engine's (it has no launch verdict, command or measured error).
    serving_engine: bool = True


# NOTE: The CUDA context (driver, kernels, cuBLAS handles) is memory torch does not
# count; vLLM's profiler reports it as "non_torch_memory", typically 0.2-0.6 GiB at
# TP=1 (vllm/worker/gpu_worker.py determine_available_memory logs). 512 MiB is used
# for all CUDA engines; llama.cpp loads fewer kernels (ggml-cuda), seen ~300 MiB.
_CUDA_CONTEXT = 512 * MIB

# The seed's view done right: weights + KV for every token + one layer's transient
# activations for the whole prompt + a CUDA context.
_GENERIC = EngineProfile(
    key="generic",
    label="Generic",
    paged=False,
    block_size=1,
    mla_latent=True,
    window_keep="window",
    ssm_conv_width="d_conv",
    ssm_state_fp32=False,
    kv_pad=1,
    chunk_tokens=None,
    honours_flash_toggle=True,
    logits_rows="last",
    logits_fp32_copies=1,
    cuda_context_bytes=_CUDA_CONTEXT,
    cuda_graph_bytes=0,
    reserves_fraction=False,
    serving_engine=False,
)

# transformers generate(): DynamicCache grows by token (cache_utils.py); sliding layers
# (DynamicSlidingWindowLayer) keep sliding_window - 1 tokens; generate passes
# logits_to_keep=1 on prefill and upcasts the last logits to fp32
# (generation/utils.py _sample: outputs.logits[:, -1, :].to(dtype=torch.float32)).
# The SSM scan runs in float32 and its final state is cached as such (modeling_mamba.py
# slow_forward: discrete_A in float32; measured on the meta device for Mamba, Mamba-2, Jamba,
# Nemotron-H and Qwen3.5, see tests/golden).
_TRANSFORMERS = replace(
    _GENERIC,
    serving_engine=True,
    key="transformers",
    label="transformers",
    window_keep="window-1",
    # generate(..., max_length=N): prompt + new tokens; BitsAndBytesConfig for 4 bits.
    launch=LaunchFlags(
        command="python",
        context="max_length",
        four_bit="bnb-nf4",
        four_bit_flags=("BitsAndBytesConfig(load_in_4bit=True)",),
    ),
    logits_fp32_copies=2,
    ssm_recurrent_fp32=True,
)

# vLLM V1: block_size 16 (vllm/config/cache.py), MLA caches kv_lora_rank + rope dims
# (vllm/attention/backends/mla), SlidingWindowSpec.max_memory_usage_bytes keeps
# window - 1 + max_num_batched_tokens tokens, profile_run at max_num_batched_tokens
# (default 8192 for the LLM class, arg_utils.py), RotaryEmbedding registers a
# cos_sin_cache buffer of max_position x rotary_dim in the model dtype
# (model_executor/layers/rotary_embedding.py), counted in "Loading model weights took"
# (Llama-3.1-8B: 131072 x 128 x 2 B = 0.03125 GiB), sampler profiled with max_num_seqs=256
# rows of fp32 logits; CUDA graphs: "Graph capturing finished ... took 0.xx GiB".
# V1 specifics (serve defaults by GPU, the profiled peak as the larger of the forward and
# the sampler, non-torch memory by TP, KV groups and the start-up checks) live in
# vllm_v1.py; CUDA graphs there: "Estimated CUDA graph memory: 0.70-1.05 GiB total".
_VLLM = EngineProfile(
    key="vllm",
    label="vLLM",
    paged=True,
    block_size=16,
    mla_latent=True,
    window_keep="window+chunk",
    ssm_conv_width="d_conv-1",
    ssm_state_fp32=False,
    kv_pad=1,
    chunk_tokens=8192,
    honours_flash_toggle=False,
    logits_rows="max_num_seqs",
    logits_fp32_copies=2,
    cuda_context_bytes=_CUDA_CONTEXT,
    cuda_graph_bytes=int(0.85 * 1024 * MIB),
    reserves_fraction=True,
    rope_cache=True,
    pads_mxfp4_experts=True,
    profiles_full_budget=True,
    batch_defaults="vllm-serve",
    memory_profiler="vllm-v1",
    # `vllm serve` flags: vllm/engine/arg_utils.py EngineArgs.add_cli_args (--revision
    # "The specific model version to use. It can be a branch name, a tag name, or a commit
    # id"); VLLM_ALLOW_LONG_MAX_MODEL_LEN: vllm/envs.py, read by _get_and_verify_max_len.
    launch=LaunchFlags(
        command="server",
        program=("vllm", "serve"),
        revision="--revision",
        long_context_env="VLLM_ALLOW_LONG_MAX_MODEL_LEN",
        context="--max-model-len",
        auto_context=True,
        kv_fp8="fp8",
        memory_fraction="--gpu-memory-utilization",
        memory_fraction_default=0.9,
        serve_dtype=True,
        # --enforce-eager: "Always use eager-mode PyTorch", no CUDA graphs (arg_utils.py).
        enforce_eager="--enforce-eager",
        tensor_parallel="--tensor-parallel-size",
        pipeline_parallel="--pipeline-parallel-size",
        max_seqs="--max-num-seqs",
        batched_tokens="--max-num-batched-tokens",
        four_bit="awq-int4",
        four_bit_flags=("--quantization", "awq"),
    ),
    startup=StartupRules(check="profiled-pool", max_len="max_model_len"),
)

# SGLang: token-granular pool (page_size 1), MLA latent (FlashInfer/FlashMLA backends),
# chunked_prefill_size 8192 default, mem_fraction_static reservation, CUDA graphs. Its
# RotaryEmbedding keeps the cos/sin cache in FP32 on CUDA ("cache needs to be in FP32 for
# numerical stability", srt/layers/rotary_embedding.py), counted in "Load weight end ...
# mem usage" (Llama-3.1-8B: 131072 x 128 x 4 B = 64 MiB).
_SGLANG = replace(
    _VLLM,
    key="sglang",
    label="SGLang",
    block_size=1,
    batch_defaults="profile",
    memory_profiler="none",
    # `python -m sglang.launch_server` flags: srt/server_args.py ServerArgs.add_cli_args
    # (--revision: the model version, a branch name, tag or commit id);
    # SGLANG_ALLOW_OVERWRITE_LONGER_CONTEXT_LEN: configs/model_config.py _derive_context_length.
    launch=LaunchFlags(
        command="server",
        program=("python", "-m", "sglang.launch_server"),
        model_flag="--model-path",
        revision="--revision",
        long_context_env="SGLANG_ALLOW_OVERWRITE_LONGER_CONTEXT_LEN",
        context="--context-length",
        kv_fp8="fp8_e4m3",
        memory_fraction="--mem-fraction-static",
        # --disable-cuda-graph: "Disable cuda graph" (server_args.py; CudaGraphRunner is not
        # built, model_runner.py init_device_graphs).
        enforce_eager="--disable-cuda-graph",
        tensor_parallel="--tp",
        pipeline_parallel="--pp-size",
        max_seqs="--max-running-requests",
        four_bit="awq-int4",
        four_bit_flags=("--quantization", "awq"),
    ),
    startup=StartupRules(check="static-pool", max_len="context_length", tp_heads="divide-assert"),
    rope_cache=True,
    rope_cache_fp32=True,
    pads_mxfp4_experts=False,
    cuda_graph_bytes=512 * MIB,
    # ModelRunner.profile_max_num_token: rest_memory = memory free after loading the weights
    # - total x (1 - mem_fraction_static), measured before any forward: activations and CUDA
    # graphs come out of the 1 - mem_fraction_static share (srt/model_executor/model_runner.py).
    pool_before_activations=True,
)

# TGI v3: paged KV (block 16 with flash-attention backends), warmup at
# max_batch_prefill_tokens (default 4096), cuda_memory_fraction reservation (1.0 default).
_TGI = replace(
    _VLLM,
    key="tgi",
    label="TGI",
    batch_defaults="profile",
    memory_profiler="none",
    # The launcher's flags (launcher/src/main.rs Args: --model-id, --revision "The actual
    # revision of the model if you're referring to a model on the hub", --num-shard,
    # --max-total-tokens, --max-batch-prefill-tokens), run in the Docker image.
    launch=LaunchFlags(
        command="docker-launcher",
        program=(
            *("docker", "run", "--gpus", "all", "--shm-size", "1g", "-p", "8080:80"),
            *("-v", "$PWD/data:/data", "ghcr.io/huggingface/text-generation-inference:latest"),
        ),
        model_flag="--model-id",
        revision="--revision",
        context="--max-total-tokens",
        tensor_parallel="--num-shard",
        batched_tokens="--max-batch-prefill-tokens",
        # --cuda-graphs: "Specify the batch sizes to compute cuda graphs for. Use \"0\" to
        # disable. Default = \"1,2,4,8,16,32\"" (launcher/src/main.rs Args.cuda_graphs).
        enforce_eager="--cuda-graphs 0",
        four_bit="awq-int4",
        four_bit_flags=("--quantization", "awq"),
    ),
    startup=StartupRules(check="prefill-warmup", tp_heads="num-shards", tp_layers=False),
    mla_latent=False,
    window_keep="window",
    ssm_conv_width="d_conv",
    chunk_tokens=4096,
    logits_rows="last",
    rope_cache=False,
    pads_mxfp4_experts=False,
    cuda_graph_bytes=512 * MIB,
)

# llama.cpp: K/V of type -ctk/-ctv (f16 default), n_ctx padded to 256 cells
# (llama-context.cpp), SWA layers in their own cache of min(n_ctx, n_swa*n_seq + n_ubatch)
# cells (llama-kv-cache-iswa.cpp), recurrent r/s states in F32 (llama-memory-recurrent.cpp),
# graph for n_ubatch=512 tokens; MLA caches the latent (DeepSeek2 path, kv_lora_rank+rope).
# The input layer always lives on the CPU (llama-model.cpp: dev_input is the CPU), so
# token_embd is not in the GPU's model buffer ("CPU buffer size = 70.31 MiB" for
# Llama-2-7B Q4_K_M); a tied output keeps a duplicate on the GPU.
_LLAMA_CPP = EngineProfile(
    key="llama.cpp",
    label="llama.cpp",
    paged=False,
    block_size=1,
    mla_latent=True,
    window_keep="cells",
    ssm_conv_width="d_conv-1",
    ssm_state_fp32=True,
    kv_pad=256,
    chunk_tokens=512,
    honours_flash_toggle=True,
    logits_rows="ubatch",
    logits_fp32_copies=1,
    cuda_context_bytes=300 * MIB,
    cuda_graph_bytes=0,
    reserves_fraction=False,
    input_embedding_on_cpu=True,
    f32_graph=True,
    runtime="ggml",
    layer_placement="llama-fit",
    # llama-server (common/arg.cpp) loads the GGUF file given by -m; it has no revision
    # option (-hf takes <user>/<model>[:quant] only), so the file is downloaded at the revision.
    launch=LaunchFlags(
        command="llama-server",
        context_per_slot=True,
        kv_q8_0=True,
        four_bit="Q4_K_M",
        four_bit_flags=("-m", "MODEL-Q4_K_M.gguf"),
    ),
    startup=StartupRules(
        context_warning="n_ctx_train",
        oom="ggml-cuda",
        context_step=256,  # n_ctx is padded to 256 cells (llama-context.cpp)
        assumption="llama.cpp: every layer on the GPU (-ngl 99), one KV stream per --parallel slot",
    ),
)

# Ollama runs GGUF models through llama.cpp (its llama runner, or its own engine on ggml),
# so its allocations are llama.cpp's; where the layers go follows its own estimate
# (llm/memory.go EstimateGPULayers, see estimator.placement). It does not refuse a model
# that is too big for the GPUs: NewLlamaServer (llm/server.go) passes the layers that fit as
# --n-gpu-layers and loads the rest into system RAM, and refuses only when that part is more
# than the free RAM and swap: "model requires more system memory (%s) than is available (%s)"
# (the same words in the newer runner's verifyLayout).
_OLLAMA = replace(
    _LLAMA_CPP,
    key="ollama",
    label="Ollama",
    layer_placement="ollama-estimate",
    # No launch command: num_ctx and num_gpu are model parameters (a Modelfile PARAMETER or
    # the API's options, docs/modelfile.md), which is how a context fix is spelled.
    launch=LaunchFlags(context="num_ctx"),
    startup=StartupRules(
        check="offload-estimate",
        context_warning="num_ctx_clamp",
        oom="ggml-cuda",
        context_step=256,
        assumption="Ollama: layers on the GPU(s) as its own memory estimate places them "
        "(llm/memory.go EstimateGPULayers), the rest loaded into system RAM",
    ),
)

ENGINE_PROFILES: dict[str, EngineProfile] = {
    profile.key: profile
    for profile in (_GENERIC, _TRANSFORMERS, _VLLM, _SGLANG, _TGI, _LLAMA_CPP, _OLLAMA)
}

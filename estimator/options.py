"""What a user can ask of an estimate, with defaults and range checks.

One frozen dataclass is shared by the library, the CLI and the page so that an
estimate is fully described by (config, metadata, options) and can be echoed
back, put in a URL, or reproduced from the command line.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from .engines import ENGINE_PROFILES
from .errors import OptionError

__all__ = ["ENGINES", "KV_DTYPES", "MAX_BATCH", "OFFLOAD_MODES", "EstimateOptions"]

#: Engines whose allocation rules are modelled: the keys of :data:`ENGINE_PROFILES`, the
#: one list of engines (an engine is one profile in :mod:`estimator.engines`).
ENGINES = tuple(ENGINE_PROFILES)

#: KV cache element types. ``auto`` follows the activation dtype (bf16/fp16).
KV_DTYPES = ("auto", "fp32", "fp16", "bf16", "fp8", "q8_0", "q4_0")

#: --offload: place what does not fit the GPUs in system RAM (llama.cpp/Ollama), or never.
OFFLOAD_MODES = ("auto", "none")

#: llama.cpp backends the speed estimate is fitted for (estimator.speed).
LLAMA_BACKENDS = ("cuda", "rocm", "vulkan", "metal", "sycl", "cpu")

#: Batch upper bound the issue asks for; beyond it the arithmetic is meaningless.
MAX_BATCH = 100_000
#: A context far past any published model (10M tokens) is surely a typo.
MAX_CONTEXT = 10_000_000


@dataclass(frozen=True)
class EstimateOptions:
    """Inputs of one estimate besides the model itself.

    ``context`` is the total sequence length per request (prompt + generated);
    ``None`` means min(model limit, 4096). ``generated_tokens`` is the part of it
    produced by decoding (the rest is the prompt, processed in one prefill).
    ``precision`` ``auto`` means "as published": the checkpoint's quantization, or
    its dtype with fp32 served as fp16 (vLLM's ``dtype=auto`` rule).
    """

    precision: str = "auto"
    kv_dtype: str = "auto"
    engine: str = "generic"
    batch: int = 1
    context: int | None = None
    generated_tokens: int | None = None
    flash_attention: bool = True
    # llama.cpp --swa-full: sliding-window layers cache the whole context, as every layer
    # did before llama.cpp's iSWA cache (May 2025) and as ik_llama.cpp still may.
    swa_full: bool = False
    paged_attention: bool | None = None  # None: the engine's own default
    block_size: int | None = None  # None: the engine's default (vLLM 16)
    group_size: int = 128  # GPTQ/AWQ quantization group size
    layers: int | None = None  # "number of layers to run"; None: all of them
    kv_heads: int | None = None  # override of the detected KV head count (GQA)
    gpu: str | None = None  # catalog key, see estimator.gpus
    gpus: int = 1
    tensor_parallel: int | None = None  # None: equals gpus // pipeline_parallel
    pipeline_parallel: int = 1
    headroom: float = 0.10  # fraction of GPU memory kept free when judging a fit
    gpu_memory_utilization: float = 0.90  # vLLM/SGLang-style reservation fraction
    max_num_batched_tokens: int | None = None  # vLLM chunked-prefill budget
    # vLLM --max-num-seqs (SGLang --max-running-requests): sequences scheduled at once, and
    # the rows of logits vLLM's profile run samples; None: the engine's default (256).
    max_num_seqs: int | None = None
    # Own hardware (issue 14): a custom GPU, system RAM for CPU offload, the split of layers
    # over several GPUs (llama.cpp --tensor-split "3,1"), Apple's iogpu.wired_limit_mb, and
    # the RAM's bandwidth (default: the catalog's dual-channel DDR5-5600, 89.6 GB/s).
    gpu_memory_bytes: int | None = None
    gpu_bandwidth_gbs: float | None = None
    ram_bytes: int | None = None
    offload: str = "auto"
    tensor_split: str | None = None
    wired_limit_mb: int | None = None
    ram_bandwidth_gbs: float | None = None
    # llama.cpp -ngl: layers on the GPUs (the output layer counts as one); None lets the
    # engine decide (llama.cpp --fit, Ollama's estimate).
    n_gpu_layers: int | None = None
    # llama.cpp --n-cpu-moe N: the routed experts of the first N layers stay in system RAM.
    n_cpu_moe: int | None = None
    # llama.cpp backend for the speed estimate: cuda, rocm, vulkan, metal, sycl, cpu
    # (None: the device vendor's own; Vulkan runs on any GPU).
    backend: str | None = None

    def __post_init__(self) -> None:
        _check_int("batch", self.batch, 1, MAX_BATCH)
        if self.context is not None:
            _check_int("context", self.context, 1, MAX_CONTEXT)
        if self.generated_tokens is not None:
            _check_int("generated_tokens", self.generated_tokens, 0, MAX_CONTEXT)
        if self.engine not in ENGINE_PROFILES:
            raise OptionError(
                f"unknown engine {self.engine!r}; choose one of {', '.join(ENGINE_PROFILES)}"
            )
        if self.kv_dtype not in KV_DTYPES:
            raise OptionError(
                f"unknown KV cache dtype {self.kv_dtype!r}; choose one of {', '.join(KV_DTYPES)}"
            )
        if self.block_size is not None:
            _check_int("block_size", self.block_size, 1, 4096)
        _check_int("group_size", self.group_size, 1, 1 << 20)
        if self.layers is not None:
            _check_int("layers", self.layers, 1, 10_000)
        if self.kv_heads is not None:
            _check_int("kv_heads", self.kv_heads, 1, 10_000)
        _check_int("gpus", self.gpus, 1, 4096)
        if self.gpu_memory_bytes is not None:
            _check_int("gpu_memory_bytes", self.gpu_memory_bytes, 1, 1 << 50)
        if self.ram_bytes is not None:
            _check_int("ram_bytes", self.ram_bytes, 1, 1 << 52)
        if self.wired_limit_mb is not None:
            _check_int("wired_limit_mb", self.wired_limit_mb, 1, 1 << 30)
        for name in ("gpu_bandwidth_gbs", "ram_bandwidth_gbs"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not 0 < value < 1e6):
                raise OptionError(f"{name} must be a positive number of GB/s, got {value!r}")
        if self.n_gpu_layers is not None:
            _check_int("n_gpu_layers", self.n_gpu_layers, 0, 100_000)
        if self.n_cpu_moe is not None:
            _check_int("n_cpu_moe", self.n_cpu_moe, 0, 100_000)
        if self.backend is not None and self.backend not in LLAMA_BACKENDS:
            raise OptionError(
                f"unknown backend {self.backend!r}; choose one of {', '.join(LLAMA_BACKENDS)}"
            )
        if self.offload not in OFFLOAD_MODES:
            raise OptionError(
                f"unknown offload mode {self.offload!r}; choose one of {', '.join(OFFLOAD_MODES)}"
            )
        if self.tensor_split is not None:
            parse_tensor_split(self.tensor_split)
        _check_int("pipeline_parallel", self.pipeline_parallel, 1, 4096)
        if self.tensor_parallel is not None:
            _check_int("tensor_parallel", self.tensor_parallel, 1, 4096)
        if self.tp * self.pipeline_parallel > self.gpu_count:
            raise OptionError(
                f"tensor_parallel ({self.tp}) x pipeline_parallel ({self.pipeline_parallel}) "
                f"needs {self.tp * self.pipeline_parallel} GPUs but gpus is {self.gpu_count}"
            )
        if not 0.0 <= self.headroom < 1.0:
            raise OptionError(f"headroom must be in [0, 1), got {self.headroom}")
        if not 0.0 < self.gpu_memory_utilization <= 1.0:
            raise OptionError(
                f"gpu_memory_utilization must be in (0, 1], got {self.gpu_memory_utilization}"
            )
        if self.max_num_batched_tokens is not None:
            _check_int("max_num_batched_tokens", self.max_num_batched_tokens, 1, MAX_CONTEXT)
        if self.max_num_seqs is not None:
            _check_int("max_num_seqs", self.max_num_seqs, 1, MAX_BATCH)
        if not isinstance(self.precision, str) or not self.precision:
            raise OptionError("precision must be a non-empty string")

    @property
    def device_count(self) -> int:
        """Devices named in ``gpu`` (a comma list such as "rtx3090,rtx4060"; 2x rtx3090)."""
        if not self.gpu:
            return 1 if self.gpu_memory_bytes else 0
        from .devices import device_list

        return len(device_list(self.gpu))

    @property
    def gpu_count(self) -> int:
        """GPUs in use: ``gpus``, or the length of a ``gpu`` list when that is longer."""
        return max(self.gpus, self.device_count)

    @property
    def tp(self) -> int:
        """Tensor-parallel degree actually used."""
        if self.tensor_parallel is not None:
            return self.tensor_parallel
        return max(1, self.gpu_count // self.pipeline_parallel)

    def with_(self, **changes: Any) -> EstimateOptions:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_tensor_split(text: str) -> tuple[float, ...]:
    """llama.cpp's --tensor-split: proportions per GPU, comma separated ("3,1", "0.6,0.4")."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise OptionError(
            f"tensor_split must be numbers separated by commas, got {text!r}"
        ) from None
    if not values or any(v < 0 for v in values) or not any(v > 0 for v in values):
        raise OptionError(f"tensor_split needs non-negative proportions, not all zero: {text!r}")
    return values


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise OptionError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise OptionError(f"{name} must be between {low} and {high}, got {value}")

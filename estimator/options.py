"""What a user can ask of an estimate, with defaults and range checks.

One frozen dataclass is shared by the library, the CLI and the page so that an
estimate is fully described by (config, metadata, options) and can be echoed
back, put in a URL, or reproduced from the command line.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from .errors import OptionError

__all__ = ["ENGINES", "KV_DTYPES", "MAX_BATCH", "EstimateOptions"]

#: Engines whose allocation rules are modelled (see :mod:`estimator.engines`).
ENGINES = ("generic", "transformers", "vllm", "llama.cpp", "sglang", "tgi")

#: KV cache element types. ``auto`` follows the activation dtype (bf16/fp16).
KV_DTYPES = ("auto", "fp32", "fp16", "bf16", "fp8", "q8_0", "q4_0")

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

    def __post_init__(self) -> None:
        _check_int("batch", self.batch, 1, MAX_BATCH)
        if self.context is not None:
            _check_int("context", self.context, 1, MAX_CONTEXT)
        if self.generated_tokens is not None:
            _check_int("generated_tokens", self.generated_tokens, 0, MAX_CONTEXT)
        if self.engine not in ENGINES:
            raise OptionError(f"unknown engine {self.engine!r}; choose one of {', '.join(ENGINES)}")
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
        _check_int("pipeline_parallel", self.pipeline_parallel, 1, 4096)
        if self.tensor_parallel is not None:
            _check_int("tensor_parallel", self.tensor_parallel, 1, 4096)
        if self.tp * self.pipeline_parallel > self.gpus:
            raise OptionError(
                f"tensor_parallel ({self.tp}) x pipeline_parallel ({self.pipeline_parallel}) "
                f"needs {self.tp * self.pipeline_parallel} GPUs but gpus is {self.gpus}"
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
    def tp(self) -> int:
        """Tensor-parallel degree actually used."""
        if self.tensor_parallel is not None:
            return self.tensor_parallel
        return max(1, self.gpus // self.pipeline_parallel)

    def with_(self, **changes: Any) -> EstimateOptions:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EstimateOptions:
        """Build from a mapping, ignoring unknown keys (URL state, JSON)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise OptionError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise OptionError(f"{name} must be between {low} and {high}, got {value}")

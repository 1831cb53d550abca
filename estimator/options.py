"""What a user can ask of an estimate: the typed options, checked against their ranges and
choices as estimator/schema.py declares them (the messages name the field at fault).

One frozen dataclass is shared by the library, the CLI and the page so that an
estimate is fully described by (config, metadata, options) and can be echoed
back, put in a URL, or reproduced from the command line.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from .errors import OptionError
from .schema import (
    KV_DTYPES,
    LLAMA_BACKENDS,
    MAX_BATCH,
    MAX_CONTEXT,
    OFFLOAD_MODES,
    OPTION,
    OPTIONS,
    Option,
)

__all__ = [
    "ENGINES", "KV_DTYPES", "LLAMA_BACKENDS", "MAX_BATCH", "MAX_CONTEXT", "OFFLOAD_MODES",
    "EstimateOptions",
]

#: Engines whose allocation rules are modelled: the keys of ENGINE_PROFILES, the one list of
#: engines (an engine is one profile in :mod:`estimator.engines`).
ENGINES = tuple(OPTION["engine"].choices)


def _default(name: str) -> Any:
    """The field's default, as estimator.schema declares it."""
    return OPTION[name].default


@dataclass(frozen=True)
class EstimateOptions:
    """Inputs of one estimate besides the model itself.

    ``context`` is the total sequence length per request (prompt + generated);
    ``None`` means min(model limit, 4096). ``generated_tokens`` is the part of it
    produced by decoding (the rest is the prompt, processed in one prefill).
    ``precision`` ``auto`` means "as published": the checkpoint's quantization, or
    its dtype with fp32 served as fp16 (vLLM's ``dtype=auto`` rule).
    """

    # Types here, everything else (default, range, help, flags, URL key, page control) in
    # estimator.schema; tests/unit/test_schema.py checks that the two list the same fields.
    precision: str = _default("precision")
    kv_dtype: str = _default("kv_dtype")
    engine: str = _default("engine")
    batch: int = _default("batch")
    context: int | None = _default("context")
    generated_tokens: int | None = _default("generated_tokens")
    flash_attention: bool = _default("flash_attention")
    swa_full: bool = _default("swa_full")
    paged_attention: bool | None = _default("paged_attention")  # None: the engine's default
    block_size: int | None = _default("block_size")  # None: the engine's default (vLLM 16)
    group_size: int = _default("group_size")
    layers: int | None = _default("layers")  # None: all of them
    kv_heads: int | None = _default("kv_heads")  # None: the config's
    gpu: str | None = _default("gpu")  # catalog key(s), see estimator.devices
    gpus: int = _default("gpus")
    tensor_parallel: int | None = _default("tensor_parallel")  # None: gpus // pp
    pipeline_parallel: int = _default("pipeline_parallel")
    headroom: float = _default("headroom")
    gpu_memory_utilization: float = _default("gpu_memory_utilization")
    max_num_batched_tokens: int | None = _default("max_num_batched_tokens")
    max_num_seqs: int | None = _default("max_num_seqs")  # None: the engine's default
    # Own hardware (issue 14): a custom GPU, system RAM for CPU offload, the split of layers
    # over several GPUs (llama.cpp --tensor-split "3,1"), Apple's iogpu.wired_limit_mb, and
    # the RAM's bandwidth (default: the catalog's dual-channel DDR5-5600, 89.6 GB/s).
    gpu_memory_bytes: int | None = _default("gpu_memory_bytes")
    gpu_bandwidth_gbs: float | None = _default("gpu_bandwidth_gbs")
    ram_bytes: int | None = _default("ram_bytes")
    offload: str = _default("offload")
    tensor_split: str | None = _default("tensor_split")
    wired_limit_mb: int | None = _default("wired_limit_mb")
    ram_bandwidth_gbs: float | None = _default("ram_bandwidth_gbs")
    n_gpu_layers: int | None = _default("n_gpu_layers")  # None: the engine decides
    n_cpu_moe: int | None = _default("n_cpu_moe")
    backend: str | None = _default("backend")  # None: the device vendor's own
    enforce_eager: bool = _default("enforce_eager")  # no CUDA graphs (vLLM --enforce-eager)

    def __post_init__(self) -> None:
        for option in OPTIONS:
            _check(option, getattr(self, option.name))
        if self.tensor_split is not None:
            parse_tensor_split(self.tensor_split)
        if self.tp * self.pipeline_parallel > self.gpu_count:
            raise OptionError(
                f"tensor_parallel ({self.tp}) x pipeline_parallel ({self.pipeline_parallel}) "
                f"needs {self.tp * self.pipeline_parallel} GPUs but gpus is {self.gpu_count}"
            )

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


def _check(option: Option, value: Any) -> None:
    """Raise OptionError when ``value`` is outside what estimator.schema allows."""
    name = option.name
    if value is None and option.optional:
        return
    if option.choices:
        if value not in option.choices:
            raise OptionError(
                f"unknown {option.noun} {value!r}; choose one of {', '.join(option.choices)}"
            )
    elif option.kind in ("int", "float"):
        low, high = option.bounds
        if option.kind == "int":
            _check_int(name, value, int(low), int(high))
        elif option.unit == "GB/s":
            if isinstance(value, bool) or not low < value < high:
                raise OptionError(f"{name} must be a positive number of GB/s, got {value!r}")
        elif not ((low < value) if option.open_low else (low <= value)) or not (
            (value < high) if option.open_high else (value <= high)
        ):
            raise OptionError(f"{name} must be in {option.range_text()}, got {value}")
    elif option.kind == "str" and not option.optional and (not isinstance(value, str) or not value):
        raise OptionError(f"{name} must be a non-empty string")


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise OptionError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise OptionError(f"{name} must be between {low} and {high}, got {value}")

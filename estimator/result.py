"""Typed results of an estimate, and their stable JSON form.

Byte figures are integers. ``to_dict`` is the documented JSON schema used by
``llm-mem --json`` and by the page; keys are only ever added, never renamed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .options import EstimateOptions
from .values import MAX_PARAMS, describe_number

if TYPE_CHECKING:
    from .placement import Placement
    from .speed import SpeedEstimate

__all__ = [
    "GB",
    "GIB",
    "Component",
    "Estimate",
    "GpuFit",
    "ModelSummary",
    "ParallelPlan",
    "Recommendation",
    "WeightMetadata",
]

GIB = 1024**3  # what nvidia-smi and torch call "GB"
GB = 1000**3  # what GPU vendors print on the box


@dataclass(frozen=True)
class WeightMetadata:
    """Exact facts about the stored weights, read from the Hub when available.

    ``safetensors_parameters`` is the model API's dtype -> element count map
    (packed for int4/MXFP4 checkpoints: elements, not parameters);
    ``safetensors_total_bytes`` is ``metadata.total_size`` of the index file;
    ``gguf_file_bytes`` is the size of a chosen GGUF file.
    """

    safetensors_parameters: dict[str, int] | None = None
    safetensors_total_bytes: int | None = None
    gguf_file_bytes: int | None = None
    gguf_quant: str | None = None
    source: str = ""  # where it came from, e.g. "hub-api" / "index.json"

    def __post_init__(self) -> None:
        # Counts and sizes are whole, non-negative and within what a model can have (the
        # Hub client drops impossible values; this guards every other caller).
        for dtype, count in (self.safetensors_parameters or {}).items():
            _check_metadata(f"safetensors_parameters[{dtype!r}]", count, MAX_PARAMS)
        _check_metadata("safetensors_total_bytes", self.safetensors_total_bytes, 8 * MAX_PARAMS)
        _check_metadata("gguf_file_bytes", self.gguf_file_bytes, 8 * MAX_PARAMS)


def _check_metadata(name: str, value: object, high: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        raise ConfigError(
            f"weight metadata {name} must be a whole number from 0 to {describe_number(high)}, "
            f"got {describe_number(value)}"
        )


@dataclass(frozen=True)
class Component:
    """One line of the breakdown: its bytes and the formula inputs behind it."""

    name: str  # weights | kv_cache | activations | overhead
    bytes: int
    formula: str
    inputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelSummary:
    """What was detected in the config, as shown to the user."""

    model_type: str
    architecture: str
    params: int
    active_params: int
    param_source: str  # safetensors-metadata | index-total-size | gguf-file | config-arithmetic
    layers: int
    hidden_size: int
    attention: str  # MHA | GQA | MQA | MLA | none
    num_attention_heads: int
    num_kv_heads: int
    head_dim: int
    sliding_window: int | None
    sliding_layers: int
    ssm_layers: int
    experts: int
    experts_per_token: int
    max_context: int | None
    vocab_size: int
    tied_embeddings: bool
    vision_params: int
    pre_quantization: str | None
    checkpoint_dtype: str | None


@dataclass(frozen=True)
class ParallelPlan:
    """How the total is laid over GPUs under tensor and pipeline parallelism."""

    tensor_parallel: int
    pipeline_parallel: int
    gpus: int
    per_gpu_bytes: int
    split: tuple[str, ...]
    replicated: tuple[str, ...]
    notes: tuple[str, ...] = ()
    kv_per_gpu_bytes: int = 0  # KV cache and recurrent state held by one GPU
    kv_share: float = 1.0  # fraction of the attention KV bytes one GPU holds
    weights_per_gpu_bytes: int = 0  # the split matrices plus what every rank holds whole
    activations_per_gpu_bytes: int = 0  # the split block intermediates plus whole logits


@dataclass(frozen=True)
class GpuFit:
    """Whether the per-GPU need fits the chosen GPU with the headroom kept free."""

    gpu: str
    gpu_name: str
    capacity_bytes: int
    usable_bytes: int
    per_gpu_bytes: int
    fits: bool
    utilization: float  # per_gpu_bytes / capacity


@dataclass(frozen=True)
class Recommendation:
    """The smallest count of one GPU model that holds the estimate, and how to split it."""

    gpu: str
    gpu_name: str
    count: int | None  # None: no count up to the search limit fits
    tensor_parallel: int | None
    text: str


@dataclass(frozen=True)
class Estimate:
    """A full memory estimate for one model and one set of options."""

    model: ModelSummary
    options: EstimateOptions
    precision: str  # resolved weight precision key
    kv_dtype: str  # resolved KV dtype key
    context: int
    weights_bytes: int
    kv_cache_bytes: int
    kv_bytes_per_token: int
    activation_bytes: int
    overhead_bytes: int
    total_bytes: int
    components: tuple[Component, ...]
    parallel: ParallelPlan
    fit: GpuFit | None
    recommendation: Recommendation | None
    engine_reserved_bytes: int | None  # vLLM/SGLang: what the engine grabs up front
    warnings: tuple[str, ...]
    # vLLM/SGLang/TGI with a GPU: tokens the engine's KV pool holds per replica, and how many
    # requests of this context fit at once (vLLM's "GPU KV cache size: N tokens" and
    # "Maximum concurrency for N tokens per request: Xx").
    engine_kv_capacity_tokens: int | None = None
    engine_max_concurrency: float | None = None
    # With hardware given: where each part goes (GPUs, system RAM) and how fast it runs.
    placement: Placement | None = None
    speed: SpeedEstimate | None = None

    @property
    def params(self) -> int:
        return self.model.params

    @property
    def per_gpu_bytes(self) -> int:
        return self.parallel.per_gpu_bytes

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape (integers for bytes)."""
        # Imported here: both modules read this one's types.
        from .confidence import confidence, estimate_error, fit_verdict
        from .explain import explain

        conf = confidence(self)
        error = estimate_error(self, conf)
        return {
            "params": self.model.params,
            "active_params": self.model.active_params,
            "param_source": self.model.param_source,
            "weights_bytes": self.weights_bytes,
            "kv_cache_bytes": self.kv_cache_bytes,
            "kv_bytes_per_token": self.kv_bytes_per_token,
            "activation_bytes": self.activation_bytes,
            "overhead_bytes": self.overhead_bytes,
            "total_bytes": self.total_bytes,
            "per_gpu_bytes": self.parallel.per_gpu_bytes,
            "engine_reserved_bytes": self.engine_reserved_bytes,
            "engine_kv_capacity_tokens": self.engine_kv_capacity_tokens,
            "engine_max_concurrency": self.engine_max_concurrency,
            "fits": None if self.fit is None else self.fit.fits,
            "fit": None if self.fit is None else asdict(self.fit),
            "recommendation": None if self.recommendation is None else asdict(self.recommendation),
            "warnings": list(self.warnings),
            "precision": self.precision,
            "kv_dtype": self.kv_dtype,
            "context": self.context,
            "model": asdict(self.model),
            "components": [asdict(c) for c in self.components],
            "parallel": asdict(self.parallel),
            "inputs": self.options.to_dict(),
            "placement": None if self.placement is None else self.placement.to_dict(),
            "speed": None if self.speed is None else self.speed.to_dict(),
            "confidence": {name: c.to_dict() for name, c in conf.items()},
            "estimate_error_pct": None if error is None else round(error, 2),
            "fit_verdict": fit_verdict(self, conf),
            "formulas": [f.to_dict() for f in explain(self)],
        }

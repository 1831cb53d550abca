"""Tokens per second from bandwidth and compute: an estimate with a measured error.

Decode reads, for every token, the weights a token passes through (all of a dense model,
the routed experts a batch touches in a MoE) and the KV cache of every sequence; a GPU
streams them at its memory bandwidth, layers left in system RAM at the RAM's bandwidth,
one device after the other (llama.cpp splits by layers). Each token also pays a fixed
launch cost per layer. Prefill is bound by compute: ``2 x active parameters`` FLOPs per
prompt token plus attention, at the device's dense peak (INT8 tensor rate for llama.cpp's
quantized matmuls, FP16 otherwise); layers in RAM stream their weights over PCIe to the
GPU once per micro-batch (ggml-backend's op offload, llama.cpp PR #6083).

The efficiencies (share of peak bandwidth, per-layer cost, share of peak compute) are
fitted per backend to published llama-bench runs, ``data/speed_fit.json``, written by
``tests/validation/fit_speed.py`` from ``tests/validation/speed_records.json``; the rows
held out of the fit give the error the ``speed`` answer states.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .devices import Device
from .engines import ENGINE_PROFILES

__all__ = [
    "DEFAULT_RAM_BANDWIDTH_GBS",
    "SpeedEstimate",
    "SpeedInputs",
    "backend_of",
    "decode_terms",
    "estimate_speed",
    "prefill_terms",
    "speed_fit",
]

#: System RAM bandwidth when none is given: dual-channel DDR5-5600 (the catalog's
#: cpu-ddr5-2ch, 2 x 8 B x 5600 MT/s = 89.6 GB/s).
DEFAULT_RAM_BANDWIDTH_GBS = 89.6


@lru_cache(maxsize=1)
def speed_fit() -> dict[str, Any]:
    """The fitted efficiencies per backend (``data/speed_fit.json``)."""
    try:  # a plain file (pip install, the page's worker): importlib.resources costs more to import
        text = (Path(__file__).with_name("data") / "speed_fit.json").read_text("utf-8")
    except OSError:  # pragma: no cover - a zipped install
        from importlib import resources

        text = resources.files("estimator").joinpath("data/speed_fit.json").read_text("utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


#: llama.cpp backends the speed model knows (efficiencies are fitted per backend).
BACKENDS = ("cuda", "rocm", "vulkan", "metal", "sycl", "cpu")

#: Engines whose speed the fitted llama.cpp efficiencies describe (the ggml runtime).
FITTED_ENGINES = tuple(key for key, p in ENGINE_PROFILES.items() if p.runtime == "ggml")

#: Other engines (vLLM, SGLang, TGI, transformers, generic): a plain roofline, NOT fitted to
#: any measured run - an assumed 80% of peak memory bandwidth in decode and 60% of the dense
#: FP16 tensor peak in prefill, no per-layer launch cost (CUDA graphs), no tensor-parallel
#: communication. The answer says it is unvalidated.
ROOFLINE = {
    "decode_efficiency": 0.8,
    "gbs_per_unit": 0.0,
    "layer_seconds": 0.0,
    "dequant_flops_per_param": 0.0,
    "prefill_efficiency": 0.6,
    "prefill_cap_tflops": 0.0,
}


def backend_of(device: Device, engine: str, override: str | None = None) -> str:
    """The llama.cpp backend a device runs on: ``override`` (e.g. Vulkan on any GPU), else
    the vendor's own (CUDA, ROCm, Metal, SYCL; CPU); ``roofline`` for engines other than
    llama.cpp and Ollama."""
    if engine not in FITTED_ENGINES and device.kind != "cpu":
        return "roofline"
    if override and device.kind not in ("apple", "cpu"):
        return override
    if device.kind == "apple":
        return "metal"
    if device.kind == "cpu":
        return "cpu"
    if device.vendor == "amd":
        return "rocm"
    if device.vendor == "intel":
        return "sycl"
    return "cuda"


@dataclass(frozen=True)
class DeviceShare:
    """What one device holds for the speed model: bytes read per token and FLOPs."""

    device: Device | None  # None: the CPU side
    weights_bytes: int  # weights of the layers it runs (experts at full size)
    expert_bytes: int  # of which routed experts
    kv_bytes_per_token: int  # KV bytes one cached token adds on this device
    layers: int
    params: int  # parameters it computes per token (active)


@dataclass(frozen=True)
class SpeedInputs:
    """Plain data the speed model needs, so the page and tests can call it directly."""

    shares: tuple[DeviceShare, ...]
    engine: str
    quantized: bool  # GGUF-quantized weights (llama.cpp's MMQ path)
    experts_active_fraction: float  # k / E of a MoE (1.0 for dense models)
    prompt_tokens: int
    generated_tokens: int
    batch: int
    attention_flops_per_token_per_ctx: float  # 4 x layers x heads x head_dim
    total_layers: int
    ram_bandwidth_gbs: float
    cpu_tflops: float
    pcie_gbs: float | None  # host link of the GPUs (offloaded weights cross it)
    backend: str | None = None  # llama.cpp backend chosen for the GPUs (None: the vendor's)


@dataclass(frozen=True)
class SpeedEstimate:
    """Decode and prefill tokens per second for one setup, and what bounds each."""

    decode_tokens_per_s: float | None  # one sequence
    decode_tokens_per_s_batch: float | None  # all sequences of the batch together
    prefill_tokens_per_s: float | None
    batch: int
    bound: str  # memory | compute | cpu-memory | pcie
    prefill_bound: str
    efficiency_source: str
    error: str
    notes: tuple[str, ...] = ()
    decode_context_tokens: int = 0  # tokens in the KV cache a decode step reads (average fill)

    def to_dict(self) -> dict[str, Any]:
        return {
            "decode_tokens_per_s": self.decode_tokens_per_s,
            "decode_tokens_per_s_batch": self.decode_tokens_per_s_batch,
            "prefill_tokens_per_s": self.prefill_tokens_per_s,
            "batch": self.batch,
            "bound": self.bound,
            "prefill_bound": self.prefill_bound,
            "efficiency_source": self.efficiency_source,
            "error": self.error,
            "notes": list(self.notes),
            "decode_context_tokens": self.decode_context_tokens,
        }


Params = dict[str, dict[str, float]]


def _params(backend: str, override: Params | None = None) -> dict[str, float]:
    fit = override if override is not None else speed_fit()["backends"]
    if backend == "roofline" and backend not in fit:
        return ROOFLINE
    found: dict[str, float] = fit.get(backend) or fit["default"]
    return found


def _peak_flops(device: Device, engine: str, quantized: bool) -> float | None:
    """Dense peak FLOP/s a prompt's matmuls are measured against: llama.cpp's GEMMs (cuBLAS
    F16 with FP16 accumulate; quantized weights dequantized to it, or int8 MMQ at a similar
    achieved rate) against the FP16-accumulate tensor peak; PyTorch engines accumulate in
    FP32."""
    if engine in FITTED_ENGINES:
        tflops = device.fp16_acc16_tflops or device.fp16_tflops
    else:
        tflops = device.fp16_tflops
    return tflops * 1e12 if tflops else None


def _expert_touch(fraction: float, batch: int) -> float:
    """Share of routed experts a batch reads: each token picks k of E, so a batch of B
    touches 1 - (1 - k/E)^B of them (uniform routing)."""
    if fraction >= 1.0:
        return 1.0
    return 1.0 - (1.0 - fraction) ** max(batch, 1)


def _read_bytes(inputs: SpeedInputs, share: DeviceShare, batch: int) -> float:
    """Bytes one decode step reads on a device: weights (the experts a batch touches) and
    the KV cache of every sequence at the average fill of the generation."""
    avg_ctx = inputs.prompt_tokens + max(inputs.generated_tokens, 1) / 2
    touch = _expert_touch(inputs.experts_active_fraction, batch)
    read = share.weights_bytes - share.expert_bytes * (1 - touch)
    return read + share.kv_bytes_per_token * avg_ctx * batch


def _stream_gbs(device: Device, p: dict[str, float]) -> float:
    """GB/s a decode step streams on ``device``: a share of the memory bandwidth, capped by
    the loads its cores keep in flight (in proportion to its SMs / CUs / GPU cores): an M1
    Max 24-core reads ~190 GB/s of its 400, an A100 or H100 PCIe (108 / 114 SMs) ~1000 GB/s
    of their 2000 in the published runs (tests/validation/speed_records.json)."""
    bw = (device.bandwidth_gbs or 0.0) * p["decode_efficiency"]
    cap = p.get("gbs_per_unit", 0.0) * (device.compute_units or 0)
    return min(bw, cap) if cap else bw


def _dequant_seconds(inputs: SpeedInputs, share: DeviceShare, p: dict[str, float]) -> float:
    """Unpacking quantized weights costs GPU arithmetic per parameter a token reads, which
    on GPUs with little compute per byte of bandwidth (Apple) shows in decode: Q4 rows of
    the same Mac run at ~60% of the F16 rows' bandwidth (tests/validation/speed_records)."""
    device = share.device
    if not inputs.quantized or device is None or not device.fp32_tflops:
        return 0.0
    return share.params * p.get("dequant_flops_per_param", 0.0) / (device.fp32_tflops * 1e12)


@dataclass(frozen=True)
class DecodeTerms:
    """What one decode step of a GPU-only placement consists of, for fitting."""

    reads: tuple[tuple[float, float, float], ...]  # (bytes, bandwidth GB/s, compute units)
    layers: int
    dequant_seconds: float  # at one FLOP per quantized parameter
    backend: str

    def seconds(self, p: dict[str, float]) -> float:
        total = self.layers * p.get("layer_seconds", 0.0)
        total += self.dequant_seconds * p.get("dequant_flops_per_param", 0.0)
        for read, bw, units in self.reads:
            cap = p.get("gbs_per_unit", 0.0) * units
            stream = min(bw * p["decode_efficiency"], cap) if cap else bw * p["decode_efficiency"]
            total += read / (stream * 1e9)
        return total


def decode_terms(inputs: SpeedInputs) -> DecodeTerms | None:
    """The decode terms of a placement on GPUs only (None when part runs on the CPU)."""
    reads = []
    layers = 0
    dequant = 0.0
    backends = set()
    for share in inputs.shares:
        if share.device is None or not share.device.bandwidth_gbs:
            return None
        backends.add(backend_of(share.device, inputs.engine, inputs.backend))
        reads.append(
            (
                _read_bytes(inputs, share, 1),
                share.device.bandwidth_gbs,
                float(share.device.compute_units or 0),
            )
        )
        layers += share.layers
        dequant += _dequant_seconds(inputs, share, {"dequant_flops_per_param": 1.0})
    return DecodeTerms(tuple(reads), layers, dequant, "+".join(sorted(backends)))


def _prefill_flops_per_s(peak: float, p: dict[str, float]) -> float:
    """FLOP/s a prompt's matmuls reach: a share of the peak, and no more than the backend's
    fitted ceiling (the published runs level off near it on the biggest GPUs)."""
    rate = peak * p["prefill_efficiency"]
    cap = p.get("prefill_cap_tflops", 0.0) * 1e12
    return 1.0 / (1.0 / rate + 1.0 / cap) if cap else rate


def prefill_terms(inputs: SpeedInputs) -> tuple[float, float] | None:
    """(seconds of the prompt at peak compute, FLOPs of the prompt) of a one-GPU placement:
    the fit solves ``t = FLOPs / rate(e, ceiling)`` with them."""
    if len(inputs.shares) != 1 or inputs.shares[0].device is None:
        return None
    share = inputs.shares[0]
    device = share.device
    assert device is not None
    peak = _peak_flops(device, inputs.engine, inputs.quantized)
    if not peak:
        return None
    n = inputs.prompt_tokens or 512
    flops = n * (2 * share.params + inputs.attention_flops_per_token_per_ctx * (n / 2))
    return flops / peak, flops


def estimate_speed(inputs: SpeedInputs, params: Params | None = None) -> SpeedEstimate:
    """Decode and prefill tokens/s for one placement (``params``: efficiencies per backend
    instead of the fitted ones, for the fit itself)."""
    fit = speed_fit()
    notes: list[str] = []

    def step_time(batch: int) -> tuple[float, str]:
        total = 0.0
        worst = ("memory", 0.0)
        for share in inputs.shares:
            read = _read_bytes(inputs, share, batch)
            if share.device is None:
                p = _params("cpu", params)
                mem = read / (p["decode_efficiency"] * inputs.ram_bandwidth_gbs * 1e9)
                flops = 2 * share.params * batch
                comp = flops / (p["prefill_efficiency"] * inputs.cpu_tflops * 1e12)
                t = max(mem, comp) + share.layers * p["layer_seconds"]
                kind = "cpu-memory" if mem >= comp else "compute"
            else:
                backend = backend_of(share.device, inputs.engine, inputs.backend)
                p = _params(backend, params)
                bw = share.device.bandwidth_gbs or 0.0
                if not bw:
                    return float("nan"), "unknown"
                mem = read / (_stream_gbs(share.device, p) * 1e9)
                mem += _dequant_seconds(inputs, share, p)
                peak = _peak_flops(share.device, inputs.engine, inputs.quantized)
                comp = 2 * share.params * batch / (p["prefill_efficiency"] * peak) if peak else 0.0
                t = max(mem, comp) + share.layers * p["layer_seconds"]
                kind = "memory" if mem >= comp else "compute"
            total += t
            if t > worst[1]:
                worst = (kind, t)
        return total, worst[0]

    t1, bound = step_time(1)
    decode = None if t1 != t1 or t1 <= 0 else 1.0 / t1
    tb, _ = step_time(inputs.batch)
    decode_batch = None if tb != tb or tb <= 0 else inputs.batch / tb

    prefill, prefill_bound = _prefill(inputs, params)
    fitted = inputs.engine in FITTED_ENGINES
    backends = sorted(
        {backend_of(s.device, inputs.engine, inputs.backend) for s in inputs.shares if s.device}
        | ({"cpu"} if any(s.device is None for s in inputs.shares) else set())
    )
    if any(s.device is None for s in inputs.shares):
        notes.append(
            "layers in system RAM run at the RAM's bandwidth "
            f"({inputs.ram_bandwidth_gbs:g} GB/s assumed; --ram-bandwidth sets it)"
        )
    held = fit.get("held_out", {})
    if fitted:
        source = f"llama.cpp {'+'.join(backends)} efficiencies, {fit.get('source', '')}"
        on_cpu = any(s.device is None for s in inputs.shares)
        error = (
            f"held-out error{' on GPU-only runs' if on_cpu else ''}: decode "
            f"{held.get('decode_median_pct', '?')}% median, "
            f"{held.get('decode_worst_pct', '?')}% worst; prefill "
            f"{held.get('prefill_median_pct', '?')}% median, "
            f"{held.get('prefill_worst_pct', '?')}% worst"
        )
        off = fit.get("offload", {}).get("held_out", {})
        if on_cpu and off.get("rows"):
            error += (
                f"; with layers or experts in system RAM, decode {off['median_pct']}% median, "
                f"{off['worst_pct']}% worst over {off['rows']} held-out runs on one host"
            )
    else:
        source = (
            "roofline (assumed 80% of memory bandwidth, 60% of dense FP16 peak; not fitted)"
        )
        error = (
            f"not measured for {inputs.engine}: an unvalidated roofline without "
            "tensor-parallel communication"
        )
    return SpeedEstimate(
        decode_tokens_per_s=None if decode is None else round(decode, 1),
        decode_tokens_per_s_batch=None if decode_batch is None else round(decode_batch, 1),
        prefill_tokens_per_s=None if prefill is None else round(prefill, 1),
        batch=inputs.batch,
        bound=bound,
        prefill_bound=prefill_bound,
        efficiency_source=source,
        error=error,
        notes=tuple(notes),
        decode_context_tokens=int(inputs.prompt_tokens + max(inputs.generated_tokens, 1) / 2),
    )


def _prefill(inputs: SpeedInputs, params: Params | None) -> tuple[float | None, str]:
    """Prompt tokens/s for a prompt of ``prompt_tokens`` (512 when there is none)."""
    n = inputs.prompt_tokens or 512
    ubatch = 512
    total = 0.0
    bound = "compute"
    worst = 0.0
    offloaded = sum(s.weights_bytes for s in inputs.shares if s.device is None)
    gpus = [s for s in inputs.shares if s.device is not None]
    for share in inputs.shares:
        attn = (
            inputs.attention_flops_per_token_per_ctx
            * (n / 2)
            * (share.layers / max(inputs.total_layers, 1))
        )
        flops = n * (2 * share.params + attn)
        if share.device is None:
            if gpus and not gpus[0].device.unified and inputs.pcie_gbs:  # type: ignore[union-attr]
                # op offload: the GPU computes these layers, their weights cross PCIe once
                # per micro-batch (ggml-backend sched, llama.cpp PR #6083).
                p = _params(backend_of(gpus[0].device, inputs.engine, inputs.backend), params)  # type: ignore[arg-type]
                peak = _peak_flops(gpus[0].device, inputs.engine, inputs.quantized)  # type: ignore[arg-type]
                comp = flops / _prefill_flops_per_s(peak, p) if peak else 0.0
                link = offloaded * -(-n // ubatch) / (inputs.pcie_gbs * 1e9)
                t = max(comp, link)
                kind = "pcie" if link >= comp else "compute"
            else:
                p = _params("cpu", params)
                t = flops / (p["prefill_efficiency"] * inputs.cpu_tflops * 1e12)
                kind = "compute"
        else:
            p = _params(backend_of(share.device, inputs.engine, inputs.backend), params)
            peak = _peak_flops(share.device, inputs.engine, inputs.quantized)
            if not peak:
                return None, "unknown"
            t = flops / _prefill_flops_per_s(peak, p)
            kind = "compute"
        total += t
        if t > worst:
            worst, bound = t, kind
    if total <= 0:
        return None, "unknown"
    return n / total, bound

#!/usr/bin/env python3
"""Compare the estimator with published engine measurements (tests/validation/records.json).

    python tests/validation/validate.py            # table: measured, estimated, error %
    python tests/validation/validate.py --json     # rows as JSON (build.py's accuracy page)

Each record carries the settings the source states; they become EstimateOptions.
Rows whose model has no verbatim config fixture are listed as "no config"; rows the estimator
cannot reproduce for a stated reason as "not modelled" with that reason (the Accuracy page
shows each as an open note). The engine's own pool figures (vLLM's available KV memory and
maximum concurrency, SGLang's pool tokens) are read from the product's
engine_kv_capacity_tokens / engine_max_concurrency on the record's catalog GPU, with the
engine's budget in the row's unit (``budget``) for their bound.
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from estimator import EstimateOptions, EstimatorError, estimate, parse_config  # noqa: E402
from estimator.gpus import GPUS  # noqa: E402
from estimator.precision import resolve_precision  # noqa: E402

RECORDS = Path(__file__).with_name("records.json")
CONFIGS = ROOT / "tests" / "fixtures" / "configs"
# Engines print GiB as "GB"; "cells" counts KV slots (one token each).
# optimum-benchmark divides by 10^6 ("MB (10^6 B)").
UNITS = {
    "GiB": 1024**3,
    "GB": 1024**3,
    "MiB": 1024**2,
    "MB": 1024**2,
    "MB (10^6 B)": 10**6,
    "cells": 1,
    "x": 1,  # vLLM's "Maximum concurrency for N tokens per request: 3.32x"
}
#: The fallback note of a figure the harness has no rule for: such a row is an error.
NO_RULE = "not modelled for this engine/figure"
#: GPU names as logs print them -> catalog keys (estimator/gpus.py), smallest first.
GPU_NAMES = {
    "RTX 3090": ("rtx3090",),
    "L40S": ("l40s",),
    "A100-SXM4-40GB": ("a100-40gb",),
    "A100": ("a100-40gb", "a100-80gb"),
    "H100": ("h100-80gb",),
    "MI300X": ("mi300x",),
    # SGLang's docs log names no GPU; "avail mem=78.81 GB" before the weights is an 80 GB
    # card, whose H100 and A100 entries differ by 0.03 GiB.
    "80GB-class NVIDIA": ("h100-80gb",),
}


@dataclass
class Row:
    record: str
    model: str
    engine: str
    component: str
    measured: float | None
    estimated: float | None
    unit: str
    error_pct: float | None
    status: str  # compared | no config | not modelled | error
    note: str = ""
    source: str = ""
    # The engine's budget (total x gpu_memory_utilization of the GPU it ran on) in the row's
    # unit, for figures bounded by it (vLLM's KV pool and its maximum concurrency).
    budget: float | None = None


def _is_v1(record: dict[str, Any]) -> bool:
    """vLLM's V1 engine: its log names V1's modules, or the version is 0.8 or later (V1 is the
    default engine from 0.8.0, and V0 was removed in 0.11)."""
    quotes = " ".join(m["quote"] for m in record["measurements"])
    if "gpu_model_runner" in quotes or "EngineCore" in quotes or "gpu_worker" in quotes:
        return True
    version = re.match(r"(\d+)\.(\d+)", str(record.get("engine_version") or ""))
    return version is not None and (int(version[1]), int(version[2])) >= (0, 8)


def _engine_version(record: dict[str, Any]) -> str | None:
    """The release whose rules the estimate follows: vLLM's profile changed between its
    engines and releases (estimator/vllm_v1.py), so a V0 log is estimated as V0 and a V1 log
    as its own release; the pool and every other figure of a record use the same one."""
    if record["engine"] != "vllm":
        return None
    return record.get("engine_version") if _is_v1(record) else "v0"


def _options(record: dict[str, Any], config: dict[str, Any]) -> EstimateOptions:
    s = record["settings"]
    engine = record["engine"]
    precision = str(s.get("precision") or "auto")  # e.g. vLLM --quantization fp8 at load
    gguf = str(s.get("gguf_type") or "").split(" ")[0]
    if gguf.upper() == "MXFP4":
        gguf = "MXFP4_MOE"  # llama.cpp's "MXFP4 MoE" file type
    if gguf and resolve_precision(gguf) is not None:
        precision = resolve_precision(gguf).key  # type: ignore[union-attr]
    elif gguf == "F16":
        precision = "fp16"
    tp = int(s.get("tensor_parallel_size") or 1)
    max_model_len = s.get("max_model_len")
    if engine == "vllm" and not max_model_len:
        # vLLM's default max_model_len is the model's own limit (ModelConfig.max_model_len
        # from max_position_embeddings and rope scaling).
        max_model_len = parse_config(config).max_context
    context = max_model_len or s.get("n_ctx") or 2048
    generated = None
    if s.get("prompt_tokens"):  # transformers generate: the prompt plus the new tokens
        generated = int(s.get("new_tokens") or 0)
        context = int(s["prompt_tokens"]) + generated
    seqs = int(s["batch"]) if engine == "transformers" and s.get("batch") else 1
    if engine == "llama.cpp" and isinstance(s.get("batch"), int):
        seqs = s["batch"]  # llama-server --parallel N: N sequences share n_ctx
        context = context // seqs
    kv = str(s.get("kv_cache_dtype") or "auto").lower()
    kv = {"f16": "fp16", "auto": "auto", "fp8_e4m3": "fp8", "fp8": "fp8"}.get(kv, kv)
    chunk = None
    if engine == "llama.cpp" and s.get("n_ubatch"):
        chunk = int(s["n_ubatch"])
    if engine == "vllm" and not _is_v1(record):
        chunk = max(int(max_model_len or 2048), 2048)  # V0: max(max_model_len, 2048)
    flash = s.get("flash_attn")
    if s.get("attn_implementation"):
        flash = s["attn_implementation"] != "eager"
    if flash is None and engine == "llama.cpp":
        flash = False  # llama.cpp's default until 2025 (-fa was opt-in); these logs predate it
    return EstimateOptions(
        engine=engine
        if engine in ("vllm", "llama.cpp", "transformers", "sglang", "tgi")
        else "generic",
        precision=precision,
        kv_dtype=kv if kv in ("auto", "fp16", "bf16", "fp8", "q8_0", "q4_0") else "auto",
        context=int(context),
        generated_tokens=generated,
        batch=seqs,
        gpus=tp,
        tensor_parallel=tp,
        max_num_batched_tokens=chunk,
        flash_attention=True if flash is None else bool(flash),
        swa_full=bool(s.get("swa_full")),
        gpu_memory_utilization=float(s.get("gpu_memory_utilization") or 0.9),
        max_num_seqs=s.get("max_num_seqs"),
    )


def _catalog_gpu(record: dict[str, Any], measured: dict[str, float]) -> tuple[str | None, str]:
    """The catalog GPU a record ran on, and how it was told: the total the log prints (as
    CUDA reports it) when a catalog GPU has it, else the name; an A100 of unstated size is
    the smallest variant whose budget holds the logged weights and pool."""
    s = record["settings"]
    total = s.get("total_gpu_memory_gib")
    if total:
        for key, gpu in GPUS.items():
            if abs(gpu.memory_bytes / 1024**3 - float(total)) < 0.005:
                return key, ""
        near = min(GPUS, key=lambda k: abs(GPUS[k].memory_bytes / 1024**3 - float(total)))
        if abs(GPUS[near].memory_bytes / 1024**3 - float(total)) <= 0.2:
            gib = GPUS[near].memory_bytes / 1024**3
            return near, f"on the {GPUS[near].name} entry ({gib:.2f} GiB; the log: {total} GiB)"
        return None, f"no catalog GPU has the log's {total} GiB"
    name = str(s.get("gpu") or "")
    for label, keys in sorted(GPU_NAMES.items(), key=lambda kv: -len(kv[0])):
        if label in name:
            util = float(s.get("gpu_memory_utilization") or 0.9)
            held = measured.get("weights", 0) + max(measured.get("kv_cache", 0), 0)
            for key in keys:
                if GPUS[key].memory_bytes * util >= held:
                    if len(keys) == 1:
                        return key, ""
                    return key, f"{key}: the only size whose budget holds the logged figures"
    return None, "the source does not name the GPU"


def _reads_engine_pool(record: dict[str, Any], m: dict[str, Any]) -> bool:
    """Figures of the engine's pool itself, read from the product's engine fields: vLLM's
    available KV memory and maximum concurrency, SGLang's pool token count."""
    if record["engine"] == "vllm":
        return m["component"] in ("kv_cache", "max_concurrency")
    return record["engine"] == "sglang" and m["component"] == "kv_cache_tokens"


def _engine_pool(
    record: dict[str, Any], m: dict[str, Any], config: dict[str, Any], measured: dict[str, float]
) -> tuple[float | None, str, float | None]:
    """vLLM's KV pool or its maximum concurrency as the product reports them
    (engine_kv_capacity_tokens, engine_max_concurrency) on the record's GPU, in the
    measurement's unit, with the engine's budget in that unit."""
    key, how = _catalog_gpu(record, measured)
    if key is None:
        return None, f"{how}, so the engine's budget is not known", None
    opts = _options(record, config).with_(gpu=key)
    if record["engine"] == "sglang":
        fraction = record["settings"].get("mem_fraction_static")
        if not fraction:
            return None, ("mem_fraction_static not stated (SGLang's default depends on the "
                          "GPU's memory and the TP size), so the pool's budget is not known"), None
        opts = opts.with_(gpu_memory_utilization=float(fraction))
    est = estimate(config, opts, engine_version=_engine_version(record))
    plan = est.parallel
    assert est.engine_reserved_bytes is not None
    budget = float(est.engine_reserved_bytes)
    per_request = plan.kv_per_gpu_bytes / opts.batch  # one request of this context, one GPU
    if m["component"] == "kv_cache_tokens":
        if est.engine_kv_capacity_tokens is None:
            return None, "the product gives no token count for this model", None
        per_token = est.kv_bytes_per_token * plan.kv_share
        note = "the product's engine_kv_capacity_tokens"
        tokens = est.engine_kv_capacity_tokens
        return tokens, "; ".join(filter(None, (note, how))), budget / per_token
    if m["component"] == "max_concurrency":
        if est.engine_max_concurrency is None:
            return None, "the product gives no concurrency for this model", None
        note = "the product's engine_max_concurrency"
        requests = est.engine_max_concurrency
        return requests, "; ".join(filter(None, (note, how))), budget / per_request
    unit = UNITS[m["unit"]]
    if est.engine_kv_capacity_tokens is not None:
        pool = est.engine_kv_capacity_tokens * est.kv_bytes_per_token * plan.kv_share
        note = "the product's engine_kv_capacity_tokens x bytes per token per GPU"
    elif est.engine_max_concurrency is not None and est.engine_max_concurrency > 0:
        pool = est.engine_max_concurrency * per_request
        note = "the product's engine_max_concurrency x one request's KV per GPU"
    else:
        return None, "the product gives no pool for this model", None
    return pool / unit, "; ".join(filter(None, (note, how))), budget / unit


def _not_comparable(record: dict[str, Any], m: dict[str, Any]) -> str | None:
    """Why a measurement cannot be compared, when the record says or lacks what matters."""
    s = record["settings"]
    if re.match(r"\s*\d+\s*x", str(s.get("gpu") or "")) and not s.get("tensor_parallel_size"):
        return "several GPUs but the source states no tensor-parallel size"
    quant = str(s.get("quantization") or "")
    if "bitsandbytes" in quant or "w8a8" in quant:
        return "checkpoint's quantization details not stated (no config fixture of it)"
    if record.get("not_modelled") or m.get("not_modelled"):
        return str(record.get("not_modelled") or m["not_modelled"])
    return None


def _estimate_component(
    record: dict[str, Any],
    m: dict[str, Any],
    config: dict[str, Any],
    measurements: dict[str, float],
) -> tuple[float | None, str]:
    """The estimator's figure for one measurement, in the measurement's unit."""
    opts = _options(record, config)
    est = estimate(config, opts, engine_version=_engine_version(record))
    tp = opts.tp
    unit = m["unit"]
    comp = m["component"]
    plan = est.parallel  # the product's own per-GPU split
    per_token = est.kv_bytes_per_token * plan.kv_share
    if comp == "weights":
        weights, params, note = plan.weights_per_gpu_bytes, est.params, "per GPU" if tp > 1 else ""
        inputs = est.components[0].inputs
        on_gpu = any(word in m["quote"] for word in ("CUDA", "Metal", "ROCm", "VRAM"))
        if not on_gpu and not est.model.tied_embeddings:
            weights += inputs["cpu_bytes"]  # "model size" and CPU buffers hold every tensor
        if record["engine"] == "llama.cpp" and est.model.vision_params:
            # llama.cpp loads the vision tower from its own mmproj file (F16): the model
            # buffer and BPW lines cover the language model only.
            weights -= est.model.vision_params * 2
            params -= est.model.vision_params
            note = "language model only (the mmproj file is separate)"
        if unit == "BPW":
            return weights * 8 / params, note
        return weights / UNITS[unit], note
    pool_tokens = next(
        (x["value"] for x in record["measurements"] if x["component"] == "kv_cache_tokens"), None
    )
    if comp in ("kv_cache_k", "kv_cache_v") and record["engine"] == "sglang" and pool_tokens:
        # SGLang logs the pool's token count with its K and V sizes: the layout check.
        return pool_tokens * per_token / 2 / UNITS[unit], "pool tokens x estimated K (or V) bytes"
    if comp in ("kv_cache", "kv_cache_k", "kv_cache_v") and record["engine"] == "llama.cpp":
        share = 0.5 if comp != "kv_cache" else 1.0
        return est.kv_cache_bytes * share / UNITS[unit], ""
    kv_inputs = next(c for c in est.components if c.name == "kv_cache").inputs
    if comp == "kv_cache_swa" and record["engine"] == "llama.cpp":
        return kv_inputs["sliding_bytes"] / UNITS[unit], "sliding-window layers' cache"
    if comp == "kv_cache_non_swa" and record["engine"] == "llama.cpp":
        full = est.kv_cache_bytes - kv_inputs["sliding_bytes"] - kv_inputs["state_bytes"]
        return full / UNITS[unit], "full-attention layers' cache"
    if comp == "recurrent_state" and record["engine"] == "llama.cpp":
        return kv_inputs["state_bytes"] / UNITS[unit], "recurrent (SSM/linear-attention) state"
    if comp == "kv_cache_swa_cells" and record["engine"] == "llama.cpp":
        return kv_inputs["sliding_tokens"], "cells per sequence stream"
    if comp == "gpu_blocks" and "kv_cache" in measurements:
        block = int(record["settings"].get("block_size") or 16)
        return math.floor(
            measurements["kv_cache"] / (block * per_token)
        ), "blocks = measured KV memory / (block x estimated bytes per token)"
    if comp == "kv_cache_tokens" and "kv_cache" in measurements:
        return math.floor(
            measurements["kv_cache"] / per_token
        ), "tokens = measured KV memory / estimated bytes per token"
    act_per_gpu = plan.activations_per_gpu_bytes  # logits are not split by TP
    context_bytes = est.components[-1].inputs["cuda_context_bytes"]
    if comp == "activation_peak" and record["engine"] == "vllm":
        return act_per_gpu / UNITS[unit], "profiled peak per GPU: one block + sampler logits"
    if comp == "peak_allocated" and record["engine"] == "transformers":
        # torch.cuda.max_memory_allocated: weights + cache + the generate peak; the CUDA
        # context is outside torch's allocator.
        return (est.total_bytes - context_bytes) / UNITS[unit], "torch peak allocated"
    if comp == "compute_buffer" and record["engine"] == "llama.cpp":
        return est.activation_bytes / UNITS[unit], ""
    if comp == "non_torch":
        return context_bytes / UNITS[unit], "CUDA context constant"
    return None, NO_RULE


def run() -> list[Row]:
    rows: list[Row] = []
    for record in json.loads(RECORDS.read_text()):
        path = CONFIGS / (record["model_id"].replace("/", "__") + ".json")
        source = record.get("source", {}).get("url", "")
        measurements = {
            m["component"]: m["value"] * UNITS.get(m["unit"], 1)
            for m in record["measurements"]
            if m["unit"] in UNITS
        }
        for m in record["measurements"]:
            base = dict(
                record=record["id"],
                model=record["model_id"],
                engine=record["engine"],
                component=m["component"],
                measured=m["value"],
                unit=m["unit"],
                source=source,
            )
            if not path.exists():
                rows.append(Row(**base, estimated=None, error_pct=None, status="no config"))
                continue
            config = json.loads(path.read_text())
            budget = None
            reason = _not_comparable(record, m)
            if reason is not None:
                rows.append(
                    Row(**base, estimated=None, error_pct=None, status="not modelled", note=reason)
                )
                continue
            try:
                if _reads_engine_pool(record, m):
                    value, note, budget = _engine_pool(record, m, config, measurements)
                else:
                    value, note = _estimate_component(record, m, config, measurements)
            except EstimatorError as exc:
                rows.append(
                    Row(**base, estimated=None, error_pct=None, status="error", note=str(exc))
                )
                continue
            if value is None:
                # A figure the harness has no rule for is an error, not a silent gap.
                status = "error" if note == NO_RULE else "not modelled"
                rows.append(Row(**base, estimated=None, error_pct=None, status=status, note=note))
                continue
            error = (value - m["value"]) / m["value"] * 100 if m["value"] else None
            rows.append(
                Row(
                    **base,
                    estimated=round(value, 4),
                    error_pct=None if error is None else round(error, 2),
                    status="compared",
                    note=note,
                    budget=None if budget is None else round(budget, 4),
                )
            )
    return rows


def main(argv: list[str]) -> int:
    rows = run()
    if "--json" in argv:
        print(json.dumps([asdict(r) for r in rows], indent=1))
        return 0
    print(
        f"{'record':45} {'component':16} {'measured':>12} {'estimated':>12} {'unit':5} "
        f"{'error %':>8}  status"
    )
    for r in rows:
        est = "" if r.estimated is None else f"{r.estimated:.4g}"
        err = "" if r.error_pct is None else f"{r.error_pct:+.2f}"
        print(
            f"{r.record[:45]:45} {r.component:16} {r.measured:>12.6g} {est:>12} {r.unit:5} "
            f"{err:>8}  {r.status} {r.note}"
        )
    compared = [r for r in rows if r.status == "compared"]
    open_rows = [r for r in rows if r.status == "not modelled"]
    print(
        f"\n{len(compared)} of {len(rows)} measurements compared "
        f"({sum(r.status == 'no config' for r in rows)} lack a config fixture, "
        f"{len(open_rows)} not modelled)"
    )
    print(f"\nNot modelled ({len(open_rows)}), each an open note:")
    for r in open_rows:
        print(f"- {r.record} {r.component}: {r.note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Fit the speed model's efficiencies to published llama-bench runs, and measure its error.

    python tests/validation/fit_speed.py          # print the fit and the held-out errors
    python tests/validation/fit_speed.py --write  # also write estimator/data/speed_fit.json

Decode: for each backend, ``seconds per token = bytes read / (efficiency x bandwidth)
+ layers x layer_seconds`` is fitted by least squares on relative error over the training
rows of ``speed_records.json``. Prefill: ``seconds = FLOPs / (efficiency x peak)``.
Devices are held out whole (every third device of each backend, in key order, and every
device of a backend with fewer than three), so the error is measured on hardware the fit
never saw. Backends with too few training rows use the pooled fit of all GPU backends.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from estimator import EstimateOptions  # noqa: E402
from estimator.hardware import speed_inputs_for  # noqa: E402
from estimator.speed import decode_terms, estimate_speed, prefill_terms  # noqa: E402

RECORDS = Path(__file__).with_name("speed_records.json")
OFFLOAD = Path(__file__).with_name("offload_records.json")
CONFIGS = ROOT / "tests" / "fixtures" / "configs"
FIT_PATH = ROOT / "estimator" / "data" / "speed_fit.json"
MIN_DEVICES = 3  # a backend needs this many devices to be fitted on its own
SOURCE = (
    "fitted per llama.cpp backend to published llama-bench / llama.cpp runs "
    "(tests/validation/speed_records.json, by tests/validation/fit_speed.py)"
)


@dataclass
class Row:
    record: dict[str, Any]
    decode: bool
    terms: Any  # decode: DecodeTerms; prefill: (seconds at peak,)
    measured_s: float  # seconds per token (decode) or per prompt (prefill)
    held_out: bool = False


def options_for(record: dict[str, Any]) -> EstimateOptions:
    prompt, generated = record["prompt_tokens"], record["generated_tokens"]
    return EstimateOptions(
        engine="llama.cpp",
        precision=record["precision"],
        gpu=record["device"],
        context=max(prompt + generated, 1),
        generated_tokens=generated,
        batch=1,
        n_gpu_layers=999,  # every run put all layers on the GPU (-ngl 99 / 10000)
        backend=record["backend"],
    )


def load_rows() -> list[Row]:
    rows = []
    for record in json.loads(RECORDS.read_text()):
        config = json.loads((CONFIGS / record["config"]).read_text())
        inputs = speed_inputs_for(config, options_for(record))
        if record["generated_tokens"]:
            terms = decode_terms(inputs)
            if terms is None:
                continue
            rows.append(Row(record, True, terms, 1.0 / record["tokens_per_s"]))
        else:
            terms = prefill_terms(inputs)
            if terms is None:
                continue
            rows.append(Row(record, False, terms, record["prompt_tokens"] / record["tokens_per_s"]))
    return rows


def split(rows: list[Row]) -> None:
    by_backend: dict[str, set[str]] = {}
    for row in rows:
        by_backend.setdefault(row.record["backend"], set()).add(row.record["device"])
    held: set[str] = set()
    for devices in by_backend.values():
        ordered = sorted(devices)
        if len(ordered) < MIN_DEVICES:
            held.update(ordered)
        else:
            held.update(d for i, d in enumerate(ordered) if i % 3 == 1)
    for row in rows:
        row.held_out = row.record["device"] in held


def _fit_linear(rows: list[Row], p: dict[str, float]) -> tuple[float, float, float]:
    """For a given bandwidth efficiency and cap, the per-layer seconds and dequantization
    FLOPs (>= 0) minimizing the squared relative error; returns (layer_s, dequant, error)."""
    # residual target r = t - streaming time; features: layers, dequant seconds
    rs, xs = [], []
    for row in rows:
        stream = row.terms.seconds({**p, "layer_seconds": 0.0, "dequant_flops_per_param": 0.0})
        t = row.measured_s
        rs.append((t - stream) / t)
        xs.append((row.terms.layers / t, row.terms.dequant_seconds / t))
    best = (0.0, 0.0, math.inf)
    for use in ((True, True), (True, False), (False, True), (False, False)):
        a11 = sum(x[0] * x[0] for x in xs) if use[0] else 1.0
        a22 = sum(x[1] * x[1] for x in xs) if use[1] else 1.0
        a12 = sum(x[0] * x[1] for x in xs) if all(use) else 0.0
        b1 = sum(x[0] * r for x, r in zip(xs, rs, strict=True)) if use[0] else 0.0
        b2 = sum(x[1] * r for x, r in zip(xs, rs, strict=True)) if use[1] else 0.0
        det = a11 * a22 - a12 * a12
        c1 = (b1 * a22 - b2 * a12) / det if use[0] else 0.0
        c2 = (a11 * b2 - a12 * b1) / det if use[1] else 0.0
        if c1 < 0 or c2 < 0:
            continue
        err = sum((x[0] * c1 + x[1] * c2 - r) ** 2 for x, r in zip(xs, rs, strict=True))
        if err < best[2]:
            best = (c1, c2, err)
    return best


def _fit_decode(rows: list[Row]) -> dict[str, float]:
    """Bandwidth efficiency (<= 1), streaming cap per compute unit (SM / CU / GPU core),
    per-layer seconds and dequantization FLOPs per parameter minimizing the squared relative
    error of ``t = bytes / min(e x bandwidth, cap x units) + layers x s + dequant x f``: a
    grid over the first two, least squares for the others."""
    best: tuple[float, dict[str, float]] = (math.inf, {})
    caps = [0.0] + [1.0 * 1.08**i for i in range(70)]
    for e_step in range(40, 101, 2):
        e = e_step / 100
        for cap in caps:
            p = {"decode_efficiency": e, "gbs_per_unit": cap}
            layer_s, dequant, err = _fit_linear(rows, p)
            if err < best[0]:
                best = (err, {**p, "layer_seconds": layer_s, "dequant_flops_per_param": dequant})
    return best[1]


def _fit_prefill(rows: list[Row]) -> dict[str, float]:
    """Efficiency and ceiling (TFLOPS) minimizing the squared relative error of
    ``t = FLOPs / (1 / (e x peak) + 1 / ceiling)^-1``: a grid over both."""
    best: tuple[float, dict[str, float]] = (math.inf, {})
    for e_step in range(5, 101, 1):
        e = e_step / 100
        for cap in [0.0] + [5 * 1.1**i for i in range(60)]:
            err = 0.0
            for row in rows:
                seconds_at_peak, flops = row.terms
                rate = 1.0 / (1.0 / e + (flops / seconds_at_peak) / (cap * 1e12)) if cap else e
                err += (seconds_at_peak / rate / row.measured_s - 1) ** 2
            if err < best[0]:
                best = (err, {"prefill_efficiency": e, "prefill_cap_tflops": round(cap, 1)})
    return best[1]


def fit(rows: list[Row]) -> dict[str, dict[str, float]]:
    train = [r for r in rows if not r.held_out]
    backends: dict[str, dict[str, float]] = {}
    names = sorted({r.record["backend"] for r in train})
    pooled_decode = [r for r in train if r.decode]
    pooled_prefill = [r for r in train if not r.decode]
    default = {**_fit_decode(pooled_decode), **_fit_prefill(pooled_prefill)}
    for name in names:
        decode = [r for r in train if r.decode and r.record["backend"] == name]
        prefill = [r for r in train if not r.decode and r.record["backend"] == name]
        params = dict(default)
        if len({r.record["device"] for r in decode}) >= 2:
            params.update(_fit_decode(decode))
        if len({r.record["device"] for r in prefill}) >= 2:
            params.update(_fit_prefill(prefill))
        backends[name] = params
    backends["default"] = default
    # CPU offload: the share of the RAM's bandwidth is fitted afterwards (fit_offload).
    backends["cpu"] = {
        "decode_efficiency": 0.5,
        "gbs_per_unit": 0.0,
        "layer_seconds": 0.0,
        "dequant_flops_per_param": 0.0,
        "prefill_efficiency": 0.5,
        "prefill_cap_tflops": 0.0,
    }
    return {k: {p: float(f"{v:.4g}") for p, v in params.items()} for k, params in backends.items()}


def errors(rows: list[Row], params: dict[str, dict[str, float]]) -> list[tuple[Row, float, float]]:
    """(row, estimated tokens/s, error %) for every row."""
    out = []
    for row in rows:
        record = row.record
        config = json.loads((CONFIGS / record["config"]).read_text())
        speed = estimate_speed(speed_inputs_for(config, options_for(record)), params)
        value = speed.decode_tokens_per_s if row.decode else speed.prefill_tokens_per_s
        if value is None:
            continue
        out.append((row, value, (value - record["tokens_per_s"]) / record["tokens_per_s"] * 100))
    return out


def summary(errs: list[tuple[Row, float, float]], decode: bool, held_out: bool) -> dict[str, float]:
    sel = [abs(e) for r, _, e in errs if r.decode == decode and r.held_out == held_out]
    if not sel:
        return {"rows": 0, "median_pct": math.nan, "worst_pct": math.nan}
    return {
        "rows": len(sel),
        "median_pct": round(statistics.median(sel), 1),
        "worst_pct": round(max(sel), 1),
    }


def offload_options(record: dict[str, Any]) -> EstimateOptions:
    """A partial-offload run: its -ngl / --n-cpu-moe on its GPU, its host RAM's bandwidth, and
    a short conversation (the runs generate a few hundred tokens into a 4096 context)."""
    return EstimateOptions(
        engine="llama.cpp",
        precision=record["precision"],
        gpu=record["device"],
        context=512,
        generated_tokens=256,
        n_gpu_layers=record["n_gpu_layers"],
        n_cpu_moe=record["n_cpu_moe"],
        ram_bandwidth_gbs=record["ram_bandwidth_gbs"],
    )


def offload_errors(
    params: dict[str, dict[str, float]], records: list[dict[str, Any]] | None = None
) -> list[tuple[dict[str, Any], float, float]]:
    """(record, estimated decode tokens/s, error %) for the offload speed records."""
    if records is None:
        records = json.loads(OFFLOAD.read_text())["speed"]
    out = []
    for record in records:
        config = json.loads((CONFIGS / record["config"]).read_text())
        speed = estimate_speed(speed_inputs_for(config, offload_options(record)), params)
        value = speed.decode_tokens_per_s
        if value is None:
            continue
        out.append((record, value, (value - record["tokens_per_s"]) / record["tokens_per_s"] * 100))
    return out


def fit_offload(params: dict[str, dict[str, float]]) -> dict[str, Any]:
    """The CPU's share of its RAM bandwidth, fitted on the offload rows marked "fit" with the
    GPU efficiencies fixed; the rows marked "held-out" measure the error."""
    records = json.loads(OFFLOAD.read_text())["speed"]
    train = [r for r in records if r["use"] == "fit"]
    best: tuple[float, float] = (math.inf, 0.5)
    for step in range(20, 101):
        e = step / 100
        trial = {**params, "cpu": {**params["cpu"], "decode_efficiency": e}}
        errs = [abs(err) for _, _, err in offload_errors(trial, train)]
        score = sum(errs) / len(errs)
        if score < best[0]:
            best = (score, e)
    params["cpu"]["decode_efficiency"] = best[1]
    errs = offload_errors(params, records)

    def stats(use: str) -> dict[str, Any]:
        sel = [abs(e) for r, _, e in errs if r["use"] == use]
        return {
            "rows": len(sel),
            "median_pct": round(statistics.median(sel), 1) if sel else math.nan,
            "worst_pct": round(max(sel), 1) if sel else math.nan,
        }

    return {
        "fit": stats("fit"),
        "held_out": stats("held-out"),
        "gpu_only_controls": stats("control"),
        "rows": {r["id"]: round(e, 1) for r, _, e in errs},
    }


def run(write: bool = False) -> dict[str, Any]:
    rows = load_rows()
    split(rows)
    params = fit(rows)
    offload = fit_offload(params)
    errs = errors(rows, params)
    dec_h, pre_h = summary(errs, True, True), summary(errs, False, True)
    dec_t, pre_t = summary(errs, True, False), summary(errs, False, False)
    doc = {
        "source": SOURCE,
        "backends": params,
        "held_out": {
            "rows": dec_h["rows"] + pre_h["rows"],
            "devices": sorted({r.record["device"] for r in rows if r.held_out}),
            "decode_rows": dec_h["rows"],
            "decode_median_pct": dec_h["median_pct"],
            "decode_worst_pct": dec_h["worst_pct"],
            "prefill_rows": pre_h["rows"],
            "prefill_median_pct": pre_h["median_pct"],
            "prefill_worst_pct": pre_h["worst_pct"],
        },
        "training": {
            "decode_rows": dec_t["rows"],
            "decode_median_pct": dec_t["median_pct"],
            "decode_worst_pct": dec_t["worst_pct"],
            "prefill_rows": pre_t["rows"],
            "prefill_median_pct": pre_t["median_pct"],
            "prefill_worst_pct": pre_t["worst_pct"],
        },
        "offload": offload,
    }
    if write:
        FIT_PATH.write_text(json.dumps(doc, indent=1) + "\n")
    return {"doc": doc, "errors": errs}


if __name__ == "__main__":
    result = run(write="--write" in sys.argv)
    print(json.dumps(result["doc"], indent=1))
    if "--rows" in sys.argv:
        for row, value, err in sorted(result["errors"], key=lambda x: -abs(x[2])):
            flag = "held" if row.held_out else "    "
            measured = row.record["tokens_per_s"]
            print(f"{flag} {err:+7.1f}% {value:9.1f} vs {measured:9.1f}  {row.record['id']}")

#!/usr/bin/env python3
"""Write what the validation run shows into the files the product ships.

    python tests/validation/evidence.py           # rewrite both files
    python tests/validation/evidence.py --check   # exit 1 if either is stale

- ``estimator/data/confidence.json``: the measured error per component, engine and
  architecture family (read by ``estimator.confidence``: the CLI, ``--json`` and the page);
- ``site/accuracy-data.json``: every measurement with its people-facing names, source,
  engine version and reason when not compared, and the launch verdicts (starts / refuses)
  against the published start-ups (the Accuracy page, drawn by ``site/accuracy.js``;
  build.py embeds it, so building needs no code from tests/).

Both come from ``validate.run()`` (the same rows as ``validate.py --json``) joined with
``records.json``, the verdicts from ``validate_launch.run()``; ``test_evidence.py`` fails
when they are stale.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from estimator import EstimateOptions, estimate  # noqa: E402
from estimator.confidence import COMPONENT_LABELS, FAMILY_LABELS, architecture_family  # noqa: E402
from estimator.engines import ENGINE_PROFILES  # noqa: E402
from tests.validation.validate import CONFIGS, RECORDS, UNITS, Row, run  # noqa: E402
from tests.validation.validate_launch import run as run_launch  # noqa: E402

CONFIDENCE = ROOT / "estimator" / "data" / "confidence.json"
PAGE_DATA = ROOT / "site" / "accuracy-data.json"

#: Each figure an engine prints, as people call it, and the estimate's component it checks.
#: (vLLM's "kv_cache" is its pool, everything its budget leaves; llama.cpp's is the cache.)
FIGURES: dict[str, tuple[str, str]] = {
    "weights": ("Weights", "weights"),
    "kv_cache": ("KV cache", "kv_cache"),
    "kv_cache_k": ("K cache", "kv_cache"),
    "kv_cache_v": ("V cache", "kv_cache"),
    "kv_cache_swa": ("KV cache of the sliding-window layers", "kv_cache"),
    "kv_cache_non_swa": ("KV cache of the full-attention layers", "kv_cache"),
    "kv_cache_swa_cells": ("Cells of the sliding-window cache", "kv_cache"),
    "recurrent_state": ("Recurrent state (linear attention)", "kv_cache"),
    "gpu_blocks": ("KV cache blocks", "kv_cache"),
    "kv_cache_tokens": ("KV cache tokens", "kv_cache"),
    "activation_peak": ("Activation peak (profiled)", "activations"),
    "compute_buffer": ("Compute buffer (activations)", "activations"),
    "non_torch": ("CUDA context (memory outside PyTorch)", "overhead"),
    "peak_allocated": ("Peak memory during generate", "total"),
}
VLLM_POOL = ("KV cache pool (what the budget leaves)", "engine_kv_pool")
#: The engine's pool in its other units, read from the estimate's engine fields too.
POOL_FIGURES: dict[tuple[str, str], tuple[str, str]] = {
    ("vllm", "kv_cache"): VLLM_POOL,
    ("vllm", "max_concurrency"): ("Maximum concurrency (full-context requests)", "engine_kv_pool"),
    ("sglang", "kv_cache_tokens"): ("KV cache pool (tokens)", "engine_kv_pool"),
}

#: The bounds test_validation.py holds each component to (see tests/validation/README.md),
#: drawn on the page's charts. The pool's is a share of the engine's budget, per record.
BOUNDS: dict[str, tuple[float | None, str]] = {
    "weights": (1.0, "1 % (files from other quantizers: 3–3.5 %)"),
    "kv_cache": (0.5, "0.5 %"),
    "activations": (25.0, "25 %"),
    "overhead": (None, "0.25 GiB"),
    "engine_kv_pool": (None, "3 % of the engine's memory budget"),
    "total": (5.0, "5 %"),
}
#: What each component's records measure, for the page's summary.
ABOUT = {
    "weights": "the model's weights as the engine loaded them",
    "kv_cache": "the KV cache's layout: its bytes, blocks, tokens and cells",
    "activations": "the activation peak (vLLM's profile, llama.cpp's compute buffer)",
    "overhead": "the CUDA context: memory outside PyTorch",
    "engine_kv_pool": "vLLM's KV pool: what its memory budget leaves for the cache",
    "total": "transformers' peak memory during generate",
}
#: What a figure's error means, shown with its confidence (by component, or component
#: and engine).
CAVEATS = {
    "engine_kv_pool": "the pool is what the budget leaves after weights, activations and "
    "the CUDA context, so their errors land in it whole",
    "overhead": "a constant; the real CUDA context varies with driver and GPU",
}
_BYTES = {"GiB", "GB", "MiB", "MB", "MB (10^6 B)"}
_UNIT_LABELS = {
    "GB": "GiB",  # engines print GiB as "GB" (validate.UNITS)
    "MB": "MiB",
    "MB (10^6 B)": "MB",
    "BPW": "bits per weight",
    "x": "requests",  # vLLM's "Maximum concurrency for N tokens per request: 3.32x"
}
#: test_validation.py's CONTEXT_GIB: the CUDA context against vLLM's non-torch memory.
CONTEXT_BOUND_GIB = 0.25
_REASONS = {"no config": "no verbatim config.json of this model is stored yet"}
def family_of(model_id: str) -> str | None:
    path = CONFIGS / (model_id.replace("/", "__") + ".json")
    if not path.exists():
        return None
    return architecture_family(estimate(json.loads(path.read_text()), EstimateOptions()).model)


def _figure(row: Row) -> tuple[str, str]:
    if (row.engine, row.component) in POOL_FIGURES:
        return POOL_FIGURES[(row.engine, row.component)]
    return FIGURES.get(row.component, (row.component.replace("_", " "), row.component))


def _source_label(url: str) -> str:
    """ "vllm-project/vllm#10517", "QwenLM/Qwen2.5", "huggingface.co/kreas/FA_benchmarks"."""
    m = re.match(r"https://github\.com/([^/]+/[^/#?]+)(?:/(?:issues|pull|discussions)/(\d+))?", url)
    if m:
        return m.group(1) + (f"#{m.group(2)}" if m.group(2) else "")
    m = re.match(r"https://huggingface\.co/(?!docs/)([^/]+/[^/#?]+)", url)
    if m:
        return f"huggingface.co/{m.group(1)}"
    m = re.match(r"https://([^/]+)", url)
    return m.group(1) if m else url


def page_rows(rows: list[Row] | None = None) -> list[dict[str, Any]]:
    """Every measurement, joined with its record, in people's words."""
    rows = run() if rows is None else rows
    records = {r["id"]: r for r in json.loads(RECORDS.read_text())}
    families: dict[str, str | None] = {}
    seen: dict[str, int] = defaultdict(int)
    out = []
    for row in rows:
        record = records[row.record]
        measurement = record["measurements"][seen[row.record]]  # run() keeps their order
        seen[row.record] += 1
        if row.model not in families:
            families[row.model] = family_of(row.model)
        label, component = _figure(row)
        settings = record.get("settings") or {}
        is_bytes = row.unit in _BYTES
        # The bound in the row's unit: 3 % of the engine's budget for the pool (validate.py
        # gives the budget in the row's unit), 0.25 GiB for the CUDA context.
        bound = None
        if row.status == "compared" and row.budget is not None:
            bound = 0.03 * row.budget
        elif row.status == "compared" and component == "overhead":
            bound = CONTEXT_BOUND_GIB * UNITS["GiB"] / UNITS[row.unit]
        bound_bytes = round(bound * UNITS[row.unit]) if bound is not None and is_bytes else None
        reason = ""
        if row.status != "compared":
            reason = row.note or _REASONS.get(row.status, row.status)
        out.append(
            {
                "record": row.record,
                "model": row.model,
                "family": families[row.model],
                "engine": row.engine,
                "version": record.get("engine_version"),
                "gpu": settings.get("gpu"),
                "figure": label,
                "component": component,
                "measured": row.measured,
                "estimated": row.estimated,
                "unit": _UNIT_LABELS.get(row.unit, row.unit),
                "measured_bytes": round(row.measured * UNITS[row.unit]) if is_bytes else None,
                "estimated_bytes": round(row.estimated * UNITS[row.unit])
                if is_bytes and row.estimated is not None
                else None,
                "error_pct": row.error_pct,
                "bound": None if bound is None else round(bound, 4),
                "bound_bytes": bound_bytes,
                "status": row.status,
                "reason": reason,
                "note": row.note if row.status == "compared" else "",
                "quote": measurement.get("quote", ""),
                "source": row.source,
                "source_label": _source_label(row.source),
                "source_title": (record.get("source") or {}).get("title", ""),
            }
        )
    return out


def _version_key(version: str) -> list[tuple[int, int | str]]:
    """Natural order: 0.7.1 before 0.19.0."""
    return [(0, int(p)) if p.isdigit() else (1, p) for p in re.findall(r"\d+|[^\d.]+", version)]


def _versions_text(engines: dict[str, list[str]]) -> str:
    """ "vLLM 0.5–0.19; llama.cpp b2961–b5898, ik_llama.cpp" from the versions records state."""
    parts = []
    for engine in sorted(engines):
        label = ENGINE_PROFILES[engine].label if engine in ENGINE_PROFILES else engine
        numbers: list[tuple[int, ...]] = []
        others: list[str] = []
        for v in engines[engine]:
            build = re.match(r"^b?(\d{4,5})\b", v)
            release = re.match(r"^(\d+)\.(\d+)", v)
            if engine == "llama.cpp" and build:
                numbers.append((int(build.group(1)),))
            elif release:
                numbers.append((int(release.group(1)), int(release.group(2))))
            else:
                for fork in ("ik_llama.cpp", "Ollama", "llama-cpp-python"):
                    if fork.lower() in v.lower() and fork not in others:
                        others.append(fork)
        text = label
        if numbers:
            low, high = min(numbers), max(numbers)

            def fmt(n: tuple[int, ...]) -> str:
                return f"b{n[0]}" if len(n) == 1 else f"{n[0]}.{n[1]}"

            text += f" {fmt(low)}" + (f"–{fmt(high)}" if high != low else "")
        parts.append(", ".join([text, *others]))
    return "; ".join(parts)


def confidence_table(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Median and largest absolute error per (component, engine, family), with the wider
    scopes ("*") the library falls back to."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["status"] != "compared" or r["error_pct"] is None:
            continue
        # Weights widen by storage format only: a GGUF's per-tensor types are not a
        # checkpoint's (estimator.confidence.weights_format).
        wide = "*"
        if r["component"] == "weights":
            wide = "*gguf" if r["engine"] == "llama.cpp" else "*checkpoint"
        for engine in (r["engine"], wide):
            for family in (r["family"], "*"):
                groups[(r["component"], engine, family)].append(r)
    entries = []
    for (component, engine, family), members in sorted(groups.items()):
        errors = [abs(r["error_pct"]) for r in members]
        engines: dict[str, set[str]] = {}
        for r in members:
            stated = engines.setdefault(r["engine"], set())
            if r["version"]:
                stated.add(r["version"])
        versions = {e: sorted(v, key=_version_key) for e, v in sorted(engines.items())}
        entry: dict[str, Any] = {
            "component": component,
            "engine": engine,
            "family": family,
            "records": len({r["record"] for r in members}),
            "measurements": len(members),
            "median_abs_error": round(statistics.median(errors), 2),
            "max_abs_error": round(max(errors), 2),
            "engines": versions,
            "engines_text": _versions_text(versions),
            "families": sorted({r["family"] for r in members}),
        }
        caveats = [CAVEATS.get(component), CAVEATS.get((component, engine))]
        if any(caveats):
            entry["caveat"] = "; ".join(c for c in caveats if c)
        if component == "engine_kv_pool":
            shares = [
                abs(r["estimated"] - r["measured"]) / r["bound"] * 3 for r in members if r["bound"]
            ]
            if shares:
                entry["max_abs_error_of_budget"] = round(max(shares), 2)
                entry["caveat"] += f"; within {entry['max_abs_error_of_budget']} % of the budget"
        entries.append(entry)
    records = {r["record"] for r in rows}
    return {
        "about": "Written by tests/validation/evidence.py from the validation run against "
        "tests/validation/records.json; do not edit by hand.",
        "records": len(records),
        "measurements": len(rows),
        "compared": sum(r["status"] == "compared" for r in rows),
        "entries": entries,
    }


def launch_agreement() -> dict[str, Any]:
    """Each published start-up (launch_records.json) with what the estimator says: whether
    the engine starts, and the first problem's code when it refuses."""
    verdicts, _ = run_launch()
    compared = [v for v in verdicts if v.status == "compared"]
    return {
        "records": len(verdicts),
        "compared": len(compared),
        "right": sum(v.predicted == v.expected for v in compared),
        "refusals": sum(v.expected == "refuses" for v in compared),
        "rows": [
            {
                "record": v.record,
                "model": v.model,
                "engine": v.engine,
                "logged": v.expected,
                "logged_problem": v.expected_problem,
                "predicted": v.predicted,
                "problem": v.problem,
                "status": v.status,
                "note": v.note,
                "source": v.source,
                "source_label": _source_label(v.source),
            }
            for v in verdicts
        ],
    }


def page_data(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "about": "Written by tests/validation/evidence.py; drawn by site/accuracy.js.",
        "components": [
            {
                "key": key,
                "label": COMPONENT_LABELS[key],
                "about": ABOUT[key],
                "bound_pct": BOUNDS[key][0],
                "bound": BOUNDS[key][1],
            }
            for key in COMPONENT_LABELS
        ],
        "families": FAMILY_LABELS,
        "engines": {key: p.label for key, p in ENGINE_PROFILES.items()},
        "rows": rows,
        "launch": launch_agreement(),
    }


def render() -> dict[Path, str]:
    rows = page_rows()
    return {
        CONFIDENCE: json.dumps(confidence_table(rows), indent=1, ensure_ascii=False) + "\n",
        PAGE_DATA: json.dumps(page_data(rows), indent=1, ensure_ascii=False) + "\n",
    }


def main(argv: list[str]) -> int:
    files = render()
    stale = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
    if "--check" in argv:
        for p in stale:
            print(f"{p.relative_to(ROOT)} is stale: run python tests/validation/evidence.py")
        return 1 if stale else 0
    for p, text in files.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    print(f"wrote {', '.join(str(p.relative_to(ROOT)) for p in files)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

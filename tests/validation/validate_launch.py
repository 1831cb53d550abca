#!/usr/bin/env python3
"""Compare launch verdicts and vLLM V1 start-up figures with published start-up logs
(tests/validation/launch_records.json).

    python tests/validation/validate_launch.py          # verdicts, then measured vs estimated
    python tests/validation/validate_launch.py --json   # the rows as JSON

Each record states the settings of one launch, whether it started ("starts"/"refuses") with
the engine's error line, and the figures its log printed. A record whose model has no
verbatim config fixture is listed as "no config"; one whose outcome the estimator cannot
predict for a stated reason carries ``not_modelled``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from estimator import EstimateOptions, vllm_v1  # noqa: E402
from estimator.estimate import breakdown, prepare  # noqa: E402
from estimator.launch import launch_verdict, vllm_startup  # noqa: E402

RECORDS = Path(__file__).with_name("launch_records.json")
CONFIGS = ROOT / "tests" / "fixtures" / "configs"
GIB = 1024**3
UNITS = {"GiB": GIB, "tokens": 1, "requests": 1}
# GPU names in the records -> catalog keys (the architecture picks weight layouts).
GPU_KEYS = {"h100": "h100-80gb", "a100-sxm4-40gb": "a100-40gb"}


@dataclass
class Verdict:
    record: str
    model: str
    engine: str
    expected: str  # starts | refuses
    predicted: str | None
    problem: str | None  # the first problem's code
    expected_problem: str | None
    status: str  # compared | no config | not modelled
    note: str = ""
    source: str = ""


@dataclass
class Row:
    record: str
    model: str
    component: str
    measured: float
    estimated: float | None
    unit: str
    error_pct: float | None
    status: str
    note: str = ""


def _gpu_key(name: str) -> str | None:
    lowered = name.lower()
    for needle, key in GPU_KEYS.items():
        if needle in lowered:
            return key
    return None


def options_for(record: dict[str, Any]) -> tuple[EstimateOptions, int | None]:
    """EstimateOptions from a record's settings, and the GPU total its log printed."""
    s = record["settings"]
    tp = int(s.get("tensor_parallel_size") or 1)
    pp = int(s.get("pipeline_parallel_size") or 1)
    kv = str(s.get("kv_cache_dtype") or "auto").lower()
    precision = str(s.get("precision") or "auto")
    total = s.get("total_gpu_memory_gib")
    options = EstimateOptions(
        engine=record["engine"],
        precision=precision,
        kv_dtype={"fp8": "fp8", "fp8_e4m3": "fp8"}.get(kv, "auto"),
        context=s.get("max_model_len"),
        tensor_parallel=tp,
        pipeline_parallel=pp,
        gpus=tp * pp,
        gpu=_gpu_key(str(s.get("gpu") or "")),
        gpu_memory_utilization=float(s.get("gpu_memory_utilization") or 0.9),
        max_num_seqs=s.get("max_num_seqs"),
        max_num_batched_tokens=s.get("max_num_batched_tokens"),
    )
    return options, None if total is None else round(float(total) * GIB)


def _config(record: dict[str, Any]) -> dict[str, Any] | None:
    path = CONFIGS / (record["model_id"].replace("/", "__") + ".json")
    return json.loads(path.read_text()) if path.exists() else None


def _estimated(
    record: dict[str, Any], m: dict[str, Any], config: dict[str, Any]
) -> tuple[float | None, str]:
    options, total = options_for(record)
    spec, counts = prepare(config, options)
    comp = m["component"]
    unit = UNITS[m["unit"]]
    if comp == "cuda_graph":
        return vllm_v1.CUDA_GRAPH_BYTES / unit, "constant: the v0.19 H100 logs' estimates"
    version = record.get("engine_version")
    est = breakdown(spec, counts, options, engine_version=version)
    if comp == "weights":
        return est.parallel.weights_per_gpu_bytes / unit, ""
    start = vllm_startup(spec, counts, options, gpu_memory_bytes=total, engine_version=version)
    if start is None:
        return None, "the source states no GPU total"
    if comp == "activation_peak":
        if m.get("stage") == "first":
            tokens = int(est.components[2].inputs["tokens"])
            first = vllm_v1.profile_peak_bytes(
                spec,
                tokens=tokens,
                rows=options.max_num_seqs or 256,
                act_bytes=4 if est.precision == "fp32" else 2,
                tp=options.tp,
                version=version,
                sampler=False,
            )
            return first / unit, "first pipeline stage: no sampler"
        return start.activation / unit, ""
    if comp == "non_torch":
        return start.non_torch / unit, ""
    if comp == "kv_cache":
        return start.available / unit, "budget - weights - activation peak - non-torch"
    if comp == "kv_cache_tokens":
        return float(start.tokens), "blocks // groups x 16"
    if comp == "max_concurrency":
        return start.concurrency, "blocks / blocks per request"
    return None, "not modelled"


def run() -> tuple[list[Verdict], list[Row]]:
    verdicts: list[Verdict] = []
    rows: list[Row] = []
    for record in json.loads(RECORDS.read_text()):
        config = _config(record)
        error = record.get("error") or {}
        base = dict(
            record=record["id"],
            model=record["model_id"],
            engine=record["engine"],
            expected=record["outcome"],
            expected_problem=error.get("code"),
            source=record["source"]["url"],
        )
        if config is None:
            verdicts.append(Verdict(**base, predicted=None, problem=None, status="no config"))
        elif record.get("not_modelled"):
            verdicts.append(
                Verdict(
                    **base,
                    predicted=None,
                    problem=None,
                    status="not modelled",
                    note=record["not_modelled"],
                )
            )
        else:
            options, total = options_for(record)
            spec, counts = prepare(config, options)
            verdict = launch_verdict(
                spec,
                counts,
                options,
                model_id=record["model_id"],
                gpu_memory_bytes=total,
                with_fixes=False,
                engine_version=record.get("engine_version"),
            )
            assert verdict is not None
            verdicts.append(
                Verdict(
                    **base,
                    predicted="starts" if verdict.starts else "refuses",
                    problem=verdict.problems[0].code if verdict.problems else None,
                    status="compared",
                    note=verdict.summary,
                )
            )
        for m in record["measurements"]:
            row = dict(
                record=record["id"],
                model=record["model_id"],
                component=m["component"],
                measured=m["value"],
                unit=m["unit"],
            )
            if config is None:
                rows.append(Row(**row, estimated=None, error_pct=None, status="no config"))
                continue
            value, note = _estimated(record, m, config)
            if value is None:
                rows.append(
                    Row(**row, estimated=None, error_pct=None, status="not modelled", note=note)
                )
                continue
            error_pct = (value - m["value"]) / abs(m["value"]) * 100 if m["value"] else None
            rows.append(
                Row(
                    **row,
                    estimated=round(value, 4),
                    error_pct=None if error_pct is None else round(error_pct, 2),
                    status="compared",
                    note=note,
                )
            )
    return verdicts, rows


def main(argv: list[str]) -> int:
    verdicts, rows = run()
    if "--json" in argv:
        print(
            json.dumps(
                {"verdicts": [asdict(v) for v in verdicts], "rows": [asdict(r) for r in rows]},
                indent=1,
            )
        )
        return 0
    for v in verdicts:
        mark = "" if v.status != "compared" else ("ok " if v.expected == v.predicted else "XX ")
        print(
            f"{mark:3}{v.record[:48]:48} {v.expected:8} {v.predicted or '-':8} "
            f"{v.problem or '':18} {v.status}"
        )
    print()
    for r in rows:
        est = "" if r.estimated is None else f"{r.estimated:.4g}"
        err = "" if r.error_pct is None else f"{r.error_pct:+.2f}"
        print(
            f"{r.record[:44]:44} {r.component:16} {r.measured:>10.6g} {est:>10} {r.unit:8} "
            f"{err:>8}  {r.status} {r.note}"
        )
    compared = [v for v in verdicts if v.status == "compared"]
    right = sum(v.expected == v.predicted for v in compared)
    print(f"\nverdicts right: {right}/{len(compared)} ({len(verdicts)} records)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Before/after comparison for refactors (issue 12): thousands of estimates, one digest each.

    PYTHONPATH=$PWD python tests/refactor/compare_estimates.py            # check the baseline
    PYTHONPATH=$PWD python tests/refactor/compare_estimates.py --write    # record a new baseline
    PYTHONPATH=$PWD python tests/refactor/compare_estimates.py --diff     # list changed cases

Every config under tests/fixtures/configs and tests/golden/defaults (the latter covers the
families without a Hub fixture: Zamba2, Jamba, Mamba, Nemotron-H, ...) is estimated under a
deterministic sample of engines, precisions (float, linear-quantized, GGUF with and without a
GGUF file size), KV dtypes, contexts, batches and parallel layouts (gpus/tp/pp, some with a
catalog GPU so that fit, recommendation, placement and speed are in the JSON). Each case's
canonical JSON (``json.dumps(..., sort_keys=True)`` of ``estimate(...).to_dict()``, or the
error's class and message) is hashed; a sample also hashes the launch verdict and the
planning helpers. baseline.json maps case id -> sha256; a refactor must reproduce it
byte-identically except where a change is stated (and the baseline rewritten in that commit).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BASELINE = Path(__file__).with_name("baseline.json")

ENGINES = ("generic", "transformers", "vllm", "llama.cpp", "sglang", "tgi", "ollama")
PRECISIONS = ("auto", "bf16", "fp32", "fp8", "int4", "awq-int4", "bnb-nf4", "Q4_K_M", "Q8_0")
KV_DTYPES = ("auto", "fp8", "q8_0")
CONTEXTS = (None, 1024, 32768)
BATCHES = (1, 8)
# (gpu, gpus, tensor_parallel, pipeline_parallel)
LAYOUTS: tuple[tuple[str | None, int, int | None, int], ...] = (
    (None, 1, None, 1),
    ("h100-80gb", 1, None, 1),
    ("a100-40gb", 2, 2, 1),
    ("rtx4090", 4, 2, 2),
    ("h200", 8, 8, 1),
)


@dataclass(frozen=True)
class Case:
    config_name: str
    engine: str
    precision: str
    kv_dtype: str
    context: int | None
    batch: int
    layout: tuple[str | None, int, int | None, int]
    gguf_file: bool
    extras: bool  # also hash launch verdict and planning helpers

    @property
    def id(self) -> str:
        gpu, gpus, tp, pp = self.layout
        return (
            f"{self.config_name}|{self.engine}|{self.precision}|{self.kv_dtype}|{self.context}|"
            f"b{self.batch}|{gpu}x{gpus}tp{tp}pp{pp}|gguf={int(self.gguf_file)}|x={int(self.extras)}"
        )


def configs() -> dict[str, dict[str, Any]]:
    """Every fixture config by name (Hub fixtures, then transformers' defaults)."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted((ROOT / "tests/fixtures/configs").glob("*.json")):
        out[path.stem] = json.loads(path.read_text())
    for path in sorted((ROOT / "tests/golden/defaults").glob("*.json")):
        out[f"default:{path.stem}"] = json.loads(path.read_text())["config"]
    for name, (base, quantization) in CONSTRUCTED.items():
        out[f"constructed:{name}"] = {**out[base], "quantization_config": quantization}
    return out


#: Fixtures given a quantization_config that keeps some linear layers in 16 bits, in each
#: format's own key (constructed for the skipped-modules rule; not Hub configs).
CONSTRUCTED: dict[str, tuple[str, dict[str, Any]]] = {
    "llama-awq-skip": (
        "meta-llama__Llama-3.1-8B-Instruct",
        {
            "quant_method": "awq",
            "bits": 4,
            "group_size": 128,
            "modules_to_not_convert": ["model.layers.0.mlp", "self_attn.o_proj"],
        },
    ),
    "qwen3-moe-ct-ignore": (
        "Qwen__Qwen3-30B-A3B",
        {
            "quant_method": "compressed-tensors",
            "config_groups": {"group_0": {"weights": {"num_bits": 4, "type": "int"}}},
            "ignore": ["lm_head", "re:.*mlp.gate$", "re:model[.]layers[.]0[.].*"],
        },
    ),
    "mixtral-bnb-skip": (
        "mistralai__Mixtral-8x7B-v0.1",
        {
            "quant_method": "bitsandbytes",
            "load_in_4bit": True,
            "llm_int8_skip_modules": ["lm_head", "model.layers.31"],
        },
    ),
}


def cases(names: list[str]) -> Iterator[Case]:
    """A deterministic, well-spread sample of the option grid for each config."""
    grid = list(
        itertools.product(ENGINES, PRECISIONS, KV_DTYPES, CONTEXTS, BATCHES, range(len(LAYOUTS)))
    )
    per_config = 48
    for index, name in enumerate(names):
        # Stride through the grid with a step coprime to its size, offset per config, so every
        # engine/precision/layout value appears for every config and the pairs vary.
        step = 7919
        start = (index * 104729) % len(grid)
        for k in range(per_config):
            engine, precision, kv, context, batch, layout = grid[(start + k * step) % len(grid)]
            # Always cover each engine once at default options, too.
            if k < len(ENGINES):
                engine, precision, kv, context, batch, layout = (
                    ENGINES[k],
                    "auto",
                    "auto",
                    None,
                    1,
                    0,
                )
            yield Case(
                name,
                engine,
                precision,
                kv,
                context,
                batch,
                LAYOUTS[layout],
                gguf_file=precision.startswith("Q") and k % 2 == 0,
                extras=k % 12 == 0,
            )


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr)


def _guard(fn: Callable[[], Any]) -> Any:
    from estimator import EstimatorError

    try:
        return fn()
    except EstimatorError as exc:
        return {"error": type(exc).__name__, "message": str(exc)}


#: EstimateOptions fields added after the baseline was recorded, with their defaults. The
#: estimate's ``inputs`` echo drops them at the default (JSON keys are only ever added), so
#: that adding an option changes no digest unless it changes a figure (tests/refactor/CHANGES.md).
ADDED_INPUTS: dict[str, Any] = {"enforce_eager": False}


def _without_added_inputs(doc: Any) -> Any:
    if isinstance(doc, dict) and isinstance(doc.get("inputs"), dict):
        inputs = {k: v for k, v in doc["inputs"].items()
                  if not (k in ADDED_INPUTS and v == ADDED_INPUTS[k])}
        return {**doc, "inputs": inputs}
    return doc


def run_case(case: Case, config: dict[str, Any]) -> dict[str, Any]:
    """The canonical documents of one case (estimate JSON, and launch/planning for extras)."""
    from estimator import EstimateOptions, WeightMetadata, estimate, max_batch, max_context
    from estimator.estimate import prepare
    from estimator.launch import launch_verdict

    gpu, gpus, tp, pp = case.layout

    def options() -> EstimateOptions:
        return EstimateOptions(
            engine=case.engine,
            precision=case.precision,
            kv_dtype=case.kv_dtype,
            context=case.context,
            batch=case.batch,
            gpu=gpu,
            gpus=gpus,
            tensor_parallel=tp,
            pipeline_parallel=pp,
        )

    opts = _guard(options)
    if isinstance(opts, dict):
        return {"options": opts}
    metadata = (
        WeightMetadata(gguf_file_bytes=4_500_000_000, gguf_quant=case.precision, source="test")
        if case.gguf_file
        else None
    )
    doc = _guard(lambda: estimate(config, opts, metadata).to_dict())
    docs: dict[str, Any] = {"estimate": _without_added_inputs(doc)}
    if case.extras:

        def launch() -> Any:
            spec, counts = prepare(config, opts)
            verdict = launch_verdict(spec, counts, opts, metadata, model_id="org/model")
            return None if verdict is None else verdict.to_dict()

        docs["launch"] = _guard(launch)
        if gpu is not None:
            docs["max_batch"] = _guard(lambda: max_batch(config, opts, metadata))
            docs["max_context"] = _guard(lambda: max_context(config, opts, metadata))
    return docs


def digests(limit: int | None = None, stride: int = 1) -> dict[str, str]:
    """case id -> sha256 of its canonical JSON (every ``stride``-th case, at most ``limit``)."""
    table = configs()
    out: dict[str, str] = {}
    for i, case in enumerate(cases(list(table))):
        if i % stride:
            continue
        text = _canonical(run_case(case, table[case.config_name]))
        out[case.id] = hashlib.sha256(text.encode()).hexdigest()[:20]
        if limit is not None and len(out) >= limit:
            break
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="record the baseline")
    parser.add_argument("--diff", action="store_true", help="list the cases that differ")
    args = parser.parse_args()
    now = digests()
    if args.write:
        BASELINE.write_text(json.dumps(now, indent=0, sort_keys=True) + "\n")
        print(f"wrote {len(now)} cases to {BASELINE.relative_to(ROOT)}")
        return 0
    base = json.loads(BASELINE.read_text())
    changed = sorted(k for k in now if base.get(k) != now[k])
    missing = sorted(set(base) - set(now))
    for key in changed if args.diff else changed[:20]:
        print("changed:", key)
    for key in missing:
        print("missing:", key)
    print(f"{len(now)} cases, {len(changed)} changed, {len(missing)} missing")
    return 1 if changed or missing else 0


if __name__ == "__main__":
    sys.exit(main())

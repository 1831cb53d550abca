#!/usr/bin/env python3
"""Measure real inference memory with transformers on an NVIDIA GPU (no internet needed).

    python tests/validation/measure_gpu.py [--batch 1] [--prompt 512] [--new 16] [STEM ...]

Each fixture config (tests/fixtures/configs/STEM.json) is built with random weights in bf16
straight on the GPU (memory does not depend on weight values), then a prefill of
batch x prompt tokens and a few decode steps run through ``generate``. torch's peak allocated
and reserved bytes and the cache size are appended as JSON lines to
tests/validation/gpu_measurements.jsonl with the GPU name and library versions. Models
above ~14B parameters are built with fewer layers (``layers_built`` records how many), so the
whole run fits a few minutes. Without CUDA (or torch) it refuses with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "tests" / "fixtures" / "configs"
OUT = Path(__file__).with_name("gpu_measurements.jsonl")
MAX_PARAMS = 14e9


def _require_cuda() -> Any:
    try:
        import torch
    except ImportError:
        raise SystemExit(
            "measure_gpu: torch is not installed; run this on a GPU machine "
            "with torch and transformers"
        ) from None
    if not torch.cuda.is_available():
        print("measure_gpu: no CUDA device is available; nothing measured", file=sys.stderr)
        raise SystemExit(2)
    return torch


def measure(stem: str, batch: int, prompt: int, new: int) -> dict[str, Any]:
    torch = _require_cuda()
    import transformers
    from transformers import AutoConfig, AutoModelForCausalLM

    sys.path.insert(0, str(ROOT))
    from estimator import EstimateOptions, estimate

    raw = json.loads((CONFIGS / f"{stem}.json").read_text())
    raw.pop("quantization_config", None)  # random bf16 weights: the layout, not the quant kernels
    full = estimate(raw, EstimateOptions(precision="bf16"))
    layers = full.model.layers
    if full.params > MAX_PARAMS:
        layers = max(2, int(layers * MAX_PARAMS / full.params))
    config = AutoConfig.for_model(**{**raw, "num_hidden_layers": layers})
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.eval()
    weights = torch.cuda.memory_allocated()
    ids = torch.randint(0, int(full.model.vocab_size), (batch, prompt), device="cuda")
    torch.cuda.reset_peak_memory_stats()
    start = time.time()
    with torch.no_grad():
        out = model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=new,
            min_new_tokens=new,
            do_sample=False,
            return_dict_in_generate=True,
        )
    cache = out.past_key_values
    cache_bytes = 0
    for layer in getattr(cache, "layers", []):
        for name in ("keys", "values"):
            tensor = getattr(layer, name, None)
            if tensor is not None and hasattr(tensor, "numel"):
                cache_bytes += tensor.numel() * tensor.element_size()
    return {
        "model": stem,
        "engine": "transformers",
        "gpu": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "layers_built": layers,
        "layers_total": full.model.layers,
        "batch": batch,
        "prompt_tokens": prompt,
        "new_tokens": new,
        "weights_allocated_bytes": weights,
        "peak_allocated_bytes": torch.cuda.max_memory_allocated(),
        "peak_reserved_bytes": torch.cuda.max_memory_reserved(),
        "cache_bytes": cache_bytes,
        "seconds": round(time.time() - start, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stems", nargs="*", help="fixture names (default: all)")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--prompt", type=int, default=512)
    parser.add_argument("--new", type=int, default=16)
    args = parser.parse_args(argv)
    _require_cuda()
    stems = args.stems or sorted(p.stem for p in CONFIGS.glob("*.json"))
    with OUT.open("a") as sink:
        for stem in stems:
            try:
                row = measure(stem, args.batch, args.prompt, args.new)
            except Exception as exc:  # one model failing must not stop the run
                row = {"model": stem, "error": f"{type(exc).__name__}: {exc}"}
            sink.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python3
"""Speed of the core: estimates per second and the time of a 100-point sweep (CPython).

    python tests/benchmarks/bench_estimator.py

Prints numbers; nothing is asserted (speed is measured, not tested). Target from the design:
a 100-point chart well under 10 ms, and each re-estimate well under one frame (16 ms).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from estimator import EstimateOptions, estimate, sweep  # noqa: E402
from estimator.estimate import breakdown, prepare  # noqa: E402

MODELS = ["meta-llama__Llama-3.1-8B", "deepseek-ai__DeepSeek-V3", "openai__gpt-oss-120b",
          "Qwen__Qwen3.5-9B", "meta-llama__Llama-3.2-90B-Vision-Instruct"]


def _median_ms(fn, repeat: int = 30) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    print(f"{'model':45} {'estimate ms':>12} {'est/s':>8} {'breakdown ms':>13} "
          f"{'sweep100 ms':>12} {'+gpu rec ms':>12}")
    for name in MODELS:
        path = ROOT / "tests" / "fixtures" / "configs" / f"{name}.json"
        if not path.exists():
            continue
        cfg = json.loads(path.read_text())
        opts = EstimateOptions(context=8192, batch=4)
        spec, counts = prepare(cfg, opts)
        full = _median_ms(lambda: estimate(cfg, opts))  # noqa: B023
        bare = _median_ms(lambda: breakdown(spec, counts, opts))  # noqa: B023
        chart = _median_ms(lambda: sweep(cfg, opts, points=100), repeat=10)  # noqa: B023
        rec = _median_ms(lambda: estimate(cfg, opts.with_(gpu="h100-80gb")), repeat=10)  # noqa: B023
        print(f"{name:45} {full:12.3f} {1000 / full:8.0f} {bare:13.3f} {chart:12.2f} {rec:12.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

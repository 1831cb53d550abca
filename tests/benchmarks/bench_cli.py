"""Cold start-up time of ``llm-mem --config X --json`` (target: well under 150 ms).

Each run is a fresh interpreter, as a user's shell would start it. Prints the
median and best wall time over N runs, the bare-interpreter baseline, and the
difference (what the estimator itself costs). Usage:

    python tests/benchmarks/bench_cli.py [--runs 15] [--config PATH]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "tests" / "fixtures" / "configs"


def _time(cmd: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--config", type=Path)
    args = parser.parse_args()
    config = args.config or next(
        (p for p in sorted(CONFIGS.glob("*.json")) if "Llama-3.1-8B" in p.name),
        next(iter(sorted(CONFIGS.glob("*.json"))), None),
    )
    if config is None:
        print("no config fixture found; pass --config", file=sys.stderr)
        return 2
    cli = [sys.executable, "-m", "estimator", "--config", str(config), "--json"]
    _time(cli, 2)  # warm the file-system cache and .pyc files
    base = _time([sys.executable, "-c", "pass"], args.runs)
    run = _time(cli, args.runs)
    ms = 1000.0
    print(f"config: {config.relative_to(ROOT) if config.is_relative_to(ROOT) else config}")
    print(
        f"llm-mem --config X --json: median {statistics.median(run) * ms:.0f} ms, "
        f"best {min(run) * ms:.0f} ms ({args.runs} runs)"
    )
    print(
        f"python -c pass baseline:   median {statistics.median(base) * ms:.0f} ms, "
        f"best {min(base) * ms:.0f} ms"
    )
    print(
        f"estimator's own cost:      median "
        f"{(statistics.median(run) - statistics.median(base)) * ms:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

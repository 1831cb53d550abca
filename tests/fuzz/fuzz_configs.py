"""Long fuzz run over every fixture config: ``python tests/fuzz/fuzz_configs.py --cases 30000``.

Prints the cases by outcome and by mutation kind, and the first examples of every
outcome that is neither ``ok`` nor the project's own error; exits 1 if there is one.
Reproducible: ``--seed`` fixes every random choice (case i uses seed + i).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz.mutations import fixtures, run_case


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=30_000, help="mutated configs to try")
    parser.add_argument("--seed", type=int, default=0, help="first case's seed")
    parser.add_argument("--show", type=int, default=5, help="examples per bad outcome")
    args = parser.parse_args(argv)
    configs = fixtures()
    outcomes: Counter[str] = Counter()
    by_kind: Counter[tuple[str, str]] = Counter()
    examples: dict[str, list[str]] = {}
    start = time.perf_counter()
    for i in range(args.cases):
        rng = random.Random(args.seed + i)
        name, config = configs[i % len(configs)]
        outcome, kinds, detail = run_case(config, rng)
        outcomes[outcome] += 1
        for kind in set(kinds):
            by_kind[(kind, "bad" if _bad(outcome) else "good")] += 1
        if _bad(outcome) and len(examples.setdefault(outcome, [])) < args.show:
            examples[outcome].append(f"case {args.seed + i} ({name}, {kinds}): {detail}")
    elapsed = time.perf_counter() - start
    print(f"{args.cases} cases over {len(configs)} fixtures in {elapsed:.1f} s (seed {args.seed})")
    for outcome, n in sorted(outcomes.items(), key=lambda kv: -kv[1]):
        print(f"  {n:7d}  {outcome}")
    kinds = sorted({k for k, _ in by_kind})
    print("by mutation kind (cases containing it: handled / bad):")
    for kind in kinds:
        print(f"  {kind:15s} {by_kind[(kind, 'good')]:7d} / {by_kind[(kind, 'bad')]}")
    for outcome, lines in examples.items():
        print(f"{outcome}:")
        for line in lines:
            print(f"  {line}")
    return 1 if any(_bad(o) for o in outcomes) else 0


def _bad(outcome: str) -> bool:
    return outcome == "absurd" or outcome.startswith("crash:")


if __name__ == "__main__":
    raise SystemExit(main())

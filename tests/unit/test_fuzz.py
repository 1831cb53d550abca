"""A short fuzz run in the suite; the long one is ``python tests/fuzz/fuzz_configs.py``."""

from __future__ import annotations

import random
from collections import Counter

from tests.fuzz.mutations import KINDS, fixtures, run_case

#: About 12 s on one core of the 2-core dev machine; the long run's default is 30,000 cases.
CASES = 2_000


def test_short_fuzz_run_has_no_crash_and_no_absurd_result() -> None:
    configs = fixtures()
    outcomes: Counter[str] = Counter()
    kinds_seen: Counter[str] = Counter()
    bad = []
    for i in range(CASES):
        rng = random.Random(1_000_000 + i)
        name, config = configs[i % len(configs)]
        outcome, kinds, detail = run_case(config, rng)
        outcomes[outcome] += 1
        kinds_seen.update(kinds)
        if outcome == "absurd" or outcome.startswith("crash:"):
            bad.append(f"case {1_000_000 + i} ({name}, {kinds}): {outcome}: {detail}")
    assert not bad, "\n".join(bad[:10])
    # The run reaches every mutation kind and both outcomes that are allowed.
    assert set(kinds_seen) == set(KINDS)
    assert outcomes["ok"] > CASES // 5
    assert sum(n for o, n in outcomes.items() if o.startswith("estimator_error:")) > CASES // 5

"""The refactor guard (issue 12): a sample of the recorded estimates is reproduced exactly.

The full run (3,800+ cases) is ``python tests/refactor/compare_estimates.py``; this test
checks every fourth case so that the suite catches a behaviour change in any layer that the
estimate JSON, the launch verdict or the fit solvers show.
"""

from __future__ import annotations

import json

from tests.refactor import compare_estimates as compare


def test_the_grid_covers_every_fixture_engine_and_layout() -> None:
    table = compare.configs()
    grid = list(compare.cases(list(table)))
    assert len(grid) >= 3000
    assert {c.config_name for c in grid} == set(table)
    assert {c.engine for c in grid} == set(compare.ENGINES)
    assert {c.precision for c in grid} == set(compare.PRECISIONS)
    assert {c.layout for c in grid} == set(compare.LAYOUTS)
    assert any(c.gguf_file for c in grid) and any(c.extras for c in grid)


def test_a_sample_reproduces_the_baseline_byte_for_byte() -> None:
    base = json.loads(compare.BASELINE.read_text())
    now = compare.digests(stride=4)
    assert len(now) > 900
    changed = sorted(key for key, digest in now.items() if base.get(key) != digest)
    assert changed == [], f"{len(changed)} estimates changed, e.g. {changed[:5]}"

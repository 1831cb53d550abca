"""Documentation check: the CLI examples in README.md are real, each `$ llm-mem ...` block
prints exactly that.

This is a snapshot of the documentation, not a guard of any value: it fails on every change
of the output, right or wrong (then update README.md). Each figure those examples show is
checked by its own value test (tests/unit/test_options_effect.py, test_components.py,
test_planning.py, goldens, validation), and the suite catches a wrong figure without this file:
`tests/benchmarks/mutation.py` and the planted-bug checks run with it deselected.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"```\n\$ (llm-mem [^\n]+)\n(.*?)```", re.S)
EXAMPLES = BLOCK.findall((ROOT / "README.md").read_text())


def test_readme_has_three_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize(("command", "expected"), EXAMPLES, ids=lambda v: v[:60])
def test_readme_example_output_is_current(command: str, expected: str) -> None:
    args = shlex.split(command)[1:]
    result = subprocess.run([sys.executable, "-m", "estimator", *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected.strip()

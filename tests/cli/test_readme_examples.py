"""The CLI examples in README.md are real: each `$ llm-mem ...` block prints exactly that."""

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

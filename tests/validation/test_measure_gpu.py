"""measure_gpu.py must refuse cleanly where there is no CUDA (CI, this machine)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("measure_gpu.py")


def test_refuses_without_cuda() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "meta-llama__Llama-3.2-1B-Instruct"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("measure_gpu:")
    assert "Traceback" not in result.stderr
    assert not (SCRIPT.parent / "gpu_measurements.jsonl").exists()

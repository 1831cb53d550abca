"""The core must import and run where Pyodide has no sockets, threads or subprocesses."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.conftest import CONFIGS, ROOT

BLOCKED = ("socket", "ssl", "subprocess", "threading", "multiprocessing", "urllib.request")


def test_core_runs_with_browser_unavailable_modules_blocked() -> None:
    code = textwrap.dedent(f"""
        import importlib.abc, json, sys
        blocked = {BLOCKED!r}
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name in blocked:
                    raise ImportError("blocked in the browser: " + name)
        for name in blocked:
            sys.modules.pop(name, None)
        sys.meta_path.insert(0, Block())
        import estimator
        cfg = json.load(open({str(CONFIGS / "Qwen__Qwen3-8B.json")!r}))
        est = estimator.estimate(cfg, estimator.EstimateOptions(gpu="l4"))
        points = estimator.sweep(cfg, estimator.EstimateOptions(gpu="l4"), points=100)
        doc = est.to_dict()  # confidence (reads estimator/data) and filled-in formulas
        assert doc["confidence"]["weights"]["records"] > 0 and doc["formulas"]
        print(est.total_bytes, len(points))
    """)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    total, points = result.stdout.split()
    assert int(total) > 16 * 1024**3 and int(points) >= 90

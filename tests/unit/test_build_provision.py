"""build.py provisions node_modules/ itself: `npm ci` runs when it is missing or stale."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

import build


def _project(root: Path, pinned: str = "1.2.3") -> None:
    lock = {
        "packages": {
            "": {"name": "p"},
            "node_modules/pyodide": {"version": pinned},
            "node_modules/fsevents": {"version": "2.3.3", "optional": True},
        }
    }
    (root / "package-lock.json").write_text(json.dumps(lock))


def _install(root: Path, version: str) -> None:
    meta = root / "node_modules" / "pyodide" / "package.json"
    meta.parent.mkdir(parents=True, exist_ok=True)
    meta.write_text(json.dumps({"version": version}))


def test_node_modules_is_checked_against_the_lockfile(tmp_path: Path) -> None:
    _project(tmp_path)
    assert build.node_modules_problem(tmp_path) == "node_modules/ is missing"
    _install(tmp_path, "1.0.0")
    assert build.node_modules_problem(tmp_path) == (
        "node_modules/pyodide is 1.0.0, package-lock.json pins 1.2.3"
    )
    _install(tmp_path, "1.2.3")
    assert build.node_modules_problem(tmp_path) is None  # optional fsevents may be absent


def test_npm_ci_runs_when_node_modules_is_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _project(tmp_path)
    _install(tmp_path, "1.0.0")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    # A stand-in npm that installs what the lockfile pins, as `npm ci` would.
    npm.write_text(
        "#!/bin/sh\n"
        '[ "$1" = ci ] || exit 2\n'
        'echo \'{"version": "1.2.3"}\' > node_modules/pyodide/package.json\n'
    )
    npm.chmod(npm.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    build.ensure_node_modules(tmp_path)
    said = capsys.readouterr().out
    assert "node_modules/pyodide is 1.0.0, package-lock.json pins 1.2.3; running `npm ci`" in said
    assert build.node_modules_problem(tmp_path) is None
    build.ensure_node_modules(tmp_path)  # up to date: nothing to run, nothing said
    assert capsys.readouterr().out == ""


def test_without_npm_it_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    with pytest.raises(SystemExit, match="npm is not installed"):
        build.ensure_node_modules(tmp_path)

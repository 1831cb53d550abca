"""What build.py ships for the page's worker (python_bundle) and how site/runtime.py uses
the compiled dataclass methods; tests/e2e boots the real bundle in Chromium."""

from __future__ import annotations

import dataclasses
import io
import marshal
import shutil
import sys
import zipfile
from pathlib import Path

import pytest

import build
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "site"))

import runtime


def test_sources_are_what_the_worker_can_import() -> None:
    files = build.python_sources()
    assert {"view.py", "runtime.py", "estimator/__init__.py", "estimator/estimate.py",
            "estimator/hub/client.py", "estimator/hub/browser.py",
            "estimator/data/devices.json"} <= set(files)
    # the command line is not reachable from the page: not shipped (the launch command the
    # page copies is: estimator/commands.py)
    assert not {"estimator/cli.py", "estimator/__main__.py"} & set(files)
    assert {"estimator/commands.py", "launch_view.py", "evidence.py", "hardware_view.py"} <= set(
        files)
    # every estimator module a shipped file imports (even inside a function) is shipped
    for name, source in files.items():
        if name.endswith(".py"):
            for module in build._imported_modules(name, source):
                rel = module.replace(".", "/")
                if module.startswith("estimator") and (ROOT / f"{rel}.py").exists():
                    assert f"{rel}.py" in files, (name, module)


def test_relative_imports_resolve() -> None:
    source = b"from .client import HubClient\nfrom ..errors import HubError\nimport json\n"
    found = build._imported_modules("estimator/hub/__init__.py", source)
    assert {"estimator.hub.client", "estimator.hub.client.HubClient", "estimator.errors",
            "json"} <= found


def test_bundle_is_a_stored_zip_of_the_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build, "compile_for_pyodide", lambda files: None)  # no Node here
    data, compiled = build.python_bundle()
    assert compiled is False
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        assert {i.compress_type for i in infos} == {zipfile.ZIP_STORED}  # site/worker.js reads
        assert sorted(i.filename for i in infos) == sorted(build.python_sources())
        assert zf.read("runtime.py") == (ROOT / "site" / "runtime.py").read_bytes()


def test_compiled_dataclass_methods_are_used(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dataclasses, "exec", exec, raising=False)
    seen: list[str] = []
    real = compile

    def spy(source: str, *args: object) -> object:
        seen.append(source)
        return real(source, *args)  # type: ignore[call-overload]

    # record what dataclasses compiles for one class, as build.py does in Pyodide
    monkeypatch.setattr(dataclasses, "exec",
                        lambda src, g=None, loc=None: exec(spy(src, "<string>", "exec"), g, loc))

    def point() -> type:
        @dataclasses.dataclass(frozen=True)
        class Point:
            x: int
            y: int = 2

        return Point

    point()
    assert seen  # one exec per class (3.13+) or per method (3.11)
    codes = {source: real(source, "<string>", "exec") for source in seen}
    path = tmp_path / "dataclasses.marshal"
    path.write_bytes(marshal.dumps(codes))
    runtime._use_compiled_dataclass_methods(path)
    shim = dataclasses.exec  # type: ignore[attr-defined]
    calls: list[object] = []
    real_exec = exec
    monkeypatch.setattr(runtime.builtins, "exec", lambda c, g=None, loc=None: (
        calls.append(c), real_exec(c, g, loc)))
    Point = point()  # the same class again: the same generated source

    assert len(calls) == len(seen)
    assert not any(isinstance(c, str) for c in calls)  # compiled code objects, no source
    assert [c.co_consts for c in calls] == [codes[s].co_consts for s in seen]  # type: ignore[attr-defined]
    assert Point(1) == Point(1, 2) and repr(Point(3)).endswith("Point(x=3, y=2)")

    @dataclasses.dataclass
    class Other:  # not in the file: compiled from its source as before
        z: str

    assert isinstance(calls[-1], str) and Other("a").z == "a"
    assert dataclasses.exec is shim  # type: ignore[attr-defined]


def test_missing_or_broken_file_changes_nothing(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dataclasses, "exec", exec, raising=False)
    runtime._use_compiled_dataclass_methods(tmp_path / "absent.marshal")
    assert dataclasses.exec is exec  # type: ignore[attr-defined]
    (tmp_path / "bad.marshal").write_bytes(b"not marshal")
    runtime._use_compiled_dataclass_methods(tmp_path / "bad.marshal")
    assert dataclasses.exec is exec  # type: ignore[attr-defined]


def _deflated_zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


STDLIB_SAMPLE = {
    "mod.py": b'"""module text"""\ndef f():\n    """function text"""\n    return 1\n'
              b'class C:\n    """class text"""\n',
    "pkg/__init__.py": b"from mod import f\n",
    "pkg/data.txt": b"kept as it is",
}


@pytest.mark.skipif(not shutil.which("node") or not (build.NODE / "pyodide").exists(),
                    reason="needs Node and node_modules/pyodide (npm ci)")
def test_stdlib_is_shipped_as_pyodide_bytecode() -> None:
    data = build.compiled_stdlib(_deflated_zip(STDLIB_SAMPLE))
    assert data is not None
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        assert set(infos) == {"mod.pyc", "pkg/__init__.pyc", "pkg/data.txt"}
        assert {i.compress_type for i in infos.values()} == {zipfile.ZIP_STORED}
        assert zf.read("pkg/data.txt") == b"kept as it is"
        pyc = zf.read("mod.pyc")
        bundled = build.compile_for_pyodide({"x.py": b"y = 1\n"})
        assert bundled is not None
        assert pyc[:4] == bundled["x.pyc"][:4]  # the vendored Pyodide's bytecode magic
        assert pyc[4:16] == bytes(12)  # sourceless: no timestamp or hash to check
        # tracebacks name the file where Pyodide mounts the stdlib zip
        assert b".zip/mod.py" in pyc and b"/lib/python3" in pyc
        # module and function docstrings dropped, a class's kept (as for the page's modules)
        assert b"class text" in pyc
        assert b"module text" not in pyc and b"function text" not in pyc


def test_without_node_the_stdlib_sources_are_shipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build, "compile_for_pyodide", lambda *a, **k: None)
    assert build.compiled_stdlib(_deflated_zip(STDLIB_SAMPLE)) is None
    if (build.NODE / "pyodide").exists():
        files, _ = build.pyodide_files()
        with zipfile.ZipFile(io.BytesIO(files["python_stdlib.zip"])) as zf:
            names = zf.namelist()
        assert "json/__init__.py" in names and not any(n.endswith(".pyc") for n in names)

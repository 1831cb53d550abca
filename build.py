#!/usr/bin/env python3
"""Build the static page into dist/ (and optionally serve it on localhost).

    python build.py                 # build dist/
    python build.py serve [--port 8000] [--host 127.0.0.1]   # build, then serve dist/

The Pyodide runtime is vendored from node_modules/, pinned by package-lock.json: when
node_modules/ is missing or does not match the lockfile, both commands run `npm ci`
first and say so. Nothing is loaded from a CDN. Python runs in a worker
(site/worker.js boots Pyodide, site/runtime.py answers the page's requests); the
main thread runs only site/app.js.

What ends up in dist/:
  index.html                      the page, with the default model's estimate pre-rendered
  assets/pyodide-<ver>-<hash>/    Pyodide core (stdlib zip trimmed and precompiled, lock
                                  file emptied)
  assets/<name>.<hash>.<ext>      our CSS/JS, python.<hash>.zip (estimator/ + site/*.py as
                                  Pyodide bytecode, see python_bundle), bundled configs
  asset-manifest.json             logical name -> {path, sha256, size} (for the service worker)
  *.gz (and *.br when the `brotli` module is installed) precompressed copies

The build is deterministic: the same sources give byte-identical output
(sorted inputs, fixed zip timestamps, gzip mtime 0).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
SITE = ROOT / "site"
DIST = ROOT / "dist"
NODE = ROOT / "node_modules"
FIXTURE_CONFIGS = ROOT / "tests" / "fixtures" / "configs"
PACKAGE_DIR = ROOT / "estimator"

#: Model shown (and pre-rendered) when the URL names none.
DEFAULT_MODEL = "meta-llama/Llama-3.1-8B"
#: Popular models whose verbatim configs ship with the page (work without the Hub).
#: Only those present in tests/fixtures/configs/ are bundled.
BUNDLED_MODELS = (
    "meta-llama/Llama-3.1-8B",
    "meta-llama/Llama-3.1-8B-Instruct",
    "meta-llama/Llama-3.1-70B",
    "meta-llama/Llama-3.1-70B-Instruct",
    "meta-llama/Llama-3.2-1B",
    "meta-llama/Llama-3.2-3B",
    "meta-llama/Llama-3.3-70B-Instruct",
    "mistralai/Mistral-7B-v0.1",
    "mistralai/Mistral-7B-Instruct-v0.3",
    "mistralai/Mixtral-8x7B-v0.1",
    "mistralai/Mistral-Nemo-Instruct-2407",
    "Qwen/Qwen2.5-7B-Instruct",
    "Qwen/Qwen2.5-72B-Instruct",
    "Qwen/Qwen3-8B",
    "Qwen/Qwen3-32B",
    "Qwen/Qwen3-30B-A3B",
    "Qwen/Qwen3-235B-A22B",
    "google/gemma-2-9b-it",
    "google/gemma-2-27b-it",
    "google/gemma-3-27b-it",
    "microsoft/Phi-3-mini-4k-instruct",
    "microsoft/phi-4",
    "deepseek-ai/DeepSeek-V3",
    "deepseek-ai/DeepSeek-R1",
    "deepseek-ai/DeepSeek-V2-Lite",
    "openai/gpt-oss-20b",
    "openai/gpt-oss-120b",
    "moonshotai/Kimi-K2-Instruct",
    "ai21labs/AI21-Jamba-Mini-1.5",
    "tiiuae/falcon-7b",
    "gpt2",
)

#: Pyodide files loadPyodide() fetches; nothing else from the npm package is needed.
PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip",
                 "pyodide-lock.json")

#: Top-level stdlib entries that the browser never imports (tests, GUI, servers, REPL
#: tooling, process spawning). Keep this list conservative: a missing module is an
#: ImportError at run time. tests/e2e boots the page with the trimmed zip.
STDLIB_DROP = frozenset({
    "test", "idlelib", "tkinter", "turtledemo", "turtle.py", "ensurepip", "lib2to3", "venv",
    "pydoc_data", "pydoc.py", "doctest.py", "unittest", "_pyrepl", "multiprocessing",
    "xmlrpc", "wsgiref", "imaplib.py", "smtplib.py", "poplib.py", "ftplib.py", "nntplib.py",
    "mailbox.py", "curses", "dbm", "sqlite3", "pdb.py", "bdb.py", "cProfile.py", "profile.py",
    "pstats.py", "trace.py", "tracemalloc.py", "tabnanny.py", "pyclbr.py", "zipapp.py",
    "antigravity.py", "this.py", "__hello__.py", "__phello__", "webbrowser.py",
    "socketserver.py", "pty.py", "tty.py", "getpass.py", "wave.py", "pickletools.py",
    "compileall.py", "py_compile.py", "modulefinder.py", "timeit.py", "cmd.py",
    "code.py", "codeop.py", "rlcompleter.py", "sched.py", "shelve.py", "netrc.py",
})

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
COMPRESSIBLE = (".html", ".css", ".js", ".mjs", ".json", ".py", ".wasm", ".svg", ".whl", ".zip",
                ".txt", ".webmanifest")


# ---------------------------------------------------------------------------
# helpers


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def short_hash(data: bytes) -> str:
    return sha256(data)[:10]


def hashed_name(name: str, data: bytes) -> str:
    """'app.css' -> 'app.<hash>.css' (hash of the content: cache forever)."""
    stem, dot, ext = name.partition(".")
    return f"{stem}.{short_hash(data)}{dot}{ext}"


def package_version(name: str) -> str:
    meta = NODE / name / "package.json"
    if not meta.exists():
        sys.exit(f"build: {meta} is missing; run `npm ci` first (installs the pinned runtimes)")
    return str(json.loads(meta.read_text())["version"])


def expected_version(name: str) -> str:
    return str(json.loads((ROOT / "package.json").read_text())["dependencies"][name])


def deterministic_zip(entries: list[tuple[str, bytes]], compresslevel: int = 9, *,
                      stored: bool = False) -> bytes:
    """A zip whose bytes depend only on the (sorted) entries; stored: uncompressed (the
    HTTP layer serves it .br/.gz, and Python reads it without inflating)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in sorted(entries):
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            zf.writestr(info, data, compresslevel=None if stored else compresslevel)
    return buf.getvalue()


# ---------------------------------------------------------------------------
# pieces


def estimator_version() -> str:
    text = (ROOT / "pyproject.toml").read_text()
    match = re.search(r'^version\s*=\s*"([^"]+)"', text, re.M)
    return match.group(1) if match else "0.0.0"


#: Compiles Python sources with the vendored Pyodide (its Python, its bytecode magic) in Node:
#: reads {"out": dir, "files": {name: source}, "prefix": dir or null, "record": bool} as JSON
#: on stdin, writes <out>/<name>c (co_filename <prefix><name>; null: the stdlib zip's
#: mount point); with record, also imports the
#: modules to write <out>/dataclasses.marshal.
COMPILE_MJS = """import { loadPyodide } from %(pyodide)s;
import fs from "node:fs";
const job = JSON.parse(fs.readFileSync(0, "utf8"));
const py = await loadPyodide({ indexURL: %(index)s, stdout: () => {}, stderr: () => {} });
for (const [name, text] of Object.entries(job.files)) {
  const path = "/home/pyodide/" + name;
  py.FS.mkdirTree(path.slice(0, path.lastIndexOf("/")));
  py.FS.writeFile(path, text);
}
py.globals.set("names", py.toPy(Object.keys(job.files)));
py.globals.set("prefix", job.prefix ?? undefined); // JS null would arrive as jsnull, not None
py.globals.set("record_dataclasses", job.record);
py.runPython(`
import ast, builtins, dataclasses, marshal, sys
from importlib.util import MAGIC_NUMBER
stdlib = f"/lib/python{sys.version_info.major}{sys.version_info.minor}.zip/"
out = {}
for name in sorted(names):
    if not name.endswith(".py"):
        continue
    with open("/home/pyodide/" + name, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    # module and function docstrings go (a third of the bytes); asserts stay; class
    # docstrings stay: @dataclass makes one from inspect.signature for a class without
    # (~9 ms of the worker's start-up for ~70 classes)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if (isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef))
                and isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)):
            if len(body) == 1:
                body[0] = ast.Pass()
            else:
                del body[0]
    ast.fix_missing_locations(tree)
    # co_filename: where the file lives in the browser (tracebacks name it)
    code = compile(tree, (stdlib if prefix is None else prefix) + name, "exec", dont_inherit=True,
                   optimize=0)
    out[name + "c"] = MAGIC_NUMBER + (0).to_bytes(4, "little") + bytes(8) + marshal.dumps(code)
# the methods @dataclass generates (one exec of generated source per class), compiled here
if record_dataclasses:
    generated = {}
    def record(source, globals=None, locals=None):
        code = generated.setdefault(source, compile(source, "<string>", "exec"))
        builtins.exec(code, globals, locals)
    dataclasses.exec = record
    sys.path.insert(0, "/home/pyodide")
    for name in sorted(names):
        if name.endswith(".py"):
            module = name.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
            try:
                __import__(module)
            except ImportError:
                pass
    out["dataclasses.marshal"] = marshal.dumps({k: generated[k] for k in sorted(generated)})
`);
const out = py.globals.get("out");
for (const name of out.keys()) {
  const path = job.out + "/" + name;
  fs.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  fs.writeFileSync(path, out.get(name).toJs());
}
"""


def _imported_modules(name: str, source: bytes) -> set[str]:
    """Dotted names of every module a file imports anywhere (functions included), relative
    imports resolved; ``from a import b`` gives both a and a.b (b may be a module)."""
    import ast

    package = name.removesuffix(".py").replace("/", ".").rpartition(".")[0]  # a/b/c.py: a.b
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def python_sources() -> dict[str, bytes]:
    """What the worker imports, by path under its home directory: site/view.py,
    site/runtime.py, the page modules they import (site/*.py), the estimator modules they
    can import (anywhere in a function too, so nothing reachable is left out; the CLI is)
    and estimator/data/."""
    available: dict[str, str] = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if "__pycache__" not in path.parts:
            rel = path.relative_to(ROOT).as_posix()
            available[rel.removesuffix(".py").removesuffix("/__init__").replace("/", ".")] = rel
    files = {name: (SITE / name).read_bytes() for name in ("view.py", "runtime.py")}
    page_modules = {path.stem: path.name for path in SITE.glob("*.py")}  # site/x.py: import x
    todo = list(files)
    while todo:
        name = todo.pop()
        for module in _imported_modules(name, files[name]):
            parts = module.split(".")
            page_module = page_modules.get(parts[0])
            if page_module and page_module not in files:
                files[page_module] = (SITE / page_module).read_bytes()
                todo.append(page_module)
            for i in range(1, len(parts) + 1):  # a module's packages run first
                rel = available.get(".".join(parts[:i]))
                if rel and rel not in files:
                    files[rel] = (ROOT / rel).read_bytes()
                    todo.append(rel)
    for path in sorted((PACKAGE_DIR / "data").glob("*.json")):
        files[path.relative_to(ROOT).as_posix()] = path.read_bytes()
    return dict(sorted(files.items()))


def compile_for_pyodide(files: dict[str, bytes], *, prefix: str | None = "/home/pyodide/",
                        record: bool = True) -> dict[str, bytes] | None:
    """name.py -> name.pyc: bytecode of the vendored Pyodide's Python (sourceless .pyc, no
    timestamp to check, module and function docstrings dropped; co_filename prefix+name,
    prefix None: where Pyodide mounts its stdlib zip, /lib/pythonXY.zip/);
    with record, plus dataclasses.marshal: the code of the methods @dataclass generates for
    every class of these modules (site/runtime.py hands it to dataclasses), so that the
    worker's start-up compiles nothing. None when Node cannot run Pyodide."""
    import subprocess
    import tempfile

    node = shutil.which("node")
    if node is None:
        return None
    pyodide = NODE / "pyodide"
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "compile.mjs"
        script.write_text(COMPILE_MJS % {"pyodide": json.dumps((pyodide / "pyodide.mjs").as_uri()),
                                         "index": json.dumps(f"{pyodide}/")})
        out = Path(tmp) / "out"
        job = {"out": str(out), "files": {n: d.decode("utf-8") for n, d in files.items()},
               "prefix": prefix, "record": record}
        try:
            done = subprocess.run([node, str(script)], input=json.dumps(job), text=True,
                                  capture_output=True, timeout=600, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if done.returncode != 0:
            print(f"build: compiling for Pyodide failed: {done.stderr[-600:]}", file=sys.stderr)
            return None
        names = [n + "c" for n in files if n.endswith(".py")]
        names += ["dataclasses.marshal"] if record else []
        return {name: (out / name).read_bytes() for name in names}


def python_bundle() -> tuple[bytes, bool]:
    """One stored (uncompressed) zip the worker writes into Pyodide's file system: .pyc
    compiled by the vendored Pyodide plus the data files; the .py sources when Node is
    missing (slower start, same behaviour). The HTTP layer compresses it (.br/.gz)."""
    files = python_sources()
    compiled = compile_for_pyodide(files)
    if compiled is None:
        print("build: node could not compile the Python for Pyodide; shipping sources "
              "(the page starts slower)", file=sys.stderr)
        entries = files
    else:
        entries = {**{n: d for n, d in files.items() if not n.endswith(".py")}, **compiled}
    return deterministic_zip(list(entries.items()), stored=True), compiled is not None


def compiled_stdlib(data: bytes) -> bytes | None:
    """The stdlib zip with every module as a sourceless .pyc compiled by the vendored
    Pyodide (docstrings dropped as for the page's own modules), stored (the HTTP layer
    compresses it; about as many bytes as Pyodide's deflated sources). Pyodide's own
    start-up imports ~190 stdlib modules and compiles each from source in wasm on every
    load: ~1.4 s of a 2 s boot in Node, ~1.5 s of 2.6 s in Chromium. None without Node."""
    src = zipfile.ZipFile(io.BytesIO(data))
    entries = {i.filename: src.read(i) for i in src.infolist() if not i.is_dir()}
    sources = {name: text for name, text in entries.items() if name.endswith(".py")}
    compiled = compile_for_pyodide(sources, prefix=None, record=False)
    if compiled is None:
        return None
    kept = {n: d for n, d in entries.items() if n not in sources}
    return deterministic_zip(list({**kept, **compiled}.items()), stored=True)


def _module_level_imports(source: bytes) -> set[str]:
    """Top-level package names a module imports when it is imported (not in functions)."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, (ast.If, ast.Try, ast.With)) or type(node).__name__ == "TryStar":
            for field in ("body", "orelse", "finalbody", "handlers"):
                stack.extend(getattr(node, field, []) or [])
        elif isinstance(node, ast.ExceptHandler):
            stack.extend(node.body)
    return names


def trimmed_stdlib(data: bytes) -> tuple[bytes, list[str]]:
    """python_stdlib.zip without the STDLIB_DROP modules that nothing kept imports.

    A dropped entry is put back when any kept module imports it at module level
    (repeated until stable), so trimming can only remove modules that are reached
    through function-level imports of features the page never uses.
    """
    src = zipfile.ZipFile(io.BytesIO(data))
    infos = [i for i in src.infolist() if not i.is_dir()]

    def top(name: str) -> str:
        first = name.split("/", 1)[0]
        return first[:-3] if first.endswith(".py") and "/" not in name else first

    drop = {d[:-3] if d.endswith(".py") else d for d in STDLIB_DROP}
    imports: dict[str, set[str]] = {}
    for info in infos:
        if info.filename.endswith(".py"):
            imports.setdefault(top(info.filename), set()).update(
                _module_level_imports(src.read(info)))
    while True:
        needed = set()
        for module, names in imports.items():
            if module not in drop:
                needed |= names & drop
        if not needed:
            break
        drop -= needed
    entries = [(i.filename, src.read(i)) for i in infos if top(i.filename) not in drop]
    return deterministic_zip(entries), sorted(drop)


def pyodide_files(node: Path = NODE) -> tuple[dict[str, bytes], list[str]]:
    """The Pyodide core files to ship, and the stdlib modules trimmed from its zip."""
    out: dict[str, bytes] = {}
    dropped: list[str] = []
    for name in PYODIDE_FILES:
        data = (node / "pyodide" / name).read_bytes()
        if name == "python_stdlib.zip":
            data, dropped = trimmed_stdlib(data)
            compiled = compiled_stdlib(data)
            if compiled is None:
                print("build: node could not compile the stdlib for Pyodide; shipping its "
                      "sources (the runtime starts ~1.5 s slower)", file=sys.stderr)
            data = compiled or data
        elif name == "pyodide-lock.json":
            # The page loads no Pyodide packages (the estimator is stdlib-only and comes
            # as a wheel the worker unpacks): keep the header, drop the 120 KB of entries.
            lock = json.loads(data)
            lock["packages"] = {}
            data = json.dumps(lock, sort_keys=True, separators=(",", ":")).encode()
        elif name.endswith((".mjs", ".js")):
            data = strip_source_map(data)
        out[name] = data
    return out, dropped


def strip_source_map(data: bytes) -> bytes:
    """Drop the sourceMappingURL comment (the maps are not shipped)."""
    return re.sub(rb"\n?//# sourceMappingURL=\S+\s*$", b"\n", data)


def dir_hash(files: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + sha256(files[name]).encode() + b"\0")
    return h.hexdigest()[:10]


def bundled_configs() -> dict[str, Any]:
    """repo id -> verbatim config.json for the models we ship (those with a fixture)."""
    configs: dict[str, Any] = {}
    for repo_id in BUNDLED_MODELS:
        path = FIXTURE_CONFIGS / (repo_id.replace("/", "__") + ".json")
        if path.exists():
            configs[repo_id] = json.loads(path.read_text(encoding="utf-8"))
    if DEFAULT_MODEL not in configs:
        sys.exit(f"build: the default model's config {DEFAULT_MODEL} is missing from "
                 f"{FIXTURE_CONFIGS}")
    return configs


# ---------------------------------------------------------------------------
# pre-rendering


def _site_module(name: str) -> Any:
    """A module of site/ (view, controls), imported with site/ on the path."""
    import importlib

    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(SITE))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.pop(0)
        sys.path.pop(0)


def _site_view() -> Any:
    return _site_module("view")  # site/view.py


def page_fields() -> dict[str, Any]:
    """The option fields and their defaults, for the main thread's URL handling."""
    view = _site_view()
    return {"fields": list(view.PAGE_FIELDS),
            "defaults": {name: view.option_default(name) for name in view.PAGE_FIELDS}}


def embed_keys() -> list[str]:
    """The attributes the embed loader passes to the widget: the model, the page's option
    keys (estimator.schema) and the widget's visible controls."""
    return ["model", "revision", *page_fields()["fields"], "controls"]


def render_embed_js(template: str) -> bytes:
    """site/embed.js with its ``/*KEYS*/ ... /*END KEYS*/`` list replaced by embed_keys()."""
    text, count = re.subn(r"/\*KEYS\*/.*?/\*END KEYS\*/",
                          lambda _: json.dumps(embed_keys(), separators=(",", ":")), template,
                          count=1, flags=re.S)
    if count != 1:
        sys.exit("build: site/embed.js lacks its /*KEYS*/ ... /*END KEYS*/ placeholder")
    return text.encode()


def prerender(template: str, configs: dict[str, Any]) -> str:
    """Fill the page's result slots with the CPython estimate of the default model.

    site/view.py computes the same view model in the browser, so the numbers do not
    jump when Python takes over.
    """
    view = _site_view()
    state = view.default_state(DEFAULT_MODEL)
    vm = view.compute(configs[DEFAULT_MODEL], state, None,
                      model_label=f"{DEFAULT_MODEL} (bundled copy of its config.json)")
    template = _site_module("controls").expand(template)  # the option controls (schema)
    return view.render_static(template, vm, state, model_ids=sorted(configs))


# ---------------------------------------------------------------------------
# [offline/embed] service worker


def render_sw(template: str, assets: dict[str, Any]) -> bytes:
    """site/sw.js with its ``/*BUILD*/ ... /*END BUILD*/`` object replaced by this build's
    assets and version (a hash of them: a new deploy means a new SW and a new cache)."""
    listing = json.dumps(assets, sort_keys=True, separators=(",", ":"))
    build_info = json.dumps({"version": sha256(listing.encode())[:16], "assets": assets},
                            sort_keys=True, separators=(",", ":"))
    text, count = re.subn(r"/\*BUILD\*/.*?/\*END BUILD\*/", lambda _: build_info, template,
                          count=1, flags=re.S)
    if count != 1:
        sys.exit("build: site/sw.js lacks its /*BUILD*/ ... /*END BUILD*/ placeholder")
    return text.encode()


# ---------------------------------------------------------------------------
# the build


class Output:
    """Collects dist/ files and the manifest."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.manifest: dict[str, dict[str, Any]] = {}

    def add(self, logical: str, path: str, data: bytes, *, manifest: bool = True) -> str:
        self.files[path] = data
        if manifest:
            self.manifest[logical] = {"path": path, "sha256": sha256(data), "size": len(data)}
        return path


def json_for_script(value: Any) -> str:
    """``value`` as JSON safe inside <script type="application/json">: no "<", ">" or "&"
    (so no "</script>" or "<!--" can end or change the block; JSON.parse reads the escapes)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def check_runtime() -> str:
    """Step: node_modules holds the Pyodide that package.json pins; returns its version."""
    have, want = package_version("pyodide"), expected_version("pyodide")
    if have != want:
        sys.exit(f"build: node_modules has pyodide {have}, package.json pins {want}; "
                 "run `npm ci`")
    return have


def add_pyodide(out: Output, version: str) -> tuple[str, list[str]]:
    """Step: the Pyodide core under a content-hashed folder; returns the folder and the
    stdlib modules trimmed."""
    pyo, dropped = pyodide_files()
    pyo_dir = f"assets/pyodide-{version}-{dir_hash(pyo)}"
    for name, data in sorted(pyo.items()):
        out.add(f"pyodide/{name}", f"{pyo_dir}/{name}", data)
    return pyo_dir, dropped



def add_python_bundle(out: Output) -> str:
    """Step: the estimator and the page's Python as one zip of Pyodide bytecode (see
    python_bundle); returns its path."""
    bundle, _ = python_bundle()
    return out.add("python.zip", "assets/" + hashed_name("python.zip", bundle), bundle)


def add_models(out: Output) -> tuple[dict[str, Any], str]:
    """Step: the bundled configs as one JSON file; returns them and its path."""
    configs = bundled_configs()
    models = json.dumps(configs, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return configs, out.add("models.json", "assets/" + hashed_name("models.json", models), models)


def add_own_assets(out: Output) -> dict[str, str]:
    """Step: our CSS/JS/Python, content-hashed; returns name -> path. [offline/embed] the
    offline notice + SW registration, embed mode and their styles too (placeholders in
    site/index.html)."""
    own: dict[str, str] = {}
    # ready.js first: the modules that import it name its hashed file
    for name in ("ready.js", "app.css", "app.js", "extras.css", "offline.js", "embed-frame.js",
                 "evidence.js", "hardware.js", "hardware.css"):
        data = (SITE / name).read_bytes()
        if name.endswith(".js"):
            data = link_imports(name, data, own)
        own[name] = out.add(name, "assets/" + hashed_name(name, data), data)
    return own


_IMPORT_RE = re.compile(rb'(\bfrom\s+|\bimport\s*\(?\s*)"\./([\w.-]+\.js)"')


def link_imports(name: str, data: bytes, hashed: dict[str, str]) -> bytes:
    """A module's ``from "./x.js"`` imports pointed at x's hashed file (all live in assets/);
    a module imported before it is hashed stops the build."""
    def link(match: re.Match[bytes]) -> bytes:
        target = match.group(2).decode()
        if target not in hashed:
            sys.exit(f"build: site/{name} imports ./{target}, which is not hashed before it")
        return match.group(1) + b'"./' + hashed[target].removeprefix("assets/").encode() + b'"'

    return _IMPORT_RE.sub(link, data)


def add_worker(out: Output, pyo_dir: str, models_path: str, bundle_path: str) -> str:
    """Step: site/worker.js with its files filled in; returns its path. The worker lives in
    assets/: its paths are relative to it."""
    def from_assets(path: str) -> str:
        return "./" + path.removeprefix("assets/")

    worker_files = {"models.json": from_assets(models_path), "python": from_assets(bundle_path)}
    worker = (SITE / "worker.js").read_text(encoding="utf-8")
    worker = worker.replace("{{pyodide_dir}}", pyo_dir.removeprefix("assets/"))
    worker = worker.replace("{{files}}", json.dumps(worker_files, sort_keys=True))
    if "{{" in worker:
        sys.exit("build: site/worker.js has a placeholder build.py does not fill")
    return out.add("worker.js", "assets/" + hashed_name("worker.js", worker.encode()),
                   worker.encode())


def add_pages(out: Output, own: dict[str, str], worker_path: str, pyo_dir: str,
              configs: dict[str, Any]) -> None:
    """Step: index.html with the default model pre-rendered, and embed.html."""
    app_config = {"worker": "./" + worker_path, "defaultModel": DEFAULT_MODEL,
                  "bundled": sorted(configs), **page_fields()}
    template = (SITE / "index.html").read_text(encoding="utf-8")
    replacements = {
        "{{css}}": own["app.css"],
        "{{app_js}}": own["app.js"],
        "{{hardware_js}}": own["hardware.js"],
        "{{hardware_css}}": own["hardware.css"],
        "{{app_config}}": html.escape(json.dumps(app_config, sort_keys=True,
                                                 separators=(",", ":"))),
        "{{pyodide_dir}}": pyo_dir,
        # [offline/embed]
        "{{extras_css}}": own["extras.css"],
        "{{offline_js}}": own["offline.js"],
        "{{embed_frame_js}}": own["embed-frame.js"],
        "{{ready_js}}": own["ready.js"],
    }
    replacements["{{evidence_js}}"] = own["evidence.js"]
    for key, value in replacements.items():
        template = template.replace(key, value)
    page = prerender(template, configs).encode()
    out.add("index.html", "index.html", page)
    # [offline/embed] embed.html: the same pre-rendered page, marked for the compact embed
    # layout; a path of its own so that staticwebapp.config.json can let any site frame it
    # while index.html stays frame-ancestors 'self'.
    embed_page = page.replace(b'<html lang="en"', b'<html lang="en" data-embed', 1)
    if embed_page == page:
        sys.exit("build: site/index.html must start with <html lang=\"en\" (embed.html)")
    out.add("embed.html", "embed.html", embed_page)


def add_accuracy_page(out: Output) -> None:
    """Step: the Accuracy page, site/accuracy.html drawn by accuracy.js from the validation
    run's data (site/accuracy-data.json, written by tests/validation/evidence.py; a test
    fails when it is stale), embedded as a JSON block: static, no Python, works offline."""
    assets = {}
    for name in ("accuracy.css", "accuracy.js"):
        data = (SITE / name).read_bytes()
        assets[name] = out.add(name, "assets/" + hashed_name(name, data), data)
    accuracy = (SITE / "accuracy.html").read_text(encoding="utf-8")
    accuracy = accuracy.replace("{{accuracy_css}}", assets["accuracy.css"])
    accuracy = accuracy.replace("{{accuracy_js}}", assets["accuracy.js"])
    evidence = json.loads((SITE / "accuracy-data.json").read_text(encoding="utf-8"))
    accuracy = accuracy.replace("{{accuracy_data}}", json_for_script(evidence))
    out.add("accuracy.html", "accuracy.html", accuracy.encode())


def add_static_files(out: Output) -> None:
    """Step: files copied verbatim when present. [offline/embed] sw.js is added after the
    manifest (it embeds it); staticwebapp.config.json is read by the host, never fetched
    by the page."""
    for extra in ("manifest.webmanifest", "404.html"):
        path = SITE / extra
        if path.exists():
            out.add(extra, extra, path.read_bytes())
    out.add("embed.js", "embed.js", render_embed_js((SITE / "embed.js").read_text("utf-8")))
    if (SITE / "staticwebapp.config.json").exists():
        out.add("staticwebapp.config.json", "staticwebapp.config.json",
                (SITE / "staticwebapp.config.json").read_bytes(), manifest=False)
    icons = SITE / "icons"
    if icons.is_dir():
        for path in sorted(icons.rglob("*")):
            if path.is_file():
                rel = path.relative_to(SITE).as_posix()
                out.add(rel, rel, path.read_bytes())


def add_manifest(out: Output, version: str, dropped_stdlib: list[str]) -> dict[str, Any]:
    """Step: asset-manifest.json, then the service worker that carries this build's asset
    list and a version derived from it (every deploy ships a byte-different sw.js)."""
    manifest = {
        "version": 1,
        "default_model": DEFAULT_MODEL,
        "stdlib_removed": dropped_stdlib,
        "runtime": {"pyodide": version},
        "assets": dict(sorted(out.manifest.items())),
    }
    manifest_text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    out.files["asset-manifest.json"] = manifest_text.encode()
    if (SITE / "sw.js").exists():
        out.add("sw.js", "sw.js", render_sw((SITE / "sw.js").read_text(encoding="utf-8"),
                                            manifest["assets"]), manifest=False)
    return manifest


def build(dist: Path = DIST, *, quiet: bool = False) -> dict[str, Any]:
    """Run the steps in order (each takes what earlier ones returned) and write dist/."""
    out = Output()
    version = check_runtime()
    pyo_dir, dropped = add_pyodide(out, version)
    bundle_path = add_python_bundle(out)
    configs, models_path = add_models(out)
    own = add_own_assets(out)
    worker_path = add_worker(out, pyo_dir, models_path, bundle_path)
    add_pages(out, own, worker_path, pyo_dir, configs)
    add_accuracy_page(out)
    add_static_files(out)
    manifest = add_manifest(out, version, dropped)
    write_dist(dist, out.files)
    if not quiet:
        raw = sum(len(d) for d in out.files.values())
        print(f"build: {len(out.files)} files, {raw / 1e6:.2f} MB raw -> {dist}")
    return manifest


def write_dist(dist: Path, files: dict[str, bytes]) -> None:
    if dist.exists():
        shutil.rmtree(dist)
    try:
        import brotli  # type: ignore[import-not-found]
    except ImportError:
        brotli = None
    for rel, data in sorted(files.items()):
        path = dist / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if rel.endswith(COMPRESSIBLE) and len(data) > 1024:
            gz = gzip.compress(data, compresslevel=9, mtime=0)
            if len(gz) < len(data) * 0.95:
                path.with_name(path.name + ".gz").write_bytes(gz)
            if brotli is not None:
                br = brotli.compress(data, quality=11)
                if len(br) < len(data) * 0.95:
                    path.with_name(path.name + ".br").write_bytes(br)


# ---------------------------------------------------------------------------
# serving


MIME = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".py": "text/x-python",
    ".css": "text/css",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


class Handler(SimpleHTTPRequestHandler):
    """Static files with correct MIME types, precompressed gzip/brotli, cache headers."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **MIME}  # noqa: RUF012
    gzip_enabled = True

    def log_message(self, format: str, *args: Any) -> None:
        if os.environ.get("BUILD_SERVE_LOG"):
            super().log_message(format, *args)

    def send_head(self):  # type: ignore[no-untyped-def]
        path = self.translate_path(self.path)
        if os.path.isdir(path):
            path = os.path.join(path, "index.html")
            if not self.path.split("?", 1)[0].endswith("/"):
                return super().send_head()
        if not os.path.isfile(path):
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        accept = self.headers.get("Accept-Encoding", "")
        encoding, served = None, path
        if self.gzip_enabled:
            for enc, suffix in (("br", ".br"), ("gzip", ".gz")):
                if enc in accept and os.path.isfile(path + suffix):
                    encoding, served = enc, path + suffix
                    break
        ctype = self.guess_type(path)
        f = open(served, "rb")  # noqa: SIM115
        size = os.fstat(f.fileno()).st_size
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(size))
        if encoding:
            self.send_header("Content-Encoding", encoding)
            self.send_header("Vary", "Accept-Encoding")
        rel = os.path.relpath(path, self.directory)
        if rel.startswith("assets" + os.sep):
            self.send_header("Cache-Control", "public, max-age=31536000, immutable")
        else:
            self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        return f


def make_server(directory: Path, host: str = "127.0.0.1", port: int = 8000,
                gzip_enabled: bool = True) -> ThreadingHTTPServer:
    handler = type("DistHandler", (Handler,), {"gzip_enabled": gzip_enabled})

    def factory(*args: Any, **kwargs: Any) -> Handler:
        return handler(*args, directory=str(directory), **kwargs)

    server = ThreadingHTTPServer((host, port), factory)
    server.daemon_threads = True
    return server


def node_modules_problem(root: Path = ROOT) -> str | None:
    """Why node_modules/ does not match package-lock.json (None when it does): a package
    the lockfile pins is missing or at another version (optional ones may be absent)."""
    node = root / "node_modules"
    if not node.is_dir():
        return "node_modules/ is missing"
    lock = json.loads((root / "package-lock.json").read_text(encoding="utf-8"))
    for key, entry in sorted(lock.get("packages", {}).items()):
        if not key.startswith("node_modules/") or "version" not in entry:
            continue
        meta = root / key / "package.json"
        if not meta.exists():
            if entry.get("optional"):
                continue
            return f"{key} is missing"
        have = json.loads(meta.read_text(encoding="utf-8")).get("version")
        if have != entry["version"]:
            return f"{key} is {have}, package-lock.json pins {entry['version']}"
    return None


def ensure_node_modules(root: Path = ROOT) -> None:
    """Run `npm ci` when node_modules/ does not match the lockfile, and say why."""
    problem = node_modules_problem(root)
    if problem is None:
        return
    npm = shutil.which("npm")
    if npm is None:
        sys.exit(f"build: {problem} and npm is not installed: install Node.js (npm), then run "
                 "`npm ci`")
    print(f"build: {problem}; running `npm ci` (installs the pinned runtimes)", flush=True)
    result = subprocess.run([npm, "ci"], cwd=root, check=False)
    if result.returncode != 0:
        sys.exit(f"build: `npm ci` failed (exit {result.returncode})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", choices=("build", "serve"), default="build")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--out", type=Path, default=DIST, help="output folder (default dist/)")
    args = parser.parse_args(argv)
    ensure_node_modules()
    build(args.out)
    if args.command == "serve":
        server = make_server(args.out, args.host, args.port)
        where = f"http://{args.host}:{server.server_address[1]}/"
        print(f"serving {args.out} on {where} (Ctrl-C stops)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

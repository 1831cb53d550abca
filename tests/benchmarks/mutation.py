#!/usr/bin/env python3
"""Mutation score of the fast test suite, per estimator module (a benchmark: it prints
numbers and asserts nothing).

    python tests/benchmarks/mutation.py                       # every module, every mutant
    python tests/benchmarks/mutation.py --sample 60 --seed 1  # at most 60 mutants a module
    python tests/benchmarks/mutation.py kv_cache activations  # some modules
    python tests/benchmarks/mutation.py --list kv_cache       # the mutants, not run
    python tests/benchmarks/mutation.py --only kv_cache:12,40 # given mutants (rerun survivors)

A mutant is the module with one small change a real bug could make: an arithmetic operator
swapped (+ -, * /, // /), a comparison flipped or loosened (< <=, == !=, in / not in),
and/or swapped, a `not` dropped, an integer constant moved by one, a boolean flipped,
min/max swapped, or a statement removed (augmented assignment, call statement such as
`warnings.append`, raise). Docstrings, other strings, annotations and `__all__` are not
mutated. For each mutant the whole repository is copied once to a scratch folder, the
mutated module written there, and pytest runs (`-x`, first failure ends it) the module's
own fast tests first, then the rest of the fast suite (unit, golden, CLI and validation for
the core; Hub, CLI and unit for estimator/hub; never the browser suites, never the lint test).
A mutant is killed when pytest fails, or runs past the time limit; it survives when every
test passes.

The tool is this script rather than mutmut or cosmic-ray: both rewrite or import the
package in ways that the CLI tests (which start `python -m estimator` in a subprocess)
and this repository's `tests/` package layout defeat, and a run here must fit 2 shared
cores. See tests/benchmarks/MUTATION.md for the last scores and the surviving mutants.
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "estimator"

#: Module -> its own tests, run first (a mutant is usually killed there in a second).
UNIT = ["tests/unit/test_options_effect.py", "tests/unit/test_engine_rules.py",
        "tests/unit/test_weights_and_plan.py", "tests/unit/test_gguf_rules.py",
        "tests/unit/test_components.py",
        "tests/unit/test_planning.py", "tests/unit/test_spec_rules.py", "tests/unit/test_golden.py"]
MODULES: dict[str, list[str]] = {
    "spec": ["tests/unit/test_golden.py", *UNIT],
    "params": ["tests/unit/test_golden.py", *UNIT],
    "kv_cache": UNIT,
    "activations": UNIT,
    "weights": UNIT,
    "gguf": UNIT,
    "engines": UNIT,
    "estimate": UNIT,
    "planning": ["tests/unit/test_planning.py", *UNIT],
    "hub": ["tests/hub", "tests/cli/test_cli_hub.py"],
}
#: The rest of the fast suite, faced by a mutant its module's tests did not kill: the core's
#: values are checked by unit, golden, CLI and validation tests; the Hub client by its own.
FAST = ["tests/unit", "tests/golden", "tests/cli", "tests/validation"]
FAST_HUB = ["tests/hub", "tests/cli", "tests/unit"]
IGNORED = ["tests/unit/test_lint.py"]  # ruff/mypy judge style, not values

SWAP_BINOP: dict[type, type] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Mod: ast.FloorDiv,
    ast.Pow: ast.Mult,
}
SWAP_CMP: dict[type, type] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}


@dataclass(frozen=True)
class Mutant:
    module: str  # key of MODULES
    path: Path  # file inside estimator/
    index: int  # n-th mutation point of that file
    line: int
    description: str

    @property
    def key(self) -> str:
        return f"{self.path.relative_to(PACKAGE)}:{self.index}"


def _files(module: str) -> list[Path]:
    if module == "hub":
        return sorted((PACKAGE / "hub").glob("*.py"))
    return [PACKAGE / f"{module}.py"]


def _skipped_nodes(tree: ast.AST) -> set[int]:
    """ids of nodes not to mutate: docstrings, annotations, __all__."""
    skip: set[int] = set()

    def mark(node: ast.AST | None) -> None:
        if node is not None:
            for sub in ast.walk(node):
                skip.add(id(sub))

    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            mark(first)
        if isinstance(node, ast.AnnAssign):
            mark(node.annotation)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            mark(node.returns)
            for arg in [*node.args.args, *node.args.kwonlyargs, *node.args.posonlyargs]:
                mark(arg.annotation)
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            mark(node)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            mark(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for decorator in node.decorator_list:  # @dataclass(frozen=True): no behaviour
                mark(decorator)
    return skip


def _points(tree: ast.AST) -> Iterator[tuple[ast.AST, str, str]]:
    """(node, kind, description) for every mutation this tree allows, in a stable order."""
    skip = _skipped_nodes(tree)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in SWAP_BINOP:
            new = SWAP_BINOP[type(node.op)].__name__
            yield node, "binop", f"{type(node.op).__name__} -> {new}"
        elif isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                if type(op) in SWAP_CMP:
                    yield node, f"cmp{i}", f"{type(op).__name__} -> {SWAP_CMP[type(op)].__name__}"
        elif isinstance(node, ast.BoolOp):
            other = "Or" if isinstance(node.op, ast.And) else "And"
            yield node, "boolop", f"{type(node.op).__name__} -> {other}"
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            yield node, "not", "drop not"
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            yield node, "neg", "drop unary minus"
        elif isinstance(node, ast.Constant) and type(node.value) is bool:
            yield node, "bool", f"{node.value} -> {not node.value}"
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            yield node, "int", f"{node.value} -> {node.value + 1}"
        elif isinstance(node, ast.Constant) and type(node.value) is float:
            yield node, "float", f"{node.value} -> {_moved(node.value)}"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("min", "max")
        ):
            other = "max" if node.func.id == "min" else "min"
            yield node, "minmax", f"{node.func.id} -> {other}"
        elif isinstance(node, (ast.AugAssign, ast.Raise)) or (
            isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
        ):
            yield node, "remove", f"remove {type(node).__name__} statement"


def _moved(value: float) -> float:
    """A float constant moved: half again as large (0.0 becomes 1.0)."""
    return value * 1.5 if value else 1.0


def _apply(node: ast.AST, kind: str) -> ast.AST | None:
    """Mutate ``node`` in place; return a replacement statement for removals."""
    if kind == "binop":
        node.op = SWAP_BINOP[type(node.op)]()  # type: ignore[attr-defined]
    elif kind.startswith("cmp"):
        i = int(kind[3:])
        ops = node.ops  # type: ignore[attr-defined]
        ops[i] = SWAP_CMP[type(ops[i])]()
    elif kind == "boolop":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()  # type: ignore[attr-defined]
    elif kind in ("not", "neg"):
        return node.operand  # type: ignore[attr-defined,no-any-return]
    elif kind == "bool":
        node.value = not node.value  # type: ignore[attr-defined]
    elif kind == "int":
        node.value = node.value + 1  # type: ignore[attr-defined]
    elif kind == "float":
        node.value = _moved(node.value)  # type: ignore[attr-defined]
    elif kind == "minmax":
        func = node.func  # type: ignore[attr-defined]
        func.id = "max" if func.id == "min" else "min"
    elif kind == "remove":
        return ast.Pass()
    return None


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST, replacement: ast.AST) -> None:
        self.target, self.replacement = target, replacement

    def generic_visit(self, node: ast.AST) -> ast.AST:
        if node is self.target:
            return self.replacement
        return super().generic_visit(node)


def mutants(module: str) -> list[Mutant]:
    found = []
    for path in _files(module):
        tree = ast.parse(path.read_text())
        for index, (node, _, text) in enumerate(_points(tree)):
            found.append(Mutant(module, path, index, getattr(node, "lineno", 0), text))
    return found


def mutated_source(mutant: Mutant) -> str:
    tree = ast.parse(mutant.path.read_text())
    node, kind, _ = list(_points(tree))[mutant.index]
    replacement = _apply(node, kind)
    if replacement is not None:
        tree = _Replace(node, replacement).visit(tree)
    ast.fix_missing_locations(tree)
    return ast.unparse(tree)


def _scratch() -> Path:
    """A copy of the tracked files (and untracked, not ignored ones) to mutate freely."""
    work = Path(tempfile.mkdtemp(prefix="mutation-"))
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split("\n")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return work


PYTEST_ARGS = [
    "-x", "-q", "-p", "no:cacheprovider", "-p", "no:playwright", "-p", "no:base_url",
    "-p", "no:benchmark", "-W", "ignore::pytest.PytestUnraisableExceptionWarning",
    "-W", "ignore::pytest.PytestAssertRewriteWarning",
    *[f"--ignore={t}" for t in IGNORED],
    "--deselect", "tests/cli/test_readme_examples.py::test_readme_example_output_is_current",
]


def _stages(work: Path, mutant: Mutant) -> list[list[str]]:
    """The module's own tests (quick to collect), then the rest of the fast suite."""
    first = list(dict.fromkeys(t for t in MODULES[mutant.module] if (work / t).exists()))
    rest = FAST_HUB if mutant.module == "hub" else FAST
    return [first, [*[f"--ignore={t}" for t in first if t.endswith(".py")], *rest]]


def _failed_test(output: str) -> str:
    return next((line.split(" ")[1] for line in output.splitlines()
                 if line.startswith(("FAILED", "ERROR"))), "")


def run_mutant(work: Path, mutant: Mutant, timeout: float) -> tuple[str, float, str]:
    """('killed' | 'survived' | 'timeout', seconds, the failing test), pytest in a subprocess."""
    target = work / mutant.path.relative_to(ROOT)
    original = target.read_text()
    target.write_text(mutated_source(mutant))
    env = dict(os.environ, PYTHONPATH=str(work), PYTHONDONTWRITEBYTECODE="1")
    start = time.monotonic()
    try:
        for stage in _stages(work, mutant):
            left = timeout - (time.monotonic() - start)
            try:
                done = subprocess.run([sys.executable, "-m", "pytest", *PYTEST_ARGS, *stage],
                                      cwd=work, env=env, capture_output=True, text=True,
                                      timeout=max(left, 1))
            except subprocess.TimeoutExpired:
                return "timeout", time.monotonic() - start, ""
            if done.returncode != 0:
                return "killed", time.monotonic() - start, _failed_test(done.stdout)
    finally:
        target.write_text(original)
    return "survived", time.monotonic() - start, ""


def _prepare_fork_parent(work: Path) -> None:
    """Import pytest, hypothesis and the scratch copy's estimator once; every mutant then runs
    in a forked child that patches one module (no interpreter start, no plugin imports)."""
    os.chdir(work)
    sys.path[:] = [str(work)] + [p for p in sys.path
                                 if Path(p or ".").resolve() not in (ROOT, ROOT / "tests")]
    os.environ["PYTHONPATH"] = str(work)  # subprocesses (the CLI tests) see the mutated file
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    import importlib
    import pkgutil

    import pytest  # noqa: F401

    import estimator

    assert Path(estimator.__file__).resolve().is_relative_to(work), estimator.__file__
    for info in pkgutil.walk_packages(estimator.__path__, "estimator."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)


def _patch(module_name: str, source: str) -> None:
    """Run the mutated source in the module's own namespace, then point every estimator module
    that imported one of its names (``from .kv_cache import estimate_kv``) at the new object."""
    module = sys.modules[module_name]
    before = dict(vars(module))
    exec(compile(source, str(module.__file__), "exec"), vars(module))
    changed = {id(old): vars(module)[name] for name, old in before.items()
               if not name.startswith("__") and vars(module).get(name) is not old}
    for name, other in list(sys.modules.items()):
        if other is None or other is module or name.split(".")[0] != "estimator":
            continue
        for attr, value in list(vars(other).items()):
            if id(value) in changed:
                setattr(other, attr, changed[id(value)])


def run_mutant_forked(
    work: Path, mutant: Mutant, timeout: float, source: str | None = None
) -> tuple[str, float, str]:
    """As run_mutant, with pytest in a forked child of an interpreter that imported it
    (``source``: run this text instead of the mutant, e.g. the unmutated module)."""
    import pytest

    target = work / mutant.path.relative_to(ROOT)
    original = target.read_text()
    source = mutated_source(mutant) if source is None else source
    target.write_text(source)
    parts = mutant.path.relative_to(ROOT).with_suffix("").parts
    module_name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    start = time.monotonic()
    try:
        for stage in _stages(work, mutant):
            log = work / ".mutant-output"
            pid = os.fork()
            if pid == 0:  # child
                code = 98
                try:
                    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                    os.dup2(fd, 1)
                    os.dup2(fd, 2)
                    _patch(module_name, source)
                    code = int(pytest.main([*PYTEST_ARGS, *stage]))
                except BaseException:  # a mutant that breaks the import is killed
                    code = 97
                finally:
                    os._exit(code)
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                if time.monotonic() - start > timeout:
                    os.kill(pid, 9)
                    os.waitpid(pid, 0)
                    return "timeout", time.monotonic() - start, ""
                time.sleep(0.05)
            if os.waitstatus_to_exitcode(status) != 0:
                output = log.read_text(errors="replace") if log.exists() else ""
                return "killed", time.monotonic() - start, _failed_test(output)
    finally:
        target.write_text(original)
    return "survived", time.monotonic() - start, ""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("modules", nargs="*", default=list(MODULES))
    parser.add_argument("--sample", type=int, default=0, help="at most N mutants a module")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per mutant")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument("--subprocess", action="store_true",
                        help="a fresh interpreter per pytest run instead of a forked child")
    parser.add_argument("--only", action="append", default=[],
                        help="MODULE:I,J,... run only these mutant indexes of a module")
    args = parser.parse_args(argv)
    only = {m: {int(i) for i in ids.split(",")} for m, ids in
            (item.split(":", 1) for item in args.only)}
    modules = list(only) or args.modules
    chosen: dict[str, list[Mutant]] = {}
    for module in modules:
        everything = mutants(module)
        picked = everything
        if module in only:
            picked = [m for i, m in enumerate(everything) if i in only[module]]
        elif args.sample and len(everything) > args.sample:
            picked = sorted(random.Random(f"{args.seed}:{module}").sample(everything, args.sample),
                            key=lambda m: (str(m.path), m.index))
        chosen[module] = picked
        print(f"{module}: {len(everything)} mutants, running {len(picked)}", flush=True)
    if args.list:
        for module, items in chosen.items():
            for i, m in enumerate(mutants(module)):
                if m in items:
                    print(f"{module}:{i} {m.key} line {m.line}: {m.description}")
        return 0
    work = _scratch()
    runner = run_mutant
    if not args.subprocess:
        _prepare_fork_parent(work)
        runner = run_mutant_forked
    scores = []
    try:
        for module, items in chosen.items():
            everything = mutants(module)
            if not args.subprocess and everything:
                # The unmutated module, patched the same way, must pass: no false kills.
                clean = everything[0]
                status, seconds, test = run_mutant_forked(
                    work, clean, args.timeout, clean.path.read_text())
                print(f"  {module}: unmutated {status} in {seconds:.1f}s {test}", flush=True)
                if status != "survived":
                    print(f"{module}: the suite fails without a mutant; not scored", flush=True)
                    continue
            killed = 0
            start = time.monotonic()
            for m in items:
                status, seconds, test = runner(work, m, args.timeout)
                killed += status != "survived"
                print(f"  {module}:{everything.index(m)} {m.key} line {m.line} "
                      f"{m.description}: {status} in {seconds:.1f}s {test}", flush=True)
            elapsed = time.monotonic() - start
            score = 100.0 * killed / len(items) if items else 100.0
            scores.append((module, len(everything), len(items), killed, score, elapsed))
            print(f"{module}: {killed}/{len(items)} killed ({score:.1f}%) in {elapsed:.0f}s",
                  flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n| module | mutants | run | killed | score |\n| --- | ---: | ---: | ---: | ---: |")
    for module, total, ran, killed, score, _ in scores:
        print(f"| {module} | {total} | {ran} | {killed} | {score:.1f}% |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

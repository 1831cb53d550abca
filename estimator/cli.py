"""``llm-mem``: the command line of the estimator.

``llm-mem MODEL_ID [options]`` reads the model from the Hugging Face Hub;
``llm-mem --config PATH`` reads a local config.json (or a folder holding one).
With no arguments on a terminal it asks its questions one at a time.

Exit codes: 0 ok, 2 bad usage, 3 Hub or network error, 4 the model cannot be
estimated. Errors are one line on stderr; ``--debug`` adds the traceback.
The Hub client is imported only when a model id is given, so ``--config``
starts fast (see tests/benchmarks/bench_cli.py).
"""

from __future__ import annotations

import argparse
import json
import os.path
import sys
from collections.abc import Callable, Sequence
from typing import IO, Any, NoReturn, TypeVar

from . import (
    PRECISIONS,
    EstimateOptions,
    EstimatorError,
    HubError,
    OptionError,
    WeightMetadata,
)
from .document import Loaded, build_document
from .engines import ENGINE_PROFILES
from .jsonsafe import MAX_JSON_BYTES, load_config_text
from .report import catalog_lines, render
from .schema import OPTIONS, SAME, Option
from .units import parse_bandwidth, parse_size

__all__ = ["EXIT_ESTIMATE", "EXIT_HUB", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]

PROG = "llm-mem"
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_HUB = 3
EXIT_ESTIMATE = 4
EXIT_INTERRUPTED = 130

T = TypeVar("T")


class UsageError(Exception):
    """Bad command-line usage (exit 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 2 through ``main``."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {PROG} --help)")


# -- arguments ---------------------------------------------------------------------------


def _tokens(text: str) -> int:
    """A token count: ``4096``, ``32k`` (x1024), ``1m`` (x1024^2), ``8_192``."""
    value = text.strip().lower().replace("_", "").replace(",", "")
    scale = 1
    if value.endswith("k"):
        scale, value = 1024, value[:-1]
    elif value.endswith("m"):
        scale, value = 1024 * 1024, value[:-1]
    try:
        number = int(value) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of tokens: {text!r}") from None
    return _at_least_one(number, text)


def _count(text: str) -> int:
    try:
        number = int(text.strip().replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    return _at_least_one(number, text)


def _layers(text: str) -> int:
    try:
        number = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return number


def _at_least_one(number: int, text: str) -> int:
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return number


def _size(text: str) -> int:
    """A memory size (units.parse_size) for argparse."""
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _bandwidth(text: str) -> float:
    """GB/s (units.parse_bandwidth) for argparse."""
    try:
        return parse_bandwidth(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _fraction(text: str) -> float:
    try:
        number = float(text.strip().rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    return number / 100 if text.strip().endswith("%") else number


def _precision(text: str) -> str:
    """Canonical precision key, case-insensitive (``q4_k_m`` -> ``Q4_K_M``)."""
    key = canonical_precision(text)
    if key is None:
        raise argparse.ArgumentTypeError(
            f"unknown precision {text!r}; choose auto or one of {', '.join(PRECISIONS)}"
        )
    return key


def canonical_precision(text: str) -> str | None:
    """The PRECISIONS key matching ``text`` (or ``auto``), else None."""
    wanted = text.strip()
    if wanted.lower() == "auto":
        return "auto"
    for key in PRECISIONS:
        if key.lower() == wanted.lower():
            return key
    try:  # the core's aliases (bfloat16, nf4...), if it has them
        from .precision import resolve_precision

        found = resolve_precision(wanted)
    except (ImportError, EstimatorError):
        return None
    return None if found is None else str(found.key)


#: How each estimator.schema ``cli_type`` reads a flag's text.
_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "count": _count, "tokens": _tokens, "layers": _layers, "size": _size,
    "bandwidth": _bandwidth, "fraction": _fraction, "precision": _precision,
}


def build_parser() -> argparse.ArgumentParser:
    """The ``llm-mem`` argument parser (flag names follow the team convention)."""
    p = _Parser(
        prog=PROG,
        description="Estimate the GPU memory an LLM needs for inference, from its Hugging Face "
        "config.json: weights, KV cache, activations and overhead.",
        epilog="Token counts accept k/m suffixes (32k = 32768). Exit codes: 0 ok, 2 bad usage, "
        "3 Hub or network error, 4 model cannot be estimated. Environment: HF_TOKEN, "
        "HF_ENDPOINT, HF_HUB_OFFLINE, HF_HOME, LLM_MEM_CACHE.",
    )
    p.add_argument("model", nargs="?", help="Hub model id or URL (org/name), or a local path")
    src = p.add_argument_group("model source")
    src.add_argument("--config", metavar="PATH", help="local config.json, or a folder holding one")
    src.add_argument("--revision", help="branch, tag or commit on the Hub (default main)")
    src.add_argument("--endpoint", help="Hub URL (default $HF_ENDPOINT or https://huggingface.co)")
    src.add_argument(
        "--gguf-file",
        metavar="NAME|QUANT",
        help="GGUF file of the repo (or folder) to size exactly, e.g. Q4_K_M",
    )
    groups = {name: p.add_argument_group(name) for name in ("model and workload", "hardware")}
    for option in OPTIONS:
        if option.flags:
            _add_option(groups[option.group], option)
    mode = p.add_argument_group("what to compute").add_mutually_exclusive_group()
    mode.add_argument("--compare-precisions", action="store_true", help="one line per precision")
    mode.add_argument("--max-batch", action="store_true", help="largest batch that fits --gpu")
    mode.add_argument("--max-context", action="store_true", help="longest context that fits --gpu")
    mode.add_argument("--sweep", choices=("context", "batch"), help="total memory along an axis")
    p.add_argument("--points", type=_count, default=12, help=argparse.SUPPRESS)
    out = p.add_argument_group("output")
    out.add_argument(
        "--format",
        choices=("table", "markdown", "json"),
        default=None,
        help="output format (default table)",
    )
    out.add_argument("--json", action="store_true", help="same as --format json")
    out.add_argument(
        "--command",
        action="store_true",
        help="print only the command that launches this setup on --engine",
    )
    out.add_argument(
        "--explain",
        action="store_true",
        help="table/markdown: each figure's formula with this model's numbers",
    )
    out.add_argument(
        "--interactive",
        action="store_true",
        help="ask for the inputs even when stdin is not a terminal",
    )
    out.add_argument("--debug", action="store_true", help="tracebacks and Hub request logs")
    p.add_argument(
        "--list-gpus",
        action="store_true",
        help="print the device catalog (key, name, usable memory, bandwidth, FP16) and exit",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    return p


def _version() -> str:
    from . import __version__

    return str(__version__)


def _add_option(group: argparse._ArgumentGroup, option: Option) -> None:
    """One estimate option's flag(s), as estimator.schema declares them."""
    kwargs: dict[str, Any] = {"help": option.help}
    if option.dest is not None or len(option.flags) > 1:
        kwargs["dest"] = option.cli_dest
    if option.kind == "bool":
        kwargs["action"] = argparse.BooleanOptionalAction
    elif option.choices:
        kwargs["choices"] = option.choices
    elif option.cli_type != "text":
        kwargs["type"] = _CONVERTERS[option.cli_type]
    if option.metavar:
        kwargs["metavar"] = option.metavar
    default = option.default if option.cli_default is SAME else option.cli_default
    if default is not None or option.kind == "bool":
        kwargs["default"] = default
    group.add_argument(*option.flags, **kwargs)


def options_from_args(args: argparse.Namespace) -> EstimateOptions:
    """The EstimateOptions the flags describe (raises OptionError when out of range)."""
    values: dict[str, Any] = {}
    for option in OPTIONS:
        if not option.flags:
            continue
        value = getattr(args, option.cli_dest)
        if value is None and option.app_default is not SAME:
            value = option.app_default
        values[option.name] = value
    return EstimateOptions(**values)


# -- loading the model -------------------------------------------------------------------


def load_local(path_text: str, gguf_file: str | None = None) -> Loaded:
    """Read ``config.json`` (file or folder); a folder's index file gives weight bytes."""
    path = os.path.expanduser(path_text)
    is_dir = os.path.isdir(path)
    folder = path if is_dir else os.path.dirname(path) or "."
    config_path = os.path.join(path, "config.json") if is_dir else path
    if not os.path.isfile(config_path):
        raise UsageError(f"no config.json at {config_path}")
    try:
        text = _read_bytes(config_path)
    except OSError as err:
        raise UsageError(f"cannot read {config_path}: {err.strerror or err}") from None
    # Depth, digit, NaN and size limits: a hostile file is a ConfigError (exit 4), never
    # a RecursionError or a number that overflows later.
    config = load_config_text(text, config_path)
    metadata = None
    notes: list[str] = []
    if is_dir or gguf_file:
        metadata, notes = _local_weights(folder, gguf_file)
    return Loaded(config, metadata, None, None, "file", config_path, notes=notes)


def _read_bytes(path: str) -> bytes:
    """A file's bytes, refusing more than the JSON loader would read anyway."""
    with open(path, "rb") as handle:
        data = handle.read(MAX_JSON_BYTES + 1)
    return data


def _local_weights(folder: str, gguf_file: str | None) -> tuple[WeightMetadata | None, list[str]]:
    index_total = None
    source = ""
    for name in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        index = os.path.join(folder, name)
        if os.path.isfile(index):
            from .hub.parse import index_total_size

            try:
                total = index_total_size(load_config_text(_read_bytes(index), index))
            except (OSError, EstimatorError):
                continue
            if total is not None:
                index_total, source = total, name
                break
    gguf_bytes = gguf_quant = None
    notes: list[str] = []
    if gguf_file:
        from .hub.info import Sibling
        from .hub.parse import parse_gguf_files, select_gguf

        names = sorted(n for n in os.listdir(folder) if n.lower().endswith(".gguf"))
        siblings = [Sibling(n, os.path.getsize(os.path.join(folder, n))) for n in names]
        if not siblings:
            raise UsageError(f"--gguf-file: no .gguf files in {folder}")
        chosen = select_gguf(parse_gguf_files(siblings), gguf_file)
        gguf_bytes, gguf_quant = chosen.size, chosen.quant
        source = "+".join(s for s in (source, "gguf-file") if s)
        notes.append(f"weights sized from {chosen.filename}")
    if index_total is None and gguf_bytes is None:
        return None, notes
    return (
        WeightMetadata(
            safetensors_total_bytes=index_total,
            gguf_file_bytes=gguf_bytes,
            gguf_quant=gguf_quant,
            source=source,
        ),
        notes,
    )


def load_hub(model: str, args: argparse.Namespace) -> Loaded:
    """Fetch ``model`` from the Hub (the hub package is imported only here)."""
    from .hub import HubClient

    client = HubClient.from_env(endpoint=args.endpoint)
    info = client.fetch_model(model, args.revision, args.gguf_file)
    return Loaded(
        dict(info.config),
        info.weights,
        info.repo_id,
        info.revision,
        "hub",
        hub=info,
        notes=list(info.notes),
    )


def load_model(args: argparse.Namespace) -> Loaded:
    """The config named by ``--config`` or by the model argument."""
    if args.config and args.model:
        raise UsageError("give either a model id or --config, not both")
    if args.config:
        return load_local(args.config, args.gguf_file)
    model = str(args.model)
    if os.path.exists(os.path.expanduser(model)):  # `llm-mem ./my-model` works like --config
        return load_local(model, args.gguf_file)
    return load_hub(model, args)


# -- interactive -------------------------------------------------------------------------


class _Prompter:
    """Asks one question at a time on stderr, re-asking until the answer is valid."""

    def __init__(self, stdin: IO[str], stderr: IO[str]) -> None:
        self.stdin, self.stderr = stdin, stderr

    def ask(self, question: str, default: str, convert: Callable[[str], T]) -> T:
        while True:
            self.stderr.write(f"{question} [{default}]: ")
            self.stderr.flush()
            line = self.stdin.readline()
            if not line:
                raise EOFError
            answer = line.strip() or default
            try:
                return convert(answer)
            except (ValueError, argparse.ArgumentTypeError, EstimatorError) as err:
                self.stderr.write(f"  {err}; try again\n")


def _yes_no(text: str) -> bool:
    value = text.strip().lower()
    if value in ("y", "yes", "true", "1", "on"):
        return True
    if value in ("n", "no", "false", "0", "off"):
        return False
    raise ValueError(f"answer y or n, not {text!r}")


def _model_answer(text: str) -> str:
    if os.path.exists(os.path.expanduser(text)):
        return text
    from .hub.urls import parse_model_ref

    parse_model_ref(text)
    return text


def _optional(convert: Callable[[str], T], blank: str) -> Callable[[str], T | None]:
    def inner(text: str) -> T | None:
        return None if text.strip().lower() == blank else convert(text)

    return inner


def interactive(args: argparse.Namespace, stdin: IO[str], stderr: IO[str]) -> None:
    """Fill ``args`` from the seed's questions: model, precision, FlashAttention, layers,
    sequence length, batch size. Blank answers take the bracketed default."""
    ask = _Prompter(stdin, stderr).ask
    stderr.write("LLM memory estimator: press Enter to accept a [default].\n")
    args.model = ask(
        "Model (Hub id, URL or config path)", "Qwen/Qwen2.5-7B-Instruct", _model_answer
    )
    args.precision = ask(
        f"Precision (auto, {', '.join(list(PRECISIONS)[:4])}, ...)", "auto", _precision
    )
    args.flash_attention = ask("FlashAttention (y/n)", "y", _yes_no)
    args.layers = ask("Layers to run", "all", _optional(_count, "all"))
    args.context = ask(
        "Sequence length (tokens)",
        "model max, up to 4096",
        _optional(_tokens, "model max, up to 4096"),
    )
    args.batch = ask("Batch size", "1", _count)


# -- main --------------------------------------------------------------------------------


def _is_tty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``llm-mem``; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        return _main(argv)
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        return EXIT_INTERRUPTED
    except Exception as err:  # one line, the code says which kind
        if debug:
            import traceback

            traceback.print_exc()
        code = _exit_code(err)
        prefix = "error" if code != 1 else "internal error"
        hint = "" if debug or code != 1 else " (rerun with --debug for details)"
        sys.stderr.write(f"{PROG}: {prefix}: {_one_line(err)}{hint}\n")
        return code


def _list_gpus(fmt: str, out: IO[str]) -> None:
    """The device catalog: what ``--gpu`` accepts."""
    if fmt == "json":
        from .devices import catalog_document

        out.write(json.dumps(catalog_document(), indent=2) + "\n")
        return
    out.write("\n".join(catalog_lines()) + "\n")


def _mode(args: argparse.Namespace) -> str:
    """What the flags ask to compute (a document.MODES entry)."""
    if args.compare_precisions:
        return "compare-precisions"
    if args.sweep:
        return f"sweep-{args.sweep}"
    if args.max_batch or args.max_context:
        return "max-batch" if args.max_batch else "max-context"
    return "estimate"


def _exit_code(err: BaseException) -> int:
    if isinstance(err, (UsageError, OptionError)):
        return EXIT_USAGE
    if isinstance(err, HubError):
        return EXIT_HUB
    if isinstance(err, EstimatorError):
        return EXIT_ESTIMATE
    return 1


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text


def _no_command(engine: str) -> str:
    """Why --command has nothing to print for ``engine``, naming the engines that have one
    (the profiles whose launch has a command form, estimator.engines.LaunchFlags)."""
    keys = [k for k, p in ENGINE_PROFILES.items() if p.launch.command != "none"]
    names = ", ".join(keys[:-1]) + f" or {keys[-1]}" if len(keys) > 1 else "".join(keys)
    label = ENGINE_PROFILES[engine].label
    return f"--command needs an engine with a launch command ({label} has none): --engine {names}"


def _main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.debug:
        import logging

        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(name)s: %(message)s")
    fmt = "json" if args.json else (args.format or "table")
    if args.json and args.format not in (None, "json"):
        raise UsageError(f"--json and --format {args.format} disagree")
    if args.list_gpus:
        _list_gpus(fmt, sys.stdout)
        return EXIT_OK
    if not args.model and not args.config:
        if args.interactive or (_is_tty(sys.stdin) and _is_tty(sys.stderr)):
            try:
                interactive(args, sys.stdin, sys.stderr)
            except EOFError:
                sys.stderr.write("\n")
                raise UsageError("no answer given") from None
        else:
            parser.print_usage(sys.stderr)
            sys.stderr.write(
                f"{PROG}: error: give a model id or --config PATH (see {PROG} --help)\n"
            )
            return EXIT_USAGE
    options = options_from_args(args)  # reject bad options before any network access
    if args.command:
        if ENGINE_PROFILES[options.engine].launch.command == "none":
            raise UsageError(_no_command(options.engine))
        if args.compare_precisions or args.sweep or args.max_batch or args.max_context:
            raise UsageError("--command prints the command of one estimate; drop the mode flag")
    loaded = load_model(args)
    mode = _mode(args)
    if mode in ("max-batch", "max-context") and not options.gpu:
        raise UsageError(f"--{mode} needs --gpu")
    doc = build_document(loaded, options, mode, points=args.points,
                         engine_default=args.engine is None)
    if args.command:
        sys.stdout.write(doc["launch"]["command"] + "\n")
        return EXIT_OK
    if fmt == "json":
        sys.stdout.write(json.dumps(doc, indent=2, sort_keys=False) + "\n")
    else:
        sys.stdout.write(render(doc, fmt, explain=args.explain) + "\n")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

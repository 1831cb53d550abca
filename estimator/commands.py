"""The command that launches the estimated setup, per engine, from the same options.

Each engine's profile says which form its command takes (``LaunchFlags.command``) and how
it spells each setting (estimator.engines, with the source of every flag): vLLM ``vllm
serve`` (vllm/engine/arg_utils.py), SGLang ``python -m sglang.launch_server``
(sglang/srt/server_args.py), llama.cpp ``llama-server`` (common/arg.cpp), TGI's launcher
(launcher/src/main.rs) in its Docker image, and transformers' ``from_pretrained``. Only
settings that differ from the engine's default are written, so the command reads like one a
person would type. A Hub revision other than main is passed the way the engine takes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .engines import ENGINE_PROFILES, CommandForm, LaunchFlags
from .options import EstimateOptions

__all__ = ["launch_command"]

# vLLM --dtype when the weights are served at a float width other than the checkpoint's.
_DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


#: What shlex.quote leaves unquoted: ASCII word characters and @%+=:,./-
_SHELL_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-")


def _q(text: str) -> str:
    """``text`` quoted for a POSIX shell: shlex.quote's result, written out because importing
    shlex compiles a regex (~9 ms of the page worker's first estimate, which shows a command);
    tests/unit/test_launch.py checks it equals shlex.quote."""
    if not text:
        return "''"
    if all(ch in _SHELL_SAFE for ch in text):
        return text
    return "'" + text.replace("'", "'\"'\"'") + "'"


@dataclass(frozen=True)
class _Request:
    """What one command is written from."""

    flags: LaunchFlags
    model_id: str
    options: EstimateOptions
    context: int
    precision: str
    kv_dtype: str
    checkpoint_dtype: str | None
    allow_long_context: bool
    gguf_file: str | None
    revision: str | None  # None when it is main


def launch_command(
    engine: str,
    model_id: str,
    options: EstimateOptions,
    *,
    context: int,
    precision: str,
    kv_dtype: str,
    checkpoint_dtype: str | None = None,
    allow_long_context: bool = False,
    gguf_file: str | None = None,
    revision: str | None = None,
) -> str | None:
    """The launch command for ``engine`` (None for an engine without one, such as generic).

    ``revision`` is the Hub branch, tag or commit the model was read at (main is left out)."""
    profile = ENGINE_PROFILES.get(engine)
    build = _FORMS.get(profile.launch.command) if profile is not None else None
    if profile is None or build is None:
        return None
    request = _Request(
        profile.launch,
        model_id,
        options,
        context,
        precision,
        kv_dtype,
        checkpoint_dtype,
        allow_long_context,
        gguf_file,
        revision if revision not in (None, "", "main") else None,
    )
    return build(request)


def _float_dtype(precision: str, checkpoint_dtype: str | None) -> str | None:
    wanted = _DTYPES.get(precision)
    own = (checkpoint_dtype or "").lower()
    own = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}.get(own, own)
    # vLLM's dtype="auto" serves fp32 checkpoints in fp16/bf16: state fp32 when asked for.
    if wanted is None or precision == own or (own == "fp32" and precision == "fp16"):
        return None
    return wanted


def _model(r: _Request) -> list[str]:
    """The model, as a flag or positional, and its revision when it is not main."""
    f = r.flags
    parts = [f.model_flag, _q(r.model_id)] if f.model_flag else [_q(r.model_id)]
    if r.revision and f.revision:
        parts += [f.revision, _q(r.revision)]
    return parts


def _eager(r: _Request) -> list[str]:
    """The engine's flag that skips CUDA graphs, when the options ask for eager mode."""
    flag = r.flags.enforce_eager
    return flag.split() if r.options.enforce_eager and flag else []


def _server(r: _Request) -> str:
    """An OpenAI-style server with long flags (vLLM, SGLang)."""
    f, o = r.flags, r.options
    parts = [*f.program, *_model(r), f.context, str(r.context)]
    if o.tp > 1 and f.tensor_parallel:
        parts += [f.tensor_parallel, str(o.tp)]
    if o.pipeline_parallel > 1 and f.pipeline_parallel:
        parts += [f.pipeline_parallel, str(o.pipeline_parallel)]
    default = f.memory_fraction_default
    if f.memory_fraction and (default is None or abs(o.gpu_memory_utilization - default) > 1e-9):
        parts += [f.memory_fraction, f"{o.gpu_memory_utilization:g}"]
    if f.serve_dtype:
        dtype = _float_dtype(r.precision, r.checkpoint_dtype)
        if dtype:
            parts += ["--dtype", dtype]
        if r.precision == "fp8" and (r.checkpoint_dtype or "").lower() in (
            "bfloat16",
            "float16",
            "fp16",
            "bf16",
            "",
        ):
            parts += ["--quantization", "fp8"]  # FP8 weights made at load from a 16-bit checkpoint
    if r.kv_dtype == "fp8" and f.kv_fp8:
        parts += [f.kv_cache_dtype, f.kv_fp8]
    if o.max_num_seqs and f.max_seqs:
        parts += [f.max_seqs, str(o.max_num_seqs)]
    if o.max_num_batched_tokens and f.batched_tokens:
        parts += [f.batched_tokens, str(o.max_num_batched_tokens)]
    parts += _eager(r)
    command = " ".join(parts)
    if r.allow_long_context and f.long_context_env:
        return f"{f.long_context_env}=1 {command}"
    return command


def _docker_launcher(r: _Request) -> str:
    """TGI's launcher in its Docker image: the prompt limit is one token under the total."""
    f, o = r.flags, r.options
    parts = [*f.program, *_model(r)]
    if o.tp > 1 and f.tensor_parallel:
        parts += [f.tensor_parallel, str(o.tp)]
    parts += ["--max-input-tokens", str(max(1, r.context - 1)), f.context, str(r.context)]
    if o.max_num_batched_tokens and f.batched_tokens:
        parts += [f.batched_tokens, str(o.max_num_batched_tokens)]
    parts += _eager(r)
    return " ".join(parts)


def _llama_server(r: _Request) -> str:
    """``llama-server`` on a GGUF file; a revision other than main is where the file is
    downloaded from first, since llama-server takes a file (huggingface_hub's CLI,
    commands/download.py: ``hf download REPO FILE --revision REV --local-dir DIR``)."""
    o = r.options
    # -c is the whole context, shared by the --parallel slots (llama-server: n_ctx / n_seq).
    model = r.gguf_file or f"{r.model_id.rsplit('/', 1)[-1]}.gguf"
    ngl = "99" if o.n_gpu_layers is None else str(o.n_gpu_layers)
    parts = ["llama-server", "-m", _q(model), r.flags.context, str(r.context * o.batch)]
    parts += ["-ngl", ngl]
    if o.tensor_split:  # the layer split over several GPUs (estimator.placement)
        parts += ["-ts", o.tensor_split]
    if o.n_cpu_moe:
        parts += ["--n-cpu-moe", str(o.n_cpu_moe)]
    parts += ["-fa", "on" if o.flash_attention else "off"]
    if r.kv_dtype in ("q8_0", "q4_0"):
        parts += ["-ctk", r.kv_dtype, "-ctv", r.kv_dtype]
    if o.batch > 1:
        parts += ["--parallel", str(o.batch)]
    if o.tp > 1 or o.gpus > 1:
        parts += ["--split-mode", "layer"]
    if o.swa_full:
        parts.append("--swa-full")
    command = " ".join(parts)
    if r.revision and "/" in r.model_id:
        fetch = ["hf", "download", _q(r.model_id), _q(model), "--revision", _q(r.revision)]
        return " ".join([*fetch, "--local-dir", "."]) + "\n" + command
    return command


def _python(r: _Request) -> str:
    """A transformers snippet: ``from_pretrained`` with the dtype or bitsandbytes config."""
    precision = r.precision
    lines = ["from transformers import AutoModelForCausalLM, AutoTokenizer"]
    kwargs = 'torch_dtype="auto", device_map="auto"'
    if precision in ("bnb-nf4", "bnb-nf4-dq", "int4"):
        lines.append("from transformers import BitsAndBytesConfig")
        kwargs += ", quantization_config=BitsAndBytesConfig(load_in_4bit=True)"
    elif precision in ("bnb-int8", "int8"):
        lines.append("from transformers import BitsAndBytesConfig")
        kwargs += ", quantization_config=BitsAndBytesConfig(load_in_8bit=True)"
    elif precision in _DTYPES and precision != "bf16":
        kwargs = kwargs.replace('"auto", device_map', f"torch.{_DTYPES[precision]}, device_map")
        lines.insert(0, "import torch")
    # from_pretrained(..., revision=...): a branch name, tag name or commit id
    # (transformers PreTrainedModel.from_pretrained / AutoTokenizer.from_pretrained).
    at = f", revision={r.revision!r}" if r.revision else ""
    lines.append(f"tokenizer = AutoTokenizer.from_pretrained({r.model_id!r}{at})")
    lines.append(f"model = AutoModelForCausalLM.from_pretrained({r.model_id!r}{at}, {kwargs})")
    return "\n".join(lines)


_FORMS: dict[CommandForm, Callable[[_Request], str]] = {
    "server": _server,
    "docker-launcher": _docker_launcher,
    "llama-server": _llama_server,
    "python": _python,
}

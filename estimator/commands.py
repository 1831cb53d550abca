"""The command that launches the estimated setup, per engine, from the same options.

Flags are the engines' own: vLLM ``vllm serve`` (vllm/engine/arg_utils.py), SGLang
``python -m sglang.launch_server`` (sglang/srt/server_args.py), llama.cpp ``llama-server``
(common/arg.cpp), TGI's launcher (launcher/src/main.rs) in its Docker image, and
transformers' ``from_pretrained``. Only settings that differ from the engine's default are
written, so the command reads like one a person would type.
"""

from __future__ import annotations

import shlex

from .options import EstimateOptions

__all__ = ["launch_command"]

# vLLM --kv-cache-dtype / SGLang --kv-cache-dtype / llama.cpp -ctk names for our KV types.
_VLLM_KV = {"fp8": "fp8", "fp16": "auto", "bf16": "auto", "fp32": "auto"}
_SGLANG_KV = {"fp8": "fp8_e4m3"}
_LLAMA_KV = {"q8_0": "q8_0", "q4_0": "q4_0", "fp16": "f16", "bf16": "bf16", "fp32": "f32"}
# vLLM --dtype when the weights are served at a float width other than the checkpoint's.
_DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


def _q(text: str) -> str:
    return shlex.quote(text)


def launch_command(
    engine: str,
    model_id: str,
    options: EstimateOptions,
    *,
    context: int,
    precision: str,
    kv_dtype: str,
    checkpoint_dtype: str | None = None,
    enforce_eager: bool = False,
    allow_long_context: bool = False,
    gguf_file: str | None = None,
) -> str | None:
    """The launch command for ``engine`` (None for the generic engine)."""
    if engine == "vllm":
        return _vllm(
            model_id,
            options,
            context,
            precision,
            kv_dtype,
            checkpoint_dtype,
            enforce_eager,
            allow_long_context,
        )
    if engine == "sglang":
        return _sglang(model_id, options, context, kv_dtype, allow_long_context)
    if engine == "llama.cpp":
        return _llama_cpp(model_id, options, context, kv_dtype, gguf_file)
    if engine == "tgi":
        return _tgi(model_id, options, context)
    if engine == "transformers":
        return _transformers(model_id, precision)
    return None


def _float_dtype(precision: str, checkpoint_dtype: str | None) -> str | None:
    wanted = _DTYPES.get(precision)
    own = (checkpoint_dtype or "").lower()
    own = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}.get(own, own)
    # vLLM's dtype="auto" serves fp32 checkpoints in fp16/bf16: state fp32 when asked for.
    if wanted is None or precision == own or (own == "fp32" and precision == "fp16"):
        return None
    return wanted


def _vllm(
    model_id: str,
    o: EstimateOptions,
    context: int,
    precision: str,
    kv_dtype: str,
    checkpoint_dtype: str | None,
    enforce_eager: bool,
    allow_long: bool,
) -> str:
    parts = ["vllm", "serve", _q(model_id), "--max-model-len", str(context)]
    if o.tp > 1:
        parts += ["--tensor-parallel-size", str(o.tp)]
    if o.pipeline_parallel > 1:
        parts += ["--pipeline-parallel-size", str(o.pipeline_parallel)]
    if abs(o.gpu_memory_utilization - 0.9) > 1e-9:
        parts += ["--gpu-memory-utilization", f"{o.gpu_memory_utilization:g}"]
    dtype = _float_dtype(precision, checkpoint_dtype)
    if dtype:
        parts += ["--dtype", dtype]
    if precision == "fp8" and (checkpoint_dtype or "").lower() in (
        "bfloat16",
        "float16",
        "fp16",
        "bf16",
        "",
    ):
        parts += ["--quantization", "fp8"]  # FP8 weights made at load from a 16-bit checkpoint
    if _VLLM_KV.get(kv_dtype, "auto") != "auto":
        parts += ["--kv-cache-dtype", _VLLM_KV[kv_dtype]]
    if o.max_num_seqs:
        parts += ["--max-num-seqs", str(o.max_num_seqs)]
    if o.max_num_batched_tokens:
        parts += ["--max-num-batched-tokens", str(o.max_num_batched_tokens)]
    if enforce_eager:
        parts.append("--enforce-eager")
    command = " ".join(parts)
    return ("VLLM_ALLOW_LONG_MAX_MODEL_LEN=1 " + command) if allow_long else command


def _sglang(
    model_id: str, o: EstimateOptions, context: int, kv_dtype: str, allow_long: bool
) -> str:
    parts = ["python", "-m", "sglang.launch_server", "--model-path", _q(model_id)]
    parts += ["--context-length", str(context)]
    if o.tp > 1:
        parts += ["--tp", str(o.tp)]
    if o.pipeline_parallel > 1:
        parts += ["--pp-size", str(o.pipeline_parallel)]
    parts += ["--mem-fraction-static", f"{o.gpu_memory_utilization:g}"]
    if kv_dtype in _SGLANG_KV:
        parts += ["--kv-cache-dtype", _SGLANG_KV[kv_dtype]]
    if o.max_num_seqs:
        parts += ["--max-running-requests", str(o.max_num_seqs)]
    command = " ".join(parts)
    return ("SGLANG_ALLOW_OVERWRITE_LONGER_CONTEXT_LEN=1 " + command) if allow_long else command


def _llama_cpp(
    model_id: str, o: EstimateOptions, context: int, kv_dtype: str, gguf_file: str | None
) -> str:
    # -c is the whole context, shared by the --parallel slots (llama-server: n_ctx / n_seq).
    model = gguf_file or f"{model_id.rsplit('/', 1)[-1]}.gguf"
    ngl = "99" if o.n_gpu_layers is None else str(o.n_gpu_layers)
    parts = ["llama-server", "-m", _q(model), "-c", str(context * o.batch), "-ngl", ngl]
    if o.tensor_split:  # the layer split over several GPUs (estimator.placement)
        parts += ["-ts", o.tensor_split]
    if o.n_cpu_moe:
        parts += ["--n-cpu-moe", str(o.n_cpu_moe)]
    parts += ["-fa", "on" if o.flash_attention else "off"]
    if kv_dtype in ("q8_0", "q4_0"):
        parts += ["-ctk", kv_dtype, "-ctv", kv_dtype]
    if o.batch > 1:
        parts += ["--parallel", str(o.batch)]
    if o.tp > 1 or o.gpus > 1:
        parts += ["--split-mode", "layer"]
    if o.swa_full:
        parts.append("--swa-full")
    return " ".join(parts)


def _tgi(model_id: str, o: EstimateOptions, context: int) -> str:
    parts = [
        "docker",
        "run",
        "--gpus",
        "all",
        "--shm-size",
        "1g",
        "-p",
        "8080:80",
        "-v",
        "$PWD/data:/data",
        "ghcr.io/huggingface/text-generation-inference:latest",
        "--model-id",
        _q(model_id),
    ]
    if o.tp > 1:
        parts += ["--num-shard", str(o.tp)]
    parts += ["--max-input-tokens", str(max(1, context - 1)), "--max-total-tokens", str(context)]
    if o.max_num_batched_tokens:
        parts += ["--max-batch-prefill-tokens", str(o.max_num_batched_tokens)]
    return " ".join(parts)


def _transformers(model_id: str, precision: str) -> str:
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
    lines.append(f"tokenizer = AutoTokenizer.from_pretrained({model_id!r})")
    lines.append(f"model = AutoModelForCausalLM.from_pretrained({model_id!r}, {kwargs})")
    return "\n".join(lines)

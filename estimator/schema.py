"""Every estimate option, declared once: its type, default, range, unit, help, CLI flags,
URL key and page control.

The library's validation (``options.EstimateOptions``), ``llm-mem --help``
(``cli.build_parser``), the page's URL state and controls (``site/view.py``,
``site/controls.py``), the embed loader's attributes (``build.py``) and the README's option
table (``markdown_table``, kept in sync by tests/unit/test_schema.py) are all generated
from :data:`OPTIONS`. Adding an option is one entry here, one field in ``EstimateOptions``
(its Python type) and the code that uses it.

``python -m estimator.schema`` prints the README table.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal, TypeAlias

from .engines import ENGINE_PROFILES
from .precision import PRECISIONS

__all__ = ["DEFAULT_ENGINE", "MAX_BATCH", "MAX_CONTEXT", "OPTION", "OPTIONS", "Option"]

Kind: TypeAlias = Literal["int", "float", "str", "bool"]
#: How the CLI reads the flag's text (the converters of estimator.cli).
CliType: TypeAlias = Literal[
    "text", "count", "tokens", "layers", "size", "bandwidth", "fraction", "precision"
]
#: The page control: a form field drawn from this entry, or none (URL key only).
#: ``custom``: a control of its own laid out by hand (the GPU picker).
Control: TypeAlias = Literal["none", "number", "select", "checkbox", "text", "custom"]
Group: TypeAlias = Literal["model and workload", "hardware"]
Value: TypeAlias = "int | float | str | bool | None"

#: Batch upper bound the issue asks for; beyond it the arithmetic is meaningless.
MAX_BATCH = 100_000
#: A context far past any published model (10M tokens) is surely a typo.
MAX_CONTEXT = 10_000_000

#: The engine an answer assumes unless --engine says otherwise (and the page's default): one
#: whose allocation is modelled and validated (tests/validation/launch_records.json), not
#: the library's "generic".
DEFAULT_ENGINE = "vllm"

#: KV cache element types. ``auto`` follows the activation dtype (bf16/fp16).
KV_DTYPES = ("auto", "fp32", "fp16", "bf16", "fp8", "q8_0", "q4_0")
#: --offload: place what does not fit the GPUs in system RAM (llama.cpp/Ollama), or never.
OFFLOAD_MODES = ("auto", "none")
#: llama.cpp backends the speed estimate is fitted for (estimator.speed).
LLAMA_BACKENDS = ("cuda", "rocm", "vulkan", "metal", "sycl", "cpu")


class _Same:
    """``cli_default`` marker: the CLI's default is the library's."""

    def __repr__(self) -> str:
        return "SAME"


SAME = _Same()


@dataclass(frozen=True)
class Option:
    """One field of ``EstimateOptions`` and everything the CLI, the page and the README say
    about it. ``minimum``/``maximum`` are the library's range (``open_*``: the bound itself
    is excluded); ``choices`` the values it accepts, named ``noun`` in its error."""

    name: str
    kind: Kind
    default: Value
    help: str  # llm-mem --help
    group: Group = "model and workload"
    flags: tuple[str, ...] = ()  # CLI flags, the first one canonical; () for none
    dest: str | None = None  # argparse dest when not the first flag's
    metavar: str | None = None
    cli_type: CliType = "text"
    cli_default: Value | _Same = SAME  # argparse's default, when not the library's
    app_default: Value | _Same = SAME  # the CLI's and the page's, when not the library's
    minimum: float | None = None
    maximum: float | None = None
    open_low: bool = False
    open_high: bool = False
    unit: str = ""
    choices: Collection[str] = ()  # a live view for engines (ENGINE_PROFILES' keys)
    noun: str = ""  # "unknown {noun} 'x'; choose one of ..."
    # the page
    control: Control = "none"
    label: str = ""
    page_help: str = ""  # beside the control; `code` in backticks
    page_key: str = ""  # form/URL key in people's units, when not ``name``
    advanced: bool = False  # drawn in the page's "Advanced" list (in EstimateOptions order)
    placeholder: str = ""
    step: str = "1"

    @property
    def optional(self) -> bool:
        return self.default is None

    @property
    def cli_dest(self) -> str:
        return self.dest or self.flags[0].lstrip("-").replace("-", "_")

    @property
    def key(self) -> str:
        """The form field's id and URL key."""
        return self.page_key or self.name

    @property
    def bounds(self) -> tuple[float, float]:
        """(minimum, maximum) of a number option."""
        if self.minimum is None or self.maximum is None:
            raise ValueError(f"option {self.name} has no range")
        return self.minimum, self.maximum

    def range_text(self) -> str:
        """'1–100000', '[0, 1)' or '' (README)."""
        if self.minimum is None or self.maximum is None:
            return ""
        if self.open_low or self.open_high:
            return (f"{'(' if self.open_low else '['}{self.minimum:g}, "
                    f"{self.maximum:g}{')' if self.open_high else ']'}")
        return f"{int(self.minimum)}–{int(self.maximum)}"


_HW: Group = "hardware"

#: In the CLI's help order (the URL and JSON follow EstimateOptions' field order).
OPTIONS: tuple[Option, ...] = (
    Option(
        "precision", "str", "auto",
        f"weight precision: auto (as published) or one of {', '.join(PRECISIONS)}",
        flags=("--precision",), cli_type="precision", control="select",
        label="Weight precision",
        page_help="How weights are stored: float, int (GPTQ/AWQ/bitsandbytes), or a GGUF type. "
        "Auto keeps the checkpoint's own.",
    ),
    Option(
        "kv_dtype", "str", "auto", "KV cache element type", flags=("--kv-dtype",),
        choices=KV_DTYPES, noun="KV cache dtype", control="select", label="KV cache type",
        page_help="Element type of the key/value cache; fp8 or q8_0 halves it.",
    ),
    Option(
        "engine", "str", "generic",
        f"serving engine (default {DEFAULT_ENGINE}: `vllm serve`, its allocation modelled and "
        "validated; generic: the whole prompt in one forward, no engine)",
        flags=("--engine",), cli_default=None, app_default=DEFAULT_ENGINE,
        choices=ENGINE_PROFILES.keys(), noun="engine",
        control="select", label="Engine",
        page_help="Each engine allocates differently (vLLM pre-reserves memory, llama.cpp adds "
        "compute buffers).",
    ),
    Option(
        "batch", "int", 1, "concurrent sequences (default 1)", flags=("--batch", "--batch-size"),
        cli_type="count", minimum=1, maximum=MAX_BATCH, unit="sequences", control="number",
        label="Concurrent requests (batch)",
        page_help="Sequences served at once; each keeps its own KV cache.",
    ),
    Option(
        "context", "int", None, "tokens per sequence, prompt + output (default min(model max, "
        "4096))", flags=("--context", "--seq-len", "--sequence-length"), cli_type="tokens",
        minimum=1, maximum=MAX_CONTEXT, unit="tokens", control="number",
        label="Context length (tokens per request)",
        page_help="Prompt plus generated tokens for each request. The slider is logarithmic and "
        "goes past the model's own limit. Empty = min(model limit, 4096).",
    ),
    Option(
        "generated_tokens", "int", None, "of the context, tokens generated",
        flags=("--generated-tokens",), cli_type="tokens", minimum=0, maximum=MAX_CONTEXT,
        unit="tokens",
        advanced=True, control="number", label="Generated tokens", placeholder="auto",
        page_help="Of the context, how many tokens are decoded; the rest is one prefill.",
    ),
    Option(
        "flash_attention", "bool", True, "attention without materialised scores (default on)",
        flags=("--flash-attention", "--flash"), control="checkbox", label="FlashAttention",
        page_help="Without it, attention scores (heads × context²) are materialised during "
        "prefill.",
    ),
    Option(
        "swa_full", "bool", False,
        "llama.cpp: sliding-window layers cache the whole context (default off)",
        flags=("--swa-full",), control="checkbox", label="Full-size SWA cache",
        page_help="llama.cpp `--swa-full`: sliding-window layers keep every token (needed for "
        "prompt caching; older builds always did).",
    ),
    Option(
        "paged_attention", "bool", None, "paged KV cache (default: the engine's own)",
        flags=("--paged-attention",), advanced=True, control="select", label="Paged attention",
        page_help="KV cache in fixed blocks (vLLM, SGLang): rounds each request up to a whole "
        "block.",
    ),
    Option(
        "block_size", "int", None, "paged KV block size in tokens", flags=("--block-size",),
        cli_type="count", minimum=1, maximum=4096, unit="tokens", advanced=True, control="number",
        label="KV block size", placeholder="engine default",
        page_help="Tokens per KV block with paged attention (vLLM: 16).",
    ),
    Option(
        "layers", "int", None, "run only the first N layers", flags=("--layers", "--num-layers"),
        cli_type="count", minimum=1, maximum=10_000,
        advanced=True, control="number", label="Layers to run",
        placeholder="all", page_help="Fewer layers on the GPU (partial offload); empty = all.",
    ),
    Option(
        "kv_heads", "int", None, "override the KV head count (GQA)", flags=("--kv-heads",),
        cli_type="count", minimum=1, maximum=10_000, advanced=True, control="number",
        label="KV heads override", placeholder="from config",
        page_help="Override the detected KV head count (what-if for GQA).",
    ),
    Option(
        "group_size", "int", 128, "GPTQ/AWQ quantization group size", minimum=1,
        maximum=1 << 20, unit="weights",
        advanced=True, control="number", label="Quantization group size",
        page_help="Weights per scale for GPTQ/AWQ/int4 (smaller = more scales).",
    ),
    Option(
        "gpu", "str", None,
        "GPU(s) to fit, as people write them: rtx4090, \"RTX 4090\", \"A100 80GB PCIe\", "
        "\"M2 Ultra 192GB\"; a comma list for mixed GPUs (rtx3090,rtx4060; 2x rtx3090); "
        "'custom' for the --gpu-memory one (see --list-gpus)",
        group=_HW, flags=("--gpu",), control="custom",
    ),
    Option(
        "gpu_memory_bytes", "int", None,
        "a GPU the catalog lacks: the memory a process can use (12GiB)",
        group=_HW, flags=("--gpu-memory",), metavar="SIZE", cli_type="size", minimum=1,
        maximum=1 << 50, unit="bytes", control="text", page_key="gpu_memory",
        label="Other GPU: memory (GiB)", placeholder="e.g. 12",
        page_help="A card the list lacks: what a process can allocate on it, in GiB. It joins "
        "the GPUs above as \"Other\".",
    ),
    Option(
        "gpu_bandwidth_gbs", "float", None,
        "memory bandwidth of the --gpu-memory GPU, for the speed estimate (360)",
        group=_HW, flags=("--gpu-bandwidth",), metavar="GB/s", cli_type="bandwidth", minimum=0,
        maximum=1e6, open_low=True, open_high=True, unit="GB/s", control="text",
        page_key="gpu_bandwidth", label="Its bandwidth (GB/s)", placeholder="optional",
        page_help="Optional; without it no speed is estimated for that card.",
    ),
    Option(
        "ram_bytes", "int", None, "system RAM for CPU offload (64GiB)", group=_HW,
        flags=("--ram",), metavar="SIZE", cli_type="size", minimum=1, maximum=1 << 52,
        unit="bytes", control="text", page_key="ram", label="System RAM (GiB)",
        placeholder="e.g. 64",
        page_help="llama.cpp and Ollama keep what the GPUs cannot hold in system RAM (slower). "
        "Empty: the verdict says how much RAM it would need.",
    ),
    Option(
        "offload", "str", "auto",
        "llama.cpp/Ollama: move what does not fit the GPUs to system RAM (default auto)",
        group=_HW, flags=("--offload",), choices=OFFLOAD_MODES, noun="offload mode",
    ),
    Option(
        "tensor_split", "str", None,
        "llama.cpp: proportions of layers per GPU (default: by free memory)",
        group=_HW, flags=("--tensor-split", "-ts"), metavar="A,B",
    ),
    Option(
        "ram_bandwidth_gbs", "float", None,
        "system RAM bandwidth for offloaded layers (default 89.6: dual-channel DDR5-5600)",
        group=_HW, flags=("--ram-bandwidth",), metavar="GB/s", cli_type="bandwidth", minimum=0,
        maximum=1e6, open_low=True, open_high=True, unit="GB/s",
    ),
    Option(
        "wired_limit_mb", "int", None,
        "Mac: the sysctl iogpu.wired_limit_mb you set (replaces Metal's working-set cap)",
        group=_HW, flags=("--wired-limit-mb",), metavar="MB", cli_type="count", minimum=1,
        maximum=1 << 30, unit="MB", control="number", label="Mac: GPU limit (MB)",
        placeholder="Metal default",
        page_help="Only if you raised it with `sudo sysctl iogpu.wired_limit_mb=N`; by default "
        "Metal lets the GPU use about 2/3 of the RAM (3/4 above 32 GB).",
    ),
    Option(
        "n_gpu_layers", "int", None,
        "llama.cpp: layers on the GPUs, as you would pass it (default: what fits)",
        group=_HW, flags=("--n-gpu-layers", "-ngl"), metavar="N", cli_type="layers", minimum=0,
        maximum=100_000, unit="layers",
    ),
    Option(
        "n_cpu_moe", "int", None,
        "llama.cpp: keep the MoE experts of the first N layers in system RAM",
        group=_HW, flags=("--n-cpu-moe",), metavar="N", cli_type="layers", minimum=0,
        maximum=100_000, unit="layers",
    ),
    Option(
        "backend", "str", None,
        "llama.cpp build for the speed estimate (default: CUDA, ROCm, Metal, SYCL by GPU)",
        group=_HW, flags=("--backend",), choices=LLAMA_BACKENDS, noun="backend",
    ),
    Option(
        "gpus", "int", 1, "number of GPUs (default 1)", group=_HW, flags=("--gpus",),
        cli_type="count", minimum=1, maximum=4096, unit="GPUs", control="number",
        label="Number of GPUs",
        page_help="GPUs the model is spread over (tensor × pipeline parallel).",
    ),
    Option(
        "tensor_parallel", "int", None, "tensor-parallel degree (default gpus / pp)", group=_HW,
        flags=("--tp",), cli_type="count", minimum=1, maximum=4096, unit="GPUs",
        advanced=True, control="number", label="Tensor parallel", placeholder="GPUs ÷ PP",
        page_help="GPUs each layer is split across; weights and KV divide by it.",
    ),
    Option(
        "pipeline_parallel", "int", 1, "pipeline-parallel degree (default 1)", group=_HW,
        flags=("--pp",), cli_type="count", minimum=1, maximum=4096, unit="stages",
        advanced=True, control="number", label="Pipeline parallel",
        page_help="Stages the layers are split into, one GPU group each.",
    ),
    Option(
        "headroom", "float", 0.10,
        "share of GPU memory kept free when judging a fit (default 0.10)", group=_HW,
        flags=("--headroom",), cli_type="fraction", minimum=0, maximum=1, open_high=True,
        unit="fraction",
        advanced=True, control="number", label="Headroom (fraction free)", step="0.01",
        page_help="Share of each GPU kept free for fragmentation and spikes (0.10 = 10%).",
    ),
    Option(
        "gpu_memory_utilization", "float", 0.90, "vLLM/SGLang memory fraction (default 0.90)",
        group=_HW, flags=("--gpu-memory-utilization",), cli_type="fraction", minimum=0,
        maximum=1, open_low=True, unit="fraction", advanced=True, control="number",
        label="GPU memory utilization", step="0.01",
        page_help="vLLM/SGLang reserve this share of each GPU at start-up.",
    ),
    Option(
        "max_num_batched_tokens", "int", None,
        "vLLM: tokens per forward step, the profiled prefill (default: the engine's)",
        group=_HW, flags=("--max-num-batched-tokens",), cli_type="tokens", minimum=1,
        maximum=MAX_CONTEXT, unit="tokens",
        advanced=True, control="number", label="Max batched tokens",
        placeholder="engine default",
        page_help="vLLM's chunked-prefill budget: tokens processed per step.",
    ),
    Option(
        "max_num_seqs", "int", None, "vLLM/SGLang: sequences scheduled at once (default 256)",
        group=_HW, flags=("--max-num-seqs", "--max-running-requests"), cli_type="count",
        minimum=1, maximum=MAX_BATCH, unit="sequences", advanced=True, control="number",
        label="Max sequences", placeholder="engine default",
        page_help="Sequences the engine schedules at once (vLLM: 256); its profile run samples "
        "that many rows of logits.",
    ),
    # vLLM --enforce-eager turns off torch.compile and CUDA graphs (vLLM
    # docs/design/debug_vllm_compile.md); GPUModelRunner.capture_model then returns 0 bytes
    # ("Skipping CUDA graph capture", vllm/v1/worker/gpu_model_runner.py); SGLang
    # --disable-cuda-graph and TGI --cuda-graphs 0 skip theirs (LaunchFlags.enforce_eager,
    # with sources): the profile's cuda_graph_bytes drop out of the overhead (and for vLLM of
    # the share outside the reservation). llama.cpp and Ollama capture none: no effect.
    Option(
        "enforce_eager", "bool", False,
        "no CUDA graphs, so no memory for them (vLLM --enforce-eager, SGLang "
        "--disable-cuda-graph, TGI --cuda-graphs 0; default off)",
        group=_HW, flags=("--enforce-eager",), control="checkbox", advanced=True,
        label="Eager mode (no CUDA graphs)",
        page_help="vLLM `--enforce-eager` (SGLang `--disable-cuda-graph`, TGI `--cuda-graphs "
        "0`): no CUDA graphs are captured, which saves their memory (vLLM about 0.85 GiB, "
        "SGLang and TGI 0.5 GiB) and costs decode speed.",
    ),
)

#: name -> Option
OPTION: dict[str, Option] = {o.name: o for o in OPTIONS}


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_table() -> str:
    """The README's option table: one row per option with a CLI flag, in --help order."""
    rows = ["| Option | Default | Range | Meaning | Page / URL key |",
            "| --- | --- | --- | --- | --- |"]
    for o in OPTIONS:
        if not o.flags:
            continue
        flags = ", ".join(f"`{f}`" for f in o.flags)
        if o.kind == "bool":
            flags += f" / `--no-{o.flags[0][2:]}`"
        default = o.default if o.app_default is SAME else o.app_default
        text = str(default).lower() if o.kind == "bool" else str(default)
        shown = "—" if default is None else f"`{text}`"
        span = " \\| ".join(o.choices) if o.choices else o.range_text()
        if o.unit == "bytes" and o.maximum:
            span = f"up to {o.maximum / 2**50:g} PiB"
        elif o.unit and span and not o.choices:
            span += f" {o.unit}"
        key = f"`{o.key}`" + ("" if o.control != "none" else " (URL only)")
        rows.append(f"| {flags} | {shown} | {span} | {_md(o.help)} | {key} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(markdown_table(), end="")

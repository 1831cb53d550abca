"""Launch verdicts: the engines' own start-up checks, the fixes and the commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from estimator import EstimateOptions, vllm_v1
from estimator.estimate import estimate, prepare
from estimator.launch import LaunchVerdict, launch_verdict, valid_tensor_parallel

CONFIGS = Path(__file__).resolve().parents[1] / "fixtures" / "configs"
GIB = 1024**3


def verdict(name: str, revision: str | None = None, **kw: object) -> LaunchVerdict:
    cfg = json.loads((CONFIGS / f"{name}.json").read_text())
    options = EstimateOptions(**kw)  # type: ignore[arg-type]
    spec, counts = prepare(cfg, options)
    result = launch_verdict(
        spec, counts, options, model_id=name.replace("__", "/"), revision=revision
    )
    assert result is not None
    return result


def test_vllm_rejects_a_tensor_parallel_size_its_layers_cannot_split() -> None:
    """Qwen3-14B at TP 5: 40 heads divide, but VocabParallelEmbedding's divide(151936, 5)
    fails first (llm-d-planner's failed run), then the 8 KV heads and 17408-wide MLP."""
    v = verdict("Qwen__Qwen3-14B", engine="vllm", gpu="h100-80gb", gpus=5, context=8192)
    assert not v.starts
    assert [p.code for p in v.problems] == ["tp_vocab", "tp_kv_heads", "tp_intermediate"]
    assert v.problems[0].message == "151936 is not divisible by 5"
    assert v.valid_tensor_parallel == (1, 2, 4, 8)
    assert v.fixes[0].flags == ("--tensor-parallel-size", "4")  # the nearest valid size below
    assert v.fixes[0].result.startswith("starts:")
    gemma = verdict("google__gemma-3-27b-it", engine="vllm", gpu="h100-80gb", gpus=3)
    assert gemma.problems[0].message == (
        "Total number of attention heads (32) must be divisible by tensor parallel size (3)."
    )


def test_vllm_refuses_a_max_model_len_beyond_the_model() -> None:
    """Llama-3.2-1B at 300000 tokens: its derived limit is 131072 (llama3 RoPE scaling does
    not extend it); VLLM_ALLOW_LONG_MAX_MODEL_LEN=1 lets it start."""
    v = verdict("meta-llama__Llama-3.2-1B-Instruct", engine="vllm", gpu="h100-80gb", context=300000)
    assert not v.starts and v.problems[0].code == "max_model_len"
    assert "User-specified max_model_len (300000) is greater than the derived max_model_len" in (
        v.problems[0].message
    )
    assert "131072" in v.problems[0].message
    assert v.fixes[0].flags == ("--max-model-len", "131072")
    cfg = json.loads((CONFIGS / "meta-llama__Llama-3.2-1B-Instruct.json").read_text())
    options = EstimateOptions(engine="vllm", gpu="h100-80gb", context=300000)
    spec, counts = prepare(cfg, options)
    allowed = launch_verdict(spec, counts, options, allow_long_context=True)
    assert allowed is not None and allowed.starts
    assert allowed.command is not None
    assert allowed.command.startswith("VLLM_ALLOW_LONG_MAX_MODEL_LEN=1 vllm serve")


def test_vllm_kv_check_prints_the_estimated_maximum_model_length() -> None:
    """Qwen3-8B at its 40960 tokens on one RTX 4090: the pool holds less than one request;
    the estimated length is the largest whose blocks fit, a multiple of the block size."""
    v = verdict("Qwen__Qwen3-8B", engine="vllm", gpu="rtx4090", context=40960)
    assert not v.starts and v.problems[0].code == "kv_cache_too_small"
    message = v.problems[0].message
    assert message.startswith(
        "To serve at least one request with the models's max seq len (40960), (5.62 GiB KV "
        "cache is needed"
    )
    assert f"the estimated maximum model length is {v.max_context}." in message
    assert v.max_context is not None and v.max_context % 16 == 0
    fits = verdict("Qwen__Qwen3-8B", engine="vllm", gpu="rtx4090", context=v.max_context)
    over = verdict("Qwen__Qwen3-8B", engine="vllm", gpu="rtx4090", context=v.max_context + 1)
    assert fits.starts and fits.concurrency == 1.0 and not over.starts
    flags = [f.flags for f in v.fixes]
    assert flags[:3] == [
        ("--max-model-len", str(v.max_context)),
        ("--max-model-len", "auto"),
        ("--kv-cache-dtype", "fp8"),
    ]
    fp8 = next(f for f in v.fixes if f.flags == ("--kv-cache-dtype", "fp8"))
    assert fp8.result.startswith("starts: 1.8")  # FP8 halves each token: about twice the room


def test_vllm_pool_and_concurrency_follow_the_v0_19_log() -> None:
    """Llama-3.1-8B, 16384 tokens, H100 at 0.95 (llm-d-planner v0.19 log): 58.11 GiB pool,
    476,016 tokens, 29.05 requests; 79.19 GiB total as the log prints it."""
    cfg = json.loads((CONFIGS / "meta-llama__Llama-3.1-8B-Instruct.json").read_text())
    options = EstimateOptions(
        engine="vllm", gpu="h100-80gb", context=16384, gpu_memory_utilization=0.95
    )
    spec, counts = prepare(cfg, options)
    from estimator.launch import vllm_startup

    start = vllm_startup(spec, counts, options, gpu_memory_bytes=round(79.19 * GIB))
    assert start is not None
    assert abs(start.available / GIB - 58.11) < 0.05
    assert abs(start.tokens - 476016) / 476016 < 0.005
    assert start.concurrency is not None and abs(start.concurrency - 29.05) < 0.1


def test_hybrid_sliding_window_groups_are_padded_like_vllm() -> None:
    """gemma-3-27b: 52 sliding + 10 full layers -> groups of 10, 6 sliding groups (8 padding
    layers, "Add 8 padding layers" in the log) + 1 full; gemma-2-9b: 21 + 21, no padding."""
    cfg = json.loads((CONFIGS / "google__gemma-3-27b-it.json").read_text())
    spec, _ = prepare(cfg, EstimateOptions())
    layout = vllm_v1.kv_layout(spec, tp=1, pp=1, element_bytes=2)
    assert layout is not None
    assert (layout.group_size, len(layout.groups), layout.padding_layers) == (10, 7, 8)
    # 15998 blocks (19.53 GiB) -> 36,560 tokens and 4.46 requests of 8192, as logged.
    assert layout.tokens(15998) == 36560
    assert round(layout.concurrency(15998, 8192, 8192), 2) == 4.46
    gemma2 = json.loads((CONFIGS / "google__gemma-2-9b-it.json").read_text())
    spec2, _ = prepare(gemma2, EstimateOptions())
    layout2 = vllm_v1.kv_layout(spec2, tp=1, pp=1, element_bytes=2)
    assert layout2 is not None and (layout2.group_size, layout2.padding_layers) == (21, 0)


def test_no_gpu_runs_only_the_static_checks() -> None:
    v = verdict("Qwen__Qwen3-8B", engine="vllm", context=8192)
    assert v.starts and not v.memory_checked and v.concurrency is None
    assert "choose a GPU" in v.summary


def test_sglang_checks_its_context_and_pool() -> None:
    """SGLang refuses a context beyond the derived one (model_config._derive_context_length)
    and a pool of no tokens (init_memory_pool); a short pool only caps requests."""
    over = verdict("Qwen__Qwen2.5-7B-Instruct", engine="sglang", gpu="h100-80gb", context=65536)
    assert not over.starts
    assert over.problems[0].message.startswith(
        "User-specified context_length (65536) is greater than the derived context_length (32768)."
    )
    big = verdict("meta-llama__Llama-3.1-70B-Instruct", engine="sglang", gpu="rtx4090")
    assert not big.starts
    assert big.problems[0].message == (
        "Not enough memory. Please try to increase --mem-fraction-static."
    )
    capped = verdict(
        "meta-llama__Llama-3.1-8B-Instruct", engine="sglang", gpu="rtx4090", context=131072
    )
    assert capped.starts and capped.max_context is not None and capped.max_context < 131072
    assert any("caps each request" in w for w in capped.warnings)


def test_llama_cpp_fails_on_the_buffer_it_cannot_allocate() -> None:
    v = verdict(
        "meta-llama__Llama-3.1-70B-Instruct", engine="llama.cpp", gpu="rtx4090", precision="Q4_K_M"
    )
    assert not v.starts and "cudaMalloc failed: out of memory" in v.problems[0].message
    assert "unable to allocate CUDA0 buffer" in v.problems[0].message
    long = verdict(
        "meta-llama__Llama-3.1-8B-Instruct",
        engine="llama.cpp",
        gpu="rtx4090",
        precision="Q8_0",
        context=131072,
    )
    assert not long.starts and "failed to allocate buffer for kv cache" in long.problems[0].message
    assert long.max_context is not None and long.max_context % 256 == 0
    shorter = verdict(
        "meta-llama__Llama-3.1-8B-Instruct",
        engine="llama.cpp",
        gpu="rtx4090",
        precision="Q8_0",
        context=long.max_context,
    )
    assert shorter.starts
    assert long.fixes[0].flags == ("-c", str(long.max_context))


def test_tgi_and_transformers_verdicts() -> None:
    shards = verdict("meta-llama__Llama-3.1-8B-Instruct", engine="tgi", gpu="h100-80gb", gpus=3)
    assert not shards.starts and shards.problems[0].code == "tp_heads"
    assert "`num_heads` must be divisible by `num_shards`" in shards.problems[0].message
    hf = verdict(
        "meta-llama__Llama-3.1-8B-Instruct", engine="transformers", gpu="rtx4090", context=131072
    )
    assert not hf.starts and hf.problems[0].code == "cuda_oom"
    assert hf.fixes and hf.fixes[0].flags[0] == "max_length"


def test_commands_carry_the_settings() -> None:
    v = verdict(
        "Qwen__Qwen3-8B",
        engine="vllm",
        gpu="h100-80gb",
        gpus=2,
        context=32768,
        kv_dtype="fp8",
        gpu_memory_utilization=0.95,
    )
    assert v.command == (
        "vllm serve Qwen/Qwen3-8B --max-model-len 32768 --tensor-parallel-size 2 "
        "--gpu-memory-utilization 0.95 --kv-cache-dtype fp8"
    )
    sg = verdict("Qwen__Qwen3-8B", engine="sglang", gpu="h100-80gb", gpus=2, context=32768)
    assert sg.command == (
        "python -m sglang.launch_server --model-path Qwen/Qwen3-8B --context-length 32768 "
        "--tp 2 --mem-fraction-static 0.9"
    )
    cpp = verdict(
        "Qwen__Qwen3-8B",
        engine="llama.cpp",
        gpu="h100-80gb",
        precision="Q4_K_M",
        context=8192,
        batch=4,
        kv_dtype="q8_0",
    )
    assert cpp.command == (
        "llama-server -m Qwen3-8B.gguf -c 32768 -ngl 99 -fa on -ctk q8_0 -ctv q8_0 --parallel 4"
    )
    tgi = verdict("Qwen__Qwen3-8B", engine="tgi", gpu="h100-80gb", gpus=2, context=8192)
    assert tgi.command is not None and "--model-id Qwen/Qwen3-8B --num-shard 2" in tgi.command
    assert "--max-input-tokens 8191 --max-total-tokens 8192" in tgi.command
    hf = verdict("Qwen__Qwen3-8B", engine="transformers", precision="bnb-nf4")
    assert hf.command is not None and "BitsAndBytesConfig(load_in_4bit=True)" in hf.command


def test_commands_pass_the_hub_revision_as_each_engine_takes_it() -> None:
    """vLLM/SGLang/TGI take --revision (vllm/engine/arg_utils.py, sglang/srt/server_args.py,
    TGI launcher/src/main.rs), transformers from_pretrained(revision=...); llama-server has no
    revision (common/arg.cpp), so the GGUF file is downloaded at it first. main is left out."""
    rev = "refs/pr/7"  # quoted for the shell where it needs to be: it does not
    kw: dict[str, object] = {"gpu": "h100-80gb", "context": 8192}
    vllm = verdict("Qwen__Qwen3-8B", rev, engine="vllm", **kw).command
    assert vllm == "vllm serve Qwen/Qwen3-8B --revision refs/pr/7 --max-model-len 8192"
    sg = verdict("Qwen__Qwen3-8B", rev, engine="sglang", **kw).command
    assert sg == (
        "python -m sglang.launch_server --model-path Qwen/Qwen3-8B --revision refs/pr/7 "
        "--context-length 8192 --mem-fraction-static 0.9"
    )
    tgi = verdict("Qwen__Qwen3-8B", rev, engine="tgi", **kw).command
    assert tgi is not None and tgi.endswith(
        "--model-id Qwen/Qwen3-8B --revision refs/pr/7 --max-input-tokens 8191 "
        "--max-total-tokens 8192"
    )
    hf = verdict("Qwen__Qwen3-8B", "v1.0", engine="transformers", **kw).command
    assert hf is not None and hf.splitlines()[-2:] == [
        "tokenizer = AutoTokenizer.from_pretrained('Qwen/Qwen3-8B', revision='v1.0')",
        "model = AutoModelForCausalLM.from_pretrained('Qwen/Qwen3-8B', revision='v1.0', "
        'torch_dtype="auto", device_map="auto")',
    ]
    cpp = verdict("Qwen__Qwen3-8B", "a b", engine="llama.cpp", precision="Q4_K_M", **kw)
    assert cpp.command == (
        "hf download Qwen/Qwen3-8B Qwen3-8B.gguf --revision 'a b' --local-dir .\n"
        "llama-server -m Qwen3-8B.gguf -c 8192 -ngl 99 -fa on"
    )
    # main (or no revision) is the engines' default: nothing is added
    for engine in ("vllm", "sglang", "tgi", "transformers", "llama.cpp"):
        plain = verdict("Qwen__Qwen3-8B", None, engine=engine, **kw).command
        assert plain is not None and "revision" not in plain
        assert verdict("Qwen__Qwen3-8B", "main", engine=engine, **kw).command == plain


def test_generic_engine_has_no_verdict() -> None:
    cfg = json.loads((CONFIGS / "Qwen__Qwen3-8B.json").read_text())
    options = EstimateOptions(engine="generic")
    spec, counts = prepare(cfg, options)
    assert launch_verdict(spec, counts, options) is None
    assert valid_tensor_parallel(spec, "llama.cpp") is None


@pytest.mark.parametrize(
    ("version", "per_logit"), [(None, 15), ("0.17.0", 15), ("0.16.0", 36), ("v0", 36)]
)
def test_sampler_profile_changed_at_0_17(version: str | None, per_logit: int) -> None:
    assert vllm_v1.sampler_bytes_per_logit(version, 2) == per_logit


def test_serve_defaults_follow_the_gpu() -> None:
    """arg_utils.get_batch_defaults: >= 70 GiB and not an A100 -> 8192 tokens, 1024 seqs."""
    assert vllm_v1.serve_defaults(round(79.11 * GIB), "NVIDIA H100") == (
        vllm_v1.ServeDefaults(8192, 1024)
    )
    assert vllm_v1.serve_defaults(round(79.14 * GIB), "NVIDIA A100 80GB") == (
        vllm_v1.ServeDefaults(2048, 256)
    )
    h100 = estimate(
        json.loads((CONFIGS / "Qwen__Qwen3-8B.json").read_text()),
        EstimateOptions(engine="vllm", gpu="h100-80gb"),
    )
    assert h100.components[2].inputs["tokens"] == 8192


def test_fit_wording_follows_the_launch_verdict() -> None:
    """llama.cpp allocates everything at start: past the usable memory (the GPU less its
    headroom) but within the GPU, the fit says so without calling the start a failure."""
    from estimator.launch import fit_with_launch
    from tests.conftest import load_config

    config = load_config("meta-llama__Llama-3.1-8B")
    found = None
    for context in range(16384, 131072, 2048):
        options = EstimateOptions(engine="llama.cpp", gpu="rtx4090", context=context)
        est = estimate(config, options)
        verdict = launch_verdict(*prepare(config, options), options)
        assert verdict is not None
        if not est.fit.fits and verdict.starts:
            found = fit_with_launch("does NOT fit", False, verdict.to_dict(), 1)
            assert est.fit.usable_bytes < est.per_gpu_bytes <= est.fit.capacity_bytes
            break
    assert found == "does NOT fit with the headroom kept free; llama.cpp starts with less to spare"
    # no verdict (generic engine) or no GPU: the fit words stay as they are
    assert fit_with_launch("fits", True, None, 1) == "fits"


def test_command_quoting_is_shlex_quote() -> None:
    """commands._q is shlex.quote written out (the page's worker skips importing shlex):
    the same text for any string, ASCII or not, empty, or with quotes."""
    import random
    import shlex

    from estimator.commands import _q

    rng = random.Random(11)
    alphabet = "azAZ09_@%+=:,./- '\"$`\\!*?;&|<>()[]{}#~\t\né漢\x00"
    samples = ["", "'", "''", "a b", "Qwen/Qwen2.5-7B", "--max-model-len=8192", "it's"]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
                for _ in range(5000)]
    for text in samples:
        assert _q(text) == shlex.quote(text), text

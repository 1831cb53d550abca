"""Filled-in formulas: the numbers each line shows multiply out to the bytes it shows.

``chain`` evaluates a line the way a reader checks it by hand: words are labels, a
parenthesis with words and no "×" is a note, a colon ends the line's name, a semicolon
starts a comment; every " = " step must give the next figure (to the byte, or less than a
byte where the estimator truncates).
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from estimator import EstimateOptions, estimate
from estimator.explain import Formula, explain
from tests.conftest import load_config

CONFIGS = Path(__file__).resolve().parents[1] / "fixtures" / "configs"
_NOTE = re.compile(r"\([^()×]*[A-Za-z][^()×]*\)")
_WORD = re.compile(r"(?<![\d.])[A-Za-z][\w'./-]*")


def chain(line: str) -> list[tuple[float, float]]:
    """Each " = " step of ``line`` as (its first figure, its value); a step goes on from the
    previous one's result ("= 131,072 B per token × 8,192 tokens = ..."). Steps without
    numbers are skipped."""
    text = line
    while _NOTE.search(text):
        text = _NOTE.sub("", text)
    text = text.split("; ")[0].rsplit(": ", 1)[-1]
    steps = []
    for step in text.split(" = "):
        expr = _WORD.sub(lambda m: m.group(0) if m.group(0) == "max" else "", step)
        expr = (
            expr.replace(", ", ";")
            .replace(",", "")
            .replace(";", ", ")
            .replace("×", "*")
            .replace("−", "-")
            .strip()
        )
        first = re.search(r"-?\d+(\.\d+)?", expr)
        if first is None:
            continue
        value = float(eval(expr, {"__builtins__": {}, "max": max}))
        steps.append((float(first.group(0)), value))
    return steps


def check(formula: Formula) -> None:
    """Every step of every line holds, and the last line ends on the component's bytes."""
    for line in formula.lines:
        steps = chain(line)
        assert len(steps) >= 1, line
        for (_, value), (first, _) in itertools.pairwise(steps):
            assert first <= value < first + 1, line  # int() truncation at most
    assert chain(formula.lines[-1])[-1][1] == formula.bytes


def formulas(model: str, **options: object) -> dict[str, Formula]:
    est = estimate(load_config(model), EstimateOptions(**options))  # type: ignore[arg-type]
    out = {f.component: f for f in explain(est)}
    assert [f.bytes for f in out.values()] == [c.bytes for c in est.components]
    return out


def test_chain_reads_a_line_as_a_reader_would() -> None:
    line = (
        "2 layers × 4 KV heads × (8 + 8) × 2 B = 256 B per token × 10 tokens (window 11 − 1)"
        " = 2,560 B (2.50 KiB)"
    )
    assert chain(line) == [(2, 256), (256, 2560), (2560, 2560)]
    assert chain("cache: 3 × 5 = 15 B; 7 of them elsewhere") == [(3, 15), (15, 15)]
    assert chain("a: max(1 + 2, 4) = 4 B") == [(1, 4), (4, 4)]


def test_gqa_kv_cache_shows_layers_heads_dims_and_tokens() -> None:
    """Llama-3.1-8B: 32 x 8 x (128 + 128) x 2 B = 131,072 B per token; x 8,192 x 4 = 4 GiB."""
    f = formulas("meta-llama__Llama-3.1-8B-Instruct", context=8192, batch=4)
    assert f["kv_cache"].lines == (
        "32 layers × 8 KV heads × (128 + 128) × 2 B = 131,072 B per token × 8,192 tokens "
        "(the whole context) × 4 sequences = 4,294,967,296 B (4.00 GiB)",
    )
    assert f["weights"].lines[0].startswith("8,030,261,248 parameters × 16 bits / 8 = ")
    for formula in f.values():
        check(formula)


def test_mla_kv_cache_is_the_latent() -> None:
    """DeepSeek-V3 on vLLM: 61 x (kv_lora_rank 512 + rope 64) x 2 B = 70,272 B per token;
    the fp8 checkpoint's block linears at 8 bits, and the RoPE cache vLLM counts as weights."""
    f = formulas("deepseek-ai__DeepSeek-V3", engine="vllm", context=8192)
    assert (
        f["kv_cache"]
        .lines[0]
        .startswith("61 layers × latent (512 + 64) × 2 B = 70,272 B per token × 8,192 tokens")
    )
    assert "block linear weights × 8 bits / 8" in f["weights"].lines[0]
    assert "256 experts of each MoE layer, 8 active per token" in f["weights"].lines[0]
    assert f["weights"].lines[1].startswith("RoPE cos/sin cache: 163,840 positions × 64")
    for formula in f.values():
        check(formula)


def test_mla_without_the_latent_caches_per_head_keys_and_values() -> None:
    """TGI caches MLA's decompressed K/V: 128 heads x (192 + 128) per layer."""
    f = formulas("deepseek-ai__DeepSeek-V3", engine="tgi", context=4096)
    assert f["kv_cache"].lines[0].startswith("61 layers × 128 heads × (192 + 128) × 2 B")
    check(f["kv_cache"])


@pytest.mark.parametrize(
    ("engine", "sliding"),
    [
        (
            "transformers",
            "52 sliding layers × 16 KV heads × (128 + 128) × 2 B = 425,984 B per "
            "token × 1,023 tokens (window 1,024 − 1)",
        ),
        (
            "vllm",
            "52 sliding layers × 16 KV heads × (128 + 128) × 2 B = 425,984 B per token × "
            "9,216 tokens (window 1,024 − 1 + 8,192 batched, rounded up to blocks of 16)",
        ),
    ],
)
def test_sliding_layers_keep_their_window(engine: str, sliding: str) -> None:
    """Gemma 3 27B: 52 local layers of window 1,024 and 10 global layers."""
    f = formulas(
        "google__gemma-3-27b-it", engine=engine, context=32768, max_num_batched_tokens=8192
    )
    assert f["kv_cache"].lines[0].startswith(sliding)
    assert f["kv_cache"].lines[1].startswith("10 layers × 16 KV heads × (128 + 128) × 2 B")
    check(f["kv_cache"])


def test_llama_cpp_sliding_cells() -> None:
    """llama.cpp's SWA cache: pad(window 1,024 + ubatch 512, 256) = 1,536 cells."""
    f = formulas("google__gemma-3-4b-it", engine="llama.cpp", context=8192)
    assert (
        "× 1,536 tokens (cells: window 1,024 + ubatch 512, padded to 256)"
        in (f["kv_cache"].lines[0])
    )
    assert f["activations"].lines[-1].startswith("the graph reuses buffers: max(")
    for formula in f.values():
        check(formula)


def test_hybrid_shows_attention_layers_and_the_recurrent_state() -> None:
    """Qwen3.5-9B: 8 attention layers cache K/V; 24 gated DeltaNet layers keep a conv window
    (8,192 channels x 3 x 2 B) and a 524,288-value fp32 state per sequence."""
    f = formulas("Qwen__Qwen3.5-9B", engine="vllm", context=8192, batch=2)
    kv = f["kv_cache"].lines
    assert kv[0].startswith("8 layers × 4 KV heads × (256 + 256) × 2 B = 32,768 B per token")
    assert kv[1] == (
        "24 gated DeltaNet layers × (8,192 conv channels × 3 × 2 B + 524,288 state values × 4 B)"
        " = 51,511,296 B per sequence × 2 sequences = 103,022,592 B (98.25 MiB)"
    )
    for formula in f.values():
        check(formula)


def test_quantized_and_gguf_weights_show_their_parts() -> None:
    awq = formulas("meta-llama__Llama-3.1-8B-Instruct", precision="awq-int4")["weights"]
    assert awq.lines[0].startswith("6,979,321,856 block linear weights × 4.15625 bits / 8")
    gguf = formulas("mistralai__Mixtral-8x7B-v0.1", engine="llama.cpp", precision="Q4_K_M")
    assert gguf["weights"].lines[0].startswith("Q4_K 38,248,906,752 × 4.5 + Q6_K ")
    assert gguf["weights"].lines[1].startswith("token embeddings kept on the CPU: −")
    check(awq)
    check(gguf["weights"])


@pytest.mark.parametrize(
    "engine", ["generic", "transformers", "vllm", "sglang", "tgi", "llama.cpp"]
)
@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.json")), ids=lambda p: p.stem)
def test_every_fixture_multiplies_out(path: Path, engine: str) -> None:
    est = estimate(load_config(path.stem), EstimateOptions(engine=engine, context=5000, batch=3))
    for formula in explain(est):
        check(formula)

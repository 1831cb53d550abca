"""Ollama's launch verdict: it places layers by its own estimate (llm/memory.go), loads what
does not fit the GPU into system RAM, and refuses only when that part exceeds the RAM, in its
own words (llm/server.go NewLlamaServer: "model requires more system memory (X) than is
available (Y)", sizes by format.HumanBytes2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from estimator import EstimateOptions
from estimator.estimate import estimate_spec, prepare
from estimator.launch import LaunchVerdict, fit_with_launch, launch_verdict
from estimator.launch_judges import human_bytes2
from estimator.placement import Placement

CONFIGS = Path(__file__).resolve().parents[1] / "fixtures" / "configs"
GIB = 1024**3


def _run(name: str, context: int = 8192, **kw: object) -> tuple[LaunchVerdict, Placement]:
    """The verdict and the placement (estimator.placement) for the same options."""
    cfg = json.loads((CONFIGS / f"{name}.json").read_text())
    options = EstimateOptions(
        engine="ollama", precision="Q4_K_M", context=context, **kw  # type: ignore[arg-type]
    )
    spec, counts = prepare(cfg, options)
    verdict = launch_verdict(spec, counts, options, model_id=name.replace("__", "/"))
    placed = estimate_spec(spec, counts, options).placement
    assert verdict is not None and placed is not None
    return verdict, placed


def test_human_bytes2_is_ollamas_format() -> None:
    """format/bytes.go HumanBytes2: "%.1f GiB" / "%.1f MiB" / "%.1f KiB" / "%d B"."""
    assert human_bytes2(1548361728) == "1.4 GiB"
    assert human_bytes2(16 * GIB) == "16.0 GiB"
    assert human_bytes2(512 * 1024**2) == "512.0 MiB"
    assert human_bytes2(1536) == "1.5 KiB" and human_bytes2(1000) == "1000 B"


def test_a_model_that_fits_the_gpu() -> None:
    """Llama-3.1-8B Q4_K_M at 8k on a 12 GB RTX 3060: all 33 layers (32 + output) on the GPU.
    The assumption is Ollama's placement, never transformers' generate()."""
    v, placed = _run("meta-llama__Llama-3.1-8B", gpu="rtx3060")
    assert placed is not None and placed.on_gpus and placed.gpu_layers == 33
    assert v.starts and v.problems == () and v.warnings == ()
    assert v.summary == "Ollama will start: all 33 layers on the GPU"
    assert len(v.assumptions) == 1 and "llm/memory.go EstimateGPULayers" in v.assumptions[0]
    assert "transformers" not in v.assumptions[0] and "device_map" not in v.assumptions[0]
    assert v.command is None and v.fixes == ()


def test_a_model_that_spills_to_system_ram_starts() -> None:
    """On a 6 GB RTX 2060, Ollama's estimate keeps 27 of 33 layers on the GPU and loads the
    other 5 layers and the output (1.44 GiB) into RAM: it starts, slower, and does not say
    "CUDA out of memory" (the old verdict, from transformers' rules)."""
    v, placed = _run("meta-llama__Llama-3.1-8B", gpu="rtx2060")
    assert placed.fits is None and placed.gpu_layers == 27
    assert placed.cpu.used_bytes == 1548361728
    assert v.starts and v.problems == ()
    assert v.summary == "Ollama will start: 27/33 layers on the GPU, 1.4 GiB in system RAM (slower)"
    assert v.warnings == (
        "Ollama loads 1.4 GiB into system RAM: give the RAM (--ram) to check that it is free",
    )
    enough, _ = _run("meta-llama__Llama-3.1-8B", gpu="rtx2060", ram_bytes=4 * GIB)
    assert enough.starts and enough.warnings == () and enough.summary == v.summary
    # the fit line does not contradict it: the GPU alone is short, Ollama starts anyway
    said = fit_with_launch("does NOT fit", False, v.to_dict(), 1)
    assert said.startswith("does NOT fit on the GPU alone; Ollama starts")


def test_a_model_that_does_not_fit_the_ram_is_refused_in_ollamas_words() -> None:
    """With 1 GiB of RAM the 1.44 GiB that leaves the GPU has nowhere to go: NewLlamaServer
    refuses. The fix is a shorter num_ctx (the longest context whose placement fits, a
    multiple of 256), which re-judged starts."""
    v, placed = _run("meta-llama__Llama-3.1-8B", gpu="rtx2060", ram_bytes=GIB)
    assert placed.fits is False
    assert not v.starts and [p.code for p in v.problems] == ["system_memory"]
    assert v.problems[0].message == (
        "model requires more system memory (1.4 GiB) than is available (1.0 GiB)"
    )
    assert v.max_context == placed.max_context == 5120
    assert [(f.change, f.flags) for f in v.fixes] == [
        ("shorten the context to 5,120 tokens", ("num_ctx", "5120"))
    ]
    assert v.fixes[0].options == (("context", 5120),)
    shorter, placed = _run("meta-llama__Llama-3.1-8B", 5120, gpu="rtx2060", ram_bytes=GIB)
    assert shorter.starts and placed.fits is True
    assert v.fixes[0].result == "starts: 1.00 request of 5,120 tokens at once"


def test_on_a_mac_ollama_skips_the_ram_check() -> None:
    """llm/server.go checks free RAM only when runtime.GOOS != "darwin": on an 8 GB M1 the
    70B model's 39 GiB in RAM draws a swap warning, not a refusal."""
    v, placed = _run("meta-llama__Llama-3.1-70B-Instruct", gpu="m1-8gb")
    assert placed.fits is False
    assert v.starts and v.problems == ()
    assert v.summary.startswith("Ollama will start: ") and "39.0 GiB in system RAM" in v.summary
    assert any("on macOS Ollama does not check free memory" in w for w in v.warnings)


@pytest.mark.parametrize(("context", "warned"), [(40960, False), (65536, True)])
def test_a_context_past_the_trained_one_is_clamped(context: int, warned: bool) -> None:
    """llm/server.go: num_ctx above the GGUF's context_length is clamped to it, with
    "requested context size too large for model"."""
    v, _ = _run("Qwen__Qwen3-8B", context, gpu="h100-80gb")
    clamp = [w for w in v.warnings if w.startswith("requested context size too large")]
    assert bool(clamp) is warned
    if warned:
        assert clamp[0] == (
            "requested context size too large for model (num_ctx=65536, n_ctx_train=40960): "
            "Ollama clamps num_ctx to 40,960"
        )


def test_offload_none_forces_every_layer_onto_the_gpu() -> None:
    """--offload none (num_gpu = every layer) where Ollama's estimate fits 27 of 33: the
    runner cannot allocate the rest on the GPU, a refusal rather than a spill to RAM."""
    v, placed = _run("meta-llama__Llama-3.1-8B", gpu="rtx2060", offload="none")
    assert placed.fits is False and placed.gpu_layers == 27
    assert not v.starts and [p.code for p in v.problems] == ["buffer_alloc"]
    assert v.problems[0].message == (
        "num_gpu 33 (--offload none) but Ollama's estimate fits 27 layers on the GPU: the "
        "runner's allocation fails (cudaMalloc failed: out of memory)"
    )

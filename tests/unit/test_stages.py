"""Each stage of a breakdown on its own (estimator.stages, estimator.parallel, estimator.fit).

Figures are worked out from the model's structure: Llama-3.1-8B caches 32 layers x 8 KV
heads x (128 + 128) values per token, 131,072 bytes in bf16 (the transformers golden).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from estimator.breakdown import breakdown, hardware_devices, prepare
from estimator.engines import ENGINE_PROFILES
from estimator.errors import OptionError
from estimator.fit import EnginePool, fit_stage, pool_stage
from estimator.gpus import GPUS
from estimator.options import EstimateOptions
from estimator.parallel import Footprint, parallel_plan
from estimator.stages import (
    activations_stage,
    kv_stage,
    overhead_stage,
    setup_stage,
    weights_stage,
)
from estimator.weights import estimate_weights
from tests.conftest import ROOT, load_config

GIB = 1 << 30


def _run(name: str, **kw: Any) -> Any:
    options = EstimateOptions(**kw)
    spec, counts = prepare(load_config(name), options)
    profile = ENGINE_PROFILES[options.engine]
    stored = estimate_weights(spec, counts, options.precision, options.group_size, None)
    devices = hardware_devices(options)
    gpu = devices[0] if devices else None
    weights = weights_stage(spec, counts, options, profile, stored, gpu)
    warnings: list[str] = []
    setup = setup_stage(spec, options, profile, weights, devices, gpu, None, warnings)
    return spec, counts, options, stored, weights, setup, warnings


LLAMA = "meta-llama__Llama-3.1-8B-Instruct"


def test_weights_stage_adds_the_rope_cache_and_moves_the_embedding_off_the_gpu() -> None:
    _, _, _, stored, weights, _, _ = _run(LLAMA, engine="vllm")
    # vLLM registers a 131,072 x 128 cos/sin cache in the model dtype (rotary_embedding
    # get_rope), bf16 here.
    assert weights.rope_bytes == 131072 * 128 * 2
    assert weights.bytes == stored.bytes + weights.rope_bytes
    _, _, _, stored, weights, _, _ = _run(LLAMA, engine="llama.cpp", precision="Q8_0")
    # Untied: llama.cpp keeps token_embd in host memory, 128,256 x 4,096 Q8_0 values.
    assert weights.cpu_bytes == 128256 * 4096 * 34 // 32
    assert weights.bytes == stored.bytes - weights.cpu_bytes


def test_setup_stage_resolves_the_context_and_checks_the_request() -> None:
    *_, setup, warnings = _run(LLAMA)
    assert (setup.context, setup.kv_dtype, setup.element_bytes) == (4096, "bf16", 2)
    *_, setup, warnings = _run("openai-community__gpt2-large", context=4096)
    assert setup.context == 4096 and "learned positions" in warnings[0]
    with pytest.raises(OptionError, match="cannot exceed the context"):
        _run(LLAMA, context=100, generated_tokens=101)
    with pytest.raises(OptionError, match="must divide"):
        _run(LLAMA, kv_heads=5)


def test_kv_stage_is_tokens_times_bytes_per_token() -> None:
    spec, _, options, _, _, setup, warnings = _run(LLAMA, context=1024, batch=3)
    kv = kv_stage(spec, options, setup, warnings)
    assert kv.bytes_per_token == 32 * 8 * (128 + 128) * 2 == 131072
    assert kv.bytes == 3 * 1024 * 131072
    spec, _, options, _, _, setup, warnings = _run("google__gemma-2-9b-it", swa_full=True)
    kv_stage(spec, options, setup, warnings)
    assert warnings == ["a full-size sliding-window cache (swa_full) is a llama.cpp option"]


def test_activations_and_overhead_stages_follow_the_engine() -> None:
    spec, _, options, stored, _, setup, warnings = _run(LLAMA, engine="vllm")
    act = activations_stage(spec, options, setup, stored.precision.key, warnings)
    assert act.vllm_profile is not None and act.estimate.bytes == act.vllm_profile.peak
    spec, _, options, stored, _, setup, warnings = _run(LLAMA, flash_attention=False)
    act = activations_stage(spec, options, setup, stored.precision.key, warnings)
    assert act.vllm_profile is None and act.estimate.attention_scores_bytes > 0
    overhead = overhead_stage(options, setup)
    assert overhead.bytes == ENGINE_PROFILES["generic"].cuda_context_bytes
    assert overhead.non_torch == 0


def test_parallel_plan_splits_weights_kv_and_activations() -> None:
    spec, counts, options, *_ = _run(LLAMA, gpus=2, tensor_parallel=2)
    footprint = Footprint(
        weights=16 * GIB,
        replicated_weights=0,
        kv_attention=8 * GIB,
        kv_state=0,
        activations=2 * GIB,
        logits=GIB,
        overhead=GIB // 2,
    )
    plan = parallel_plan(spec, counts, options, footprint, [])
    # 8 KV heads over 2 ranks: each holds half the cache; logits and overhead stay whole.
    assert plan.kv_per_gpu_bytes == 4 * GIB
    assert plan.weights_per_gpu_bytes == 8 * GIB
    assert plan.per_gpu_bytes == 8 * GIB + 4 * GIB + GIB // 2 + GIB + GIB // 2
    ds_spec, ds_counts, *_ = _run("deepseek-ai__DeepSeek-V3", gpus=8, tensor_parallel=8)
    mla = parallel_plan(ds_spec, ds_counts, options.with_(gpus=8, tensor_parallel=8), footprint, [])
    assert mla.kv_per_gpu_bytes == 8 * GIB and "MLA latent" in mla.notes[0]


def test_pool_and_fit_stages_reserve_the_engine_share() -> None:
    spec, counts, options, _, _, setup, warnings = _run(LLAMA, engine="sglang", gpu="h100-80gb")
    est = breakdown(spec, counts, options)
    kv = kv_stage(spec, options, setup, warnings)
    pool = pool_stage(
        spec, options, setup, est.parallel, kv, overhead_stage(options, setup), warnings
    )
    assert pool.reserved == int(GPUS["h100-80gb"].memory_bytes * 0.9)
    assert pool.kv_capacity is not None and pool.kv_capacity > 100_000
    fit = fit_stage(options, setup, est.parallel, pool)
    assert fit is not None and fit.usable_bytes == pool.reserved and fit.fits
    no_gpu = _run(LLAMA)[5]
    assert fit_stage(options, no_gpu, est.parallel, EnginePool()) is None


def _imports(module: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_planning_and_the_stages_never_import_estimate() -> None:
    """estimate builds on breakdown, planning and hardware; none of them imports it back."""
    package = Path(ROOT, "estimator")
    seen, todo = set(), ["planning", "breakdown", "hardware"]
    while todo:
        name = todo.pop()
        if name in seen or not (package / f"{name}.py").exists():
            continue
        seen.add(name)
        todo.extend(_imports(package / f"{name}.py"))
    assert "estimate" not in seen and {"stages", "fit", "parallel"} <= seen

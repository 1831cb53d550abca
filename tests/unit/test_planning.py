"""Questions asked of many estimates (estimator/planning.py), answered against the estimates
themselves: the recommended count is the smallest that fits, at 1, 2 and many GPUs; the
solvers return the largest value that fits; sweeps and rankings hold what they say."""

from __future__ import annotations

import itertools
import json
import math

import pytest

from estimator import (
    EstimateOptions,
    OptionError,
    compare_precisions,
    estimate,
    max_batch,
    max_context,
    rank_gpus,
    sweep,
)
from estimator.gpus import GPUS
from estimator.options import MAX_CONTEXT
from estimator.precision import PRECISIONS
from tests.conftest import GOLDEN, load_config

GIB = 1024**3
LLAMA_8B = load_config("meta-llama__Llama-3.1-8B")
LLAMA_70B = load_config("meta-llama__Llama-3.1-70B-Instruct")
DEEPSEEK = load_config("deepseek-ai__DeepSeek-V3")


def _fits(config: dict, options: EstimateOptions, count: int, tp: int, pp: int = 1) -> bool:
    est = estimate(config, options.with_(gpus=count, tensor_parallel=tp, pipeline_parallel=pp))
    assert est.fit is not None
    return est.fit.fits


def test_one_gpu_is_recommended_when_one_fits() -> None:
    """Llama-3.1-8B bf16 at 4096 tokens (about 17 GiB) fits one H100: one GPU, TP=1."""
    options = EstimateOptions(precision="bf16", context=4096, gpu="h100-80gb")
    est = estimate(LLAMA_8B, options)
    assert est.fit is not None and est.fit.fits
    rec = est.recommendation
    assert rec is not None and (rec.count, rec.tensor_parallel) == (1, 1)
    per = est.per_gpu_bytes / GIB
    usable = est.fit.usable_bytes / GIB
    expected = f"1 x NVIDIA H100 80GB (TP=1): {per:.1f} GiB per GPU of {usable:.1f} GiB usable"
    assert rec.text == expected


def test_one_gpu_is_recommended_even_when_more_were_asked_for() -> None:
    """The recommendation answers "how few", whatever --gpus says."""
    options = EstimateOptions(precision="bf16", context=4096, gpu="h100-80gb", gpus=4)
    rec = estimate(LLAMA_8B, options).recommendation
    assert rec is not None and rec.count == 1


def test_two_gpus_for_a_70b_model_in_bf16() -> None:
    """Llama-3.1-70B bf16: 131 GiB of weights need two H100s at TP=2 (one does not fit)."""
    options = EstimateOptions(precision="bf16", context=8192, gpu="h100-80gb")
    rec = estimate(LLAMA_70B, options).recommendation
    assert rec is not None and (rec.count, rec.tensor_parallel) == (2, 2)
    assert not _fits(LLAMA_70B, options, 1, 1)
    assert _fits(LLAMA_70B, options, 2, 2)
    assert rec.text.startswith("2 x NVIDIA H100 80GB (TP=2): ")


def test_many_gpus_for_deepseek_v3_in_bf16() -> None:
    """DeepSeek-V3 bf16 (1.25 TiB of weights) on H100s: the smallest count that fits, at its
    widest TP that divides the 128 heads; one GPU fewer, at its own widest TP, does not."""
    options = EstimateOptions(precision="bf16", context=4096, gpu="h100-80gb")
    rec = estimate(DEEPSEEK, options).recommendation
    assert rec is not None and rec.count is not None and rec.tensor_parallel is not None
    count, tp = rec.count, rec.tensor_parallel
    assert count > 8
    assert 2 * 671_026_404_352 / (count * 79.11 * GIB) < 0.9  # enough memory in total
    pp = count // tp
    assert tp * pp == count and 128 % tp == 0
    assert _fits(DEEPSEEK, options, count, tp, pp)
    smaller = count - 1
    widest = max(t for t in range(1, smaller + 1) if smaller % t == 0 and 128 % t == 0)
    assert not _fits(DEEPSEEK, options, smaller, widest, smaller // widest)
    layout = f"TP={tp}" + (f", PP={pp}" if pp > 1 else "")
    assert rec.text.startswith(f"{count} x NVIDIA H100 80GB ({layout}): ")


def test_odd_counts_use_pipeline_parallel_when_tp_cannot_divide_the_heads() -> None:
    """Llama-3.1-70B at fp16 with a 100k context on L40S: whatever count is found, TP
    divides the 64 heads and TP x PP is the count."""
    options = EstimateOptions(precision="bf16", context=100_000, gpu="l40s")
    rec = estimate(LLAMA_70B, options).recommendation
    assert rec is not None and rec.count is not None and rec.tensor_parallel is not None
    assert 64 % rec.tensor_parallel == 0 and rec.count % rec.tensor_parallel == 0
    pp = rec.count // rec.tensor_parallel
    assert _fits(LLAMA_70B, options, rec.count, rec.tensor_parallel, pp)


def test_nothing_fits_on_up_to_64_small_gpus() -> None:
    options = EstimateOptions(precision="fp32", context=4096, gpu="t4")
    rec = estimate(DEEPSEEK, options).recommendation
    assert rec is not None and rec.count is None and rec.tensor_parallel is None
    assert rec.text == "does not fit on up to 64 x NVIDIA T4 16GB"


def test_max_batch_is_the_largest_that_fits() -> None:
    options = EstimateOptions(precision="bf16", context=8192, gpu="l40s")
    best = max_batch(LLAMA_8B, options)
    assert best is not None and best > 1

    def fits(batch: int) -> bool:
        est = estimate(LLAMA_8B, options.with_(batch=batch))
        return est.fit is not None and est.fit.fits

    assert fits(best) and not fits(best + 1)


def test_max_batch_none_when_one_does_not_fit() -> None:
    options = EstimateOptions(precision="bf16", context=8192, gpu="t4")
    assert max_batch(LLAMA_70B, options) is None


def test_max_context_is_the_largest_that_fits() -> None:
    options = EstimateOptions(precision="bf16", batch=2, gpu="l40s")
    best = max_context(LLAMA_8B, options)
    assert best is not None and 1 < best < MAX_CONTEXT

    def fits(context: int) -> bool:
        est = estimate(LLAMA_8B, options.with_(context=context))
        return est.fit is not None and est.fit.fits

    assert fits(best) and not fits(best + 1)


def test_max_context_keeps_generated_tokens_within_the_context() -> None:
    options = EstimateOptions(precision="bf16", gpu="h100-80gb", generated_tokens=1_000_000)
    best = max_context(LLAMA_8B, options)
    assert best is not None and best < 1_000_000  # the solver clipped generated_tokens


def test_max_context_can_reach_the_ceiling() -> None:
    """Mamba (transformers' default config) keeps a fixed state and vLLM prefills in chunks
    of 8192 tokens, so nothing grows with the context: the solver returns its ceiling."""
    mamba = json.loads((GOLDEN / "defaults" / "mamba.json").read_text())["config"]
    options = EstimateOptions(engine="vllm", precision="bf16", gpu="h100-80gb")
    assert max_context(mamba, options) == MAX_CONTEXT
    assert max_batch(mamba, options.with_(context=4096)) is not None


def test_solvers_need_a_gpu() -> None:
    with pytest.raises(OptionError, match="choose a GPU"):
        max_batch(LLAMA_8B, EstimateOptions())
    with pytest.raises(OptionError, match="choose a GPU"):
        max_context(LLAMA_8B, EstimateOptions())


def test_context_sweep_covers_a_log_scale_to_twice_the_limit() -> None:
    """From min(128, context) to 2 x the model's 131072 positions, increasing, each point the
    estimate of its own context."""
    options = EstimateOptions(precision="bf16", context=8192, gpu="h100-80gb")
    points = sweep(LLAMA_8B, options, points=20)
    xs = [p.x for p in points]
    assert xs[0] == 128 and xs[-1] == 2 * 131072
    assert xs == sorted(set(xs)) and len(xs) == 20
    ratios = [b / a for a, b in itertools.pairwise(xs)]
    assert max(ratios) / min(ratios) < 1.1  # evenly spaced on a log scale
    for p in points[::5]:
        est = estimate(LLAMA_8B, options.with_(context=p.x))
        assert (p.total_bytes, p.per_gpu_bytes) == (est.total_bytes, est.per_gpu_bytes)
        assert p.fits == (est.fit is not None and est.fit.fits)
    assert points[0].fits is True and points[-1].fits is False


def test_batch_sweep_goes_to_four_times_the_batch() -> None:
    options = EstimateOptions(precision="bf16", context=4096, batch=100)
    points = sweep(LLAMA_8B, options, axis="batch", points=10)
    assert points[0].x == 1 and points[-1].x == 400
    assert all(p.fits is None for p in points)
    est = estimate(LLAMA_8B, options.with_(batch=points[3].x))
    assert points[3].total_bytes == est.total_bytes
    small = sweep(LLAMA_8B, options.with_(batch=2), axis="batch", points=10)
    assert small[-1].x == 256  # at least 256


def test_sweep_rejects_bad_axes_and_point_counts() -> None:
    with pytest.raises(OptionError, match="axis"):
        sweep(LLAMA_8B, axis="layers")
    with pytest.raises(OptionError, match="points"):
        sweep(LLAMA_8B, points=1)
    with pytest.raises(OptionError, match="points"):
        sweep(LLAMA_8B, points=1001)
    assert len(sweep(LLAMA_8B, points=2)) == 2
    assert len(sweep(LLAMA_8B, points=1000)) > 500


def test_compare_precisions_is_one_estimate_per_catalog_precision() -> None:
    options = EstimateOptions(context=4096)
    estimates = compare_precisions(LLAMA_8B, options)
    assert [e.precision for e in estimates] == list(PRECISIONS)
    bf16 = estimates[list(PRECISIONS).index("bf16")]
    assert bf16.weights_bytes == estimate(LLAMA_8B, options.with_(precision="bf16")).weights_bytes


def test_rank_gpus_orders_by_total_memory_bought() -> None:
    """DeepSeek-V3 in bf16 at 64 x 32k tokens: every catalog GPU with the count it needs, the
    fewest total gigabytes first, those that never fit (small cards) last; each count is the
    recommendation for these options."""
    options = EstimateOptions(precision="bf16", context=32768, batch=64)
    ranked = rank_gpus(DEEPSEEK, options)
    assert len(ranked) == len(GPUS)
    costs = [r.count * GPUS[r.gpu].memory_bytes for r in ranked if r.count is not None]
    assert costs == sorted(costs)
    never = [r for r in ranked if r.count is None]
    assert never and ranked[-len(never):] == never  # those that never fit come last
    for r in ranked[:3]:
        best = estimate(DEEPSEEK, options.with_(gpu=r.gpu)).recommendation
        assert best is not None and best.count == r.count


def test_layouts_keep_pipeline_stages_within_the_layers() -> None:
    """TP must divide the heads; PP may not exceed the layer count."""
    from estimator.planning import _layouts

    assert _layouts(4, 32, 80) == [(4, 1), (2, 2), (1, 4)]
    assert _layouts(2, 3, 1) == []  # TP 2 does not divide 3 heads; PP 2 > 1 layer
    assert _layouts(3, 0, 0) == [(3, 1)]  # no heads known: any TP; no layers: no PP
    assert _layouts(6, 32, 2) == []  # TP 6 and 3 miss 32 heads; PP 3 or 6 > 2 layers


def test_log_points_are_whole_and_bounded() -> None:
    from estimator.planning import _log_points

    assert _log_points(1, 1, 10) == [1]
    assert _log_points(5, 3, 10) == [5]
    values = _log_points(1, 1000, 4)
    assert values == [1, 10, 100, 1000]
    assert all(math.isfinite(v) for v in values)

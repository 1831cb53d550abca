"""Properties that must hold for every model and setting (hypothesis)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from estimator import ENGINES, GPUS, KV_DTYPES, EstimateOptions, EstimatorError, estimate
from estimator.precision import PRECISIONS
from estimator.spec.registry import FAMILIES
from tests.conftest import CONFIGS, GOLDEN
from tests.fuzz.mutations import INTERESTING_KEYS, mutate, random_metadata, violations

CONFIG_FILES = sorted(CONFIGS.glob("*.json"))
# Hub fixtures plus transformers' default configs of the families without one (goldens).
CONFIG_DATA = [json.loads(p.read_text()) for p in CONFIG_FILES] + [
    json.loads(p.read_text())["config"] for p in sorted((GOLDEN / "defaults").glob("*.json"))
]
configs = st.sampled_from(CONFIG_DATA)
engines = st.sampled_from(ENGINES)
common = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@common
@given(
    configs,
    engines,
    st.integers(1, 512),
    st.integers(1, 512),
    st.integers(1, 200_000),
    st.integers(1, 200_000),
)
def test_memory_never_decreases_with_batch_or_context(
    cfg: dict[str, Any], engine: str, b1: int, b2: int, c1: int, c2: int
) -> None:
    small_b, big_b = sorted((b1, b2))
    small_c, big_c = sorted((c1, c2))
    base = EstimateOptions(engine=engine)
    a = estimate(cfg, base.with_(batch=small_b, context=small_c))
    b = estimate(cfg, base.with_(batch=big_b, context=small_c))
    c = estimate(cfg, base.with_(batch=small_b, context=big_c))
    assert b.total_bytes >= a.total_bytes
    assert c.total_bytes >= a.total_bytes
    assert b.kv_cache_bytes >= a.kv_cache_bytes and c.kv_cache_bytes >= a.kv_cache_bytes


_FLOAT_ORDER = ["int4", "fp8", "bf16", "fp32"]
_GGUF_ORDER = ["Q2_K", "Q3_K_M", "Q4_0", "Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0"]


def _rows_fit_k_quants(cfg: dict[str, Any]) -> bool:
    """llama.cpp falls back from K-quants to 32-blocks when a row is not a multiple of 256
    (gpt-oss: 2880), so a lower-bit K-quant file can be larger there: exclude those."""
    text = cfg.get("text_config", cfg)
    widths = [
        text.get("hidden_size"),
        text.get("intermediate_size"),
        text.get("moe_intermediate_size"),
    ]
    return all(w % 256 == 0 for w in widths if isinstance(w, int))


@common
@given(configs, st.sampled_from([_FLOAT_ORDER, _GGUF_ORDER]))
def test_weights_grow_with_precision_bits(cfg: dict[str, Any], order: list[str]) -> None:
    if order is _GGUF_ORDER and not _rows_fit_k_quants(cfg):
        order = ["Q4_0", "Q8_0"]
    sizes = [estimate(cfg, EstimateOptions(precision=p)).weights_bytes for p in order]
    assert sizes == sorted(sizes)


_KEYS = [
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "intermediate_size",
    "vocab_size",
    "head_dim",
    "sliding_window",
    "layer_types",
    "num_local_experts",
    "num_experts_per_tok",
    "kv_lora_rank",
    "text_config",
    "quantization_config",
    "model_type",
    "max_position_embeddings",
    "tie_word_embeddings",
    "sliding_window_pattern",
    "partial_rotary_factor",
    "vision_config",
    "first_k_dense_replace",
    "linear_num_value_heads",
    "mlp_only_layers",
    "n_shared_experts",
    "cross_attention_layers",
    "layers_block_type",
    "hybrid_override_pattern",
    "attn_layer_indices",
    "moe_layers",
    "attention_head_dim",
]
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**7),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.lists(st.integers(0, 3), max_size=4),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


@settings(max_examples=400, deadline=None)
@given(
    configs,
    st.dictionaries(st.sampled_from(_KEYS), _values, max_size=4),
    st.lists(st.sampled_from(_KEYS), max_size=3),
    st.sampled_from(list(PRECISIONS)),
    engines,
)
def test_mutated_configs_only_raise_estimator_errors(
    cfg: dict[str, Any], changes: dict[str, Any], removed: list[str], precision: str, engine: str
) -> None:
    mutated = {k: v for k, v in cfg.items() if k not in removed}
    mutated.update(changes)
    try:
        est = estimate(
            mutated, EstimateOptions(precision=precision, engine=engine, gpu="h100-80gb")
        )
    except EstimatorError:
        return
    assert violations(est) == []


_MODEL_TYPES = [*sorted(FAMILIES), "brand_new_arch", ""]  # FAMILIES lists bert, t5 too
_KEY_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 10**6),
    st.sampled_from([0, 1, 2, 8, 64, 128, 4096, 14336, 32000, 131072]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.one_of(st.integers(-1, 64), st.sampled_from(["attention", "mamba",
                                                              "sliding_attention",
                                                              "linear_attention", "M", "*"])),
             max_size=6),
)
#: Configs of the shape the Hub serves: a model_type the estimator knows (or one it must
#: refuse), the standard keys with plausible or hostile values, sometimes nested text /
#: vision configs and a quantization_config.
_PLAUSIBLE = {
    "hidden_size": st.sampled_from([64, 256, 2048, 4096, 5120]),
    "num_hidden_layers": st.integers(1, 8),
    "num_attention_heads": st.sampled_from([1, 4, 8, 32]),
    "vocab_size": st.sampled_from([1000, 32000, 128256]),
    "intermediate_size": st.sampled_from([128, 1024, 14336]),
}
_OPTIONAL = {key: _KEY_VALUES for key in _KEYS if key not in ("model_type", *_PLAUSIBLE)}


def _config(inner: st.SearchStrategy[Any] | None) -> st.SearchStrategy[dict[str, Any]]:
    required = {"model_type": st.sampled_from(_MODEL_TYPES)}
    required.update({key: st.one_of(value, value, value, _KEY_VALUES)  # mostly plausible
                     for key, value in _PLAUSIBLE.items()})
    optional: dict[str, st.SearchStrategy[Any]] = dict(_OPTIONAL)
    if inner is not None:
        optional.update(text_config=inner, vision_config=inner)
    optional["quantization_config"] = st.dictionaries(
        st.sampled_from(["quant_method", "bits", "group_size", "weight_block_size"]),
        st.one_of(st.sampled_from(["gptq", "awq", "fp8", "mxfp4", "bitsandbytes"]),
                  _KEY_VALUES), max_size=3)
    return st.fixed_dictionaries(required, optional=optional)


#: Configs of the shape the Hub serves: a model_type the estimator knows (or must refuse),
#: the standard keys mostly plausible, other keys plausible or hostile, sometimes nested
#: text / vision configs and a quantization_config.
_config_like = _config(_config(None))


@settings(max_examples=300, deadline=None)
@given(_config_like, st.sampled_from(list(PRECISIONS)), engines)
def test_random_configs_only_raise_estimator_errors(
    data: dict[str, Any], precision: str, engine: str
) -> None:
    """Whatever a config.json holds, the estimate is a clean EstimatorError or an estimate
    whose parts add up to its total."""
    try:
        est = estimate(data, EstimateOptions(precision=precision, engine=engine))
    except EstimatorError:
        return
    assert est.total_bytes == (
        est.weights_bytes + est.kv_cache_bytes + est.activation_bytes + est.overhead_bytes
    )
    assert min(est.weights_bytes, est.kv_cache_bytes, est.activation_bytes) >= 0
    assert violations(est) == []


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.recursive(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.text(max_size=6),
            st.floats(),
            st.sampled_from(["llama", "qwen2", "mixtral", "deepseek_v3", "gemma3", "mamba"]),
        ),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(
                st.one_of(st.sampled_from(INTERESTING_KEYS), st.text(max_size=6)),
                inner,
                max_size=8,
            ),
        ),
        max_leaves=30,
    )
)
def test_random_json_only_raises_estimator_errors(data: Any) -> None:
    """Any JSON at all (not an object, no model_type) is refused cleanly."""
    with contextlib.suppress(EstimatorError):
        assert violations(estimate(data)) == []


# -- invariants for any input -------------------------------------------------------------

options_st = st.builds(
    EstimateOptions,
    precision=st.sampled_from(["auto", *PRECISIONS]),
    kv_dtype=st.sampled_from(KV_DTYPES),
    engine=engines,
    batch=st.integers(1, 100_000),
    context=st.one_of(st.none(), st.integers(1, 10_000_000)),
    flash_attention=st.booleans(),
    paged_attention=st.one_of(st.none(), st.booleans()),
    gpu=st.one_of(st.none(), st.sampled_from(sorted(GPUS))),
    gpus=st.just(8),
    tensor_parallel=st.sampled_from([1, 2, 4, 8]),
    headroom=st.floats(0, 0.9),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs, options_st)
def test_every_figure_is_finite_non_negative_and_consistent(
    cfg: dict[str, Any], options: EstimateOptions
) -> None:
    """Every byte figure finite and >= 0, total >= weights, per-GPU <= total, active <= params,
    for every real config and any options the API accepts."""
    try:
        est = estimate(cfg, options)
    except EstimatorError:
        return  # e.g. a TP that does not divide the heads with --kv-heads, refused by name
    assert violations(est) == []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs, st.integers(0, 2**32), options_st)
def test_mutated_configs_and_metadata_keep_the_invariants(
    cfg: dict[str, Any], seed: int, options: EstimateOptions
) -> None:
    """Any mutation kind of tests/fuzz (deleted keys, wrong types, zero, negative, huge, NaN,
    garbage nested configs, damaged Hub metadata): the project's own error, or an estimate
    that keeps every invariant."""
    import random

    rng = random.Random(seed)
    mutated, _ = mutate(cfg, rng)
    try:
        meta = random_metadata(rng) if rng.random() < 0.4 else None
        est = estimate(mutated, options, meta)
    except EstimatorError:
        return
    assert violations(est) == []

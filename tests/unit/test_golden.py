"""The estimator against transformers itself (tests/golden/*.json, made by make_golden.py).

For every fixture config: the parameter count and the vision-tower parameters exactly, and
the KV bytes per token (and fixed recurrent state) that transformers' cache really stores,
exact to the byte. A fixture without a golden fails: run make_golden.py for it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from estimator import EstimateOptions, estimate
from tests.conftest import CONFIGS, GOLDEN


def _goldens() -> list[Path]:
    return sorted(p for p in GOLDEN.glob("*.json") if (CONFIGS / p.name).exists())


GOLDENS = [p for p in _goldens() if "skipped" not in json.loads(p.read_text())]
FIXTURES = sorted(CONFIGS.glob("*.json"))


@pytest.mark.parametrize("config", FIXTURES, ids=lambda p: p.stem)
def test_every_fixture_config_has_a_golden(config: Path) -> None:
    """Each verbatim config is checked against transformers: a missing golden, or one that
    transformers could not build, fails (make_golden.py writes it)."""
    golden = GOLDEN / config.name
    assert golden.is_file(), f"no golden for {config.name}: run tests/golden/make_golden.py"
    data = json.loads(golden.read_text())
    assert "skipped" not in data, f"{config.name}: golden skipped ({data.get('skipped')})"
    assert isinstance(data["params_total"], int) and data["params_total"] > 0
    assert isinstance(data["kv_cache"]["bytes_per_token_total"], int)


def _load(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    return json.loads((CONFIGS / path.name).read_text()), json.loads(path.read_text())


def test_there_are_goldens_for_many_families() -> None:
    types = {json.loads(p.read_text()).get("model_type") for p in GOLDENS}
    assert len(GOLDENS) >= 15
    assert len(types) >= 6, types


@pytest.mark.parametrize("path", GOLDENS, ids=lambda p: p.stem)
def test_parameter_count_matches_transformers(path: Path) -> None:
    config, golden = _load(path)
    est = estimate(config, EstimateOptions(engine="transformers", precision="bf16"))
    expected = golden["params_total"]
    assert est.params == expected
    assert est.model.vision_params == golden.get("params_vision", 0) + golden.get(
        "params_projector", 0
    )


@pytest.mark.parametrize("path", GOLDENS, ids=lambda p: p.stem)
def test_kv_bytes_per_token_match_transformers_cache(path: Path) -> None:
    config, golden = _load(path)
    cache = golden["kv_cache"]
    measured_layers = cache.get("cache_layers_measured") or cache.get("num_hidden_layers")
    options = EstimateOptions(engine="transformers", precision="bf16", kv_dtype="bf16")
    if measured_layers and measured_layers != cache.get("num_hidden_layers"):
        options = options.with_(layers=measured_layers)
    est = estimate(config, options)
    assert est.kv_bytes_per_token == cache["bytes_per_token_total"]


@pytest.mark.parametrize("path", GOLDENS, ids=lambda p: p.stem)
def test_recurrent_state_matches_transformers_cache(path: Path) -> None:
    """The fixed state per sequence (0 for pure attention models) as transformers holds it."""
    config, golden = _load(path)
    est = estimate(config, EstimateOptions(engine="transformers", precision="bf16", batch=1))
    kv = next(c for c in est.components if c.name == "kv_cache")
    assert kv.inputs["state_bytes"] == golden["kv_cache"]["state_bytes_total"]


SLIDING = [p for p in GOLDENS if json.loads(p.read_text()).get("kv_cache_long")]


@pytest.mark.parametrize("path", SLIDING, ids=lambda p: p.stem)
def test_sliding_layers_keep_what_transformers_keeps(path: Path) -> None:
    config, golden = _load(path)
    long = golden["kv_cache_long"]
    length = long["L"]
    est = estimate(
        config, EstimateOptions(engine="transformers", precision="bf16", context=length, batch=1)
    )
    kv = next(c for c in est.components if c.name == "kv_cache")
    kept = {row["tokens_kept"] for row in long["per_layer"] if row["tokens_kept"] < length}
    assert kept, "the golden shows no capped layer"
    assert kv.inputs["sliding_tokens"] in kept
    stored = sum(_numel(shape) * 2 for row in long["per_layer"] for _, shape in row["tensors"])
    assert est.kv_cache_bytes == stored


def _numel(shape: list[int]) -> int:
    result = 1
    for dim in shape:
        result *= dim
    return result


DEFAULTS = sorted((GOLDEN / "defaults").glob("*.json"))


def test_default_config_goldens_cover_the_families_without_fixtures() -> None:
    types = {p.stem for p in DEFAULTS}
    assert {"jamba", "mamba", "mixtral", "gemma2", "gpt2", "llama4_text", "llava"} <= types


@pytest.mark.parametrize("path", DEFAULTS, ids=lambda p: p.stem)
def test_transformers_default_configs(path: Path) -> None:
    """transformers' own default config of each family (make_default_goldens.py): parameters,
    KV bytes per token and recurrent state, each exactly; every golden records its cache."""
    golden = json.loads(path.read_text())
    est = estimate(golden["config"], EstimateOptions(engine="transformers", precision="bf16"))
    assert est.params == golden["params_total"]
    assert golden["kv_bytes_per_token"] is not None, "golden without cache data"
    assert golden["state_bytes"] is not None, "golden without cache data"
    assert est.kv_bytes_per_token == golden["kv_bytes_per_token"]
    kv = next(c for c in est.components if c.name == "kv_cache")
    assert kv.inputs["state_bytes"] == golden["state_bytes"]

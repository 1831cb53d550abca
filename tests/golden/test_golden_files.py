"""Structural checks of the golden reference files (tests/golden/*.json).

These tests read only the JSON written by make_golden.py; they need neither torch nor
transformers.  They check that each file is well formed, not that the estimator agrees with it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CONFIGS = REPO / "tests" / "fixtures" / "configs"
GOLDEN_FILES = sorted(HERE.glob("*.json"))
LONG_FILES = [p for p in GOLDEN_FILES if "kv_cache_long" in json.loads(p.read_text())]

COMMON_KEYS = {"transformers_version", "torch_version", "config_file"}
BUILT_KEYS = {
    "model_class",
    "dtype",
    "params_total",
    "params_embedding",
    "params_lm_head_tied",
    "params_vision",
    "params_by_top_module",
    "kv_cache",
}
KV_KEYS = {"bytes_per_token_total", "state_bytes_total", "per_layer", "cache_layers_measured"}
LAYER_KEYS = {"layer", "kind", "tensors", "bytes_per_token", "state_bytes"}


def _load(path: Path) -> dict:
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def test_there_are_golden_files() -> None:
    assert GOLDEN_FILES, "no golden files: run tests/golden/make_golden.py"


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=_ids(GOLDEN_FILES))
def test_golden_file_structure(path: Path) -> None:
    g = _load(path)
    missing = COMMON_KEYS - g.keys()
    assert not missing, f"missing keys {missing}"
    assert g["config_file"] == f"tests/fixtures/configs/{path.name}"
    if "skipped" in g:
        assert isinstance(g["skipped"], str) and g["skipped"]
        return
    missing = BUILT_KEYS - g.keys()
    assert not missing, f"missing keys {missing}"
    assert g["dtype"] == "bfloat16"
    assert isinstance(g["params_total"], int) and g["params_total"] > 0
    assert 0 < g["params_embedding"] < g["params_total"]
    assert isinstance(g["params_lm_head_tied"], bool)
    assert 0 <= g["params_vision"] < g["params_total"]
    by_top = g["params_by_top_module"]
    assert isinstance(by_top, dict) and by_top
    assert all(isinstance(v, int) and v >= 0 for v in by_top.values())
    # top-level children partition the parameters (a tied lm_head is counted in both places)
    top_sum = sum(by_top.values())
    if g["params_lm_head_tied"]:
        assert top_sum in (g["params_total"], g["params_total"] + g["params_embedding"])
    else:
        assert top_sum == g["params_total"]


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=_ids(GOLDEN_FILES))
def test_golden_kv_cache_structure(path: Path) -> None:
    g = _load(path)
    if "skipped" in g:
        pytest.skip(g["skipped"][:80])
    kv = g["kv_cache"]
    assert "error" not in kv, kv.get("error")
    missing = KV_KEYS - kv.keys()
    assert not missing, f"missing kv keys {missing}"
    assert kv["bytes_per_token_total"] >= 0 and kv["state_bytes_total"] >= 0
    assert kv["bytes_per_token_total"] + kv["state_bytes_total"] > 0
    layers = kv["per_layer"]
    assert len(layers) == kv["cache_layers_measured"] > 0
    assert [e["layer"] for e in layers] == list(range(len(layers)))
    for e in layers:
        assert e.keys() >= LAYER_KEYS
        assert isinstance(e["kind"], str)
        assert e["bytes_per_token"] >= 0 and e["state_bytes"] >= 0
        for t in e["tensors"]:
            name, shape, dtype = t[0], t[1], t[2]
            assert isinstance(name, str) and isinstance(dtype, str)
            assert all(isinstance(d, int) and d >= 0 for d in shape)
    if kv["cache_layers_measured"] == g.get("num_hidden_layers", kv["cache_layers_measured"]):
        assert sum(e["bytes_per_token"] for e in layers) == pytest.approx(
            kv["bytes_per_token_total"]
        )
        assert sum(e["state_bytes"] for e in layers) == kv["state_bytes_total"]


@pytest.mark.parametrize("path", LONG_FILES, ids=_ids(LONG_FILES))
def test_golden_long_cache_structure(path: Path) -> None:
    g = _load(path)
    long = g["kv_cache_long"]
    if "skipped" in long:
        pytest.skip(long["skipped"])
    assert "error" not in long, long.get("error")
    assert long["L"] > max(g["windows"].values())
    assert len(long["per_layer"]) == g["kv_cache"]["cache_layers_measured"]
    for e in long["per_layer"]:
        kept = e["tokens_kept"]
        assert kept is None or 0 <= kept <= long["L"]
    # at least one layer kept fewer tokens than it was fed: the window is applied
    assert any(
        e["tokens_kept"] is not None and e["tokens_kept"] < long["L"] for e in long["per_layer"]
    )


def test_every_fixture_has_a_golden() -> None:
    """A fixture config without a golden fails (tests/unit/test_golden.py checks it too)."""
    fixtures = {p.stem for p in CONFIGS.glob("*.json")}
    goldens = {p.stem for p in GOLDEN_FILES}
    missing = sorted(fixtures - goldens)
    assert not missing, f"fixtures without a golden (run make_golden.py): {missing}"


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=_ids(GOLDEN_FILES))
def test_golden_has_its_fixture(path: Path) -> None:
    assert (CONFIGS / path.name).is_file(), f"stale golden: no fixture {path.name}"

"""The family registry (estimator.spec.registry): one entry per family, hooks where it differs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from estimator.spec import parse_config
from estimator.spec.family import Family
from estimator.spec.layers import gemma2_windows
from estimator.spec.registry import FAMILIES, family_of
from tests.conftest import ROOT, load_config


def test_adding_a_family_is_one_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    config = dict(load_config("meta-llama__Llama-3.1-8B-Instruct"))
    config.update(model_type="newfam", sliding_window=512)
    before = parse_config(config)
    assert not before.known_family
    assert [layer.window for layer in before.layers[:2]] == [512, 512]  # generic: every layer
    monkeypatch.setitem(FAMILIES, "newfam", Family(mlp_gated=False, window_pattern=gemma2_windows))
    after = parse_config(config)
    assert after.known_family and after.warnings == ()
    assert [layer.window for layer in after.layers[:4]] == [512, None, 512, None]
    assert after.mlp is not None and not after.mlp.gated


def test_the_qwen2_bias_rule_ignores_the_generic_keys() -> None:
    config = dict(load_config("Qwen__Qwen2.5-7B"))
    config.update(attention_bias=False, attention_out_bias=True)
    attention = parse_config(config).attention
    assert (attention.qkv_bias, attention.o_bias) == (True, False)


def test_text_variants_fall_back_to_their_family_without_its_defaults() -> None:
    assert family_of("gemma2_text").norms_per_layer_fn is FAMILIES["gemma2"].norms_per_layer_fn
    assert family_of("qwen2_text").defaults == {} and FAMILIES["qwen2"].defaults
    assert not family_of("qwen9_moe").known
    assert family_of("qwen9_moe").moe_layers is FAMILIES["qwen3_moe"].moe_layers
    assert family_of("nosuchfamily").moe_layers is None


def test_zamba2_and_jamba_hooks_are_gathered_in_one_module() -> None:
    for name in ("zamba2", "jamba", "falcon_h1", "nemotron_h", "bamba"):
        family = FAMILIES[name]
        hooks = [getattr(family, f.name) for f in dataclasses.fields(family)]
        modules = {h.__module__ for h in hooks if callable(h) and hasattr(h, "__module__")}
        assert "estimator.spec.hybrid" in modules, name


def test_no_spec_module_passes_400_lines() -> None:
    sizes = {
        p.name: len(p.read_text().splitlines()) for p in Path(ROOT, "estimator/spec").glob("*.py")
    }
    assert max(sizes.values()) <= 400, sizes

"""Engines are profiles: the list exists once, and the core, the launch verdict and the
command read fields, never names."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from estimator import ENGINES, EstimateOptions, estimate
from estimator.breakdown import prepare
from estimator.engines import ENGINE_PROFILES
from estimator.launch import launch_verdict
from tests.conftest import ROOT, load_config

#: Modules that size memory, judge the launch or write its command: an engine's behaviour
#: reaches them only through its profile.
CORE = (
    "activations",
    "breakdown",
    "commands",
    "components",
    "estimate",
    "explain",
    "fit",
    "hardware",
    "kv_cache",
    "launch",
    "launch_checks",
    "launch_fixes",
    "launch_judges",
    "layout",
    "parallel",
    "planning",
    "speed",
    "stages",
    "vllm_v1",
    "weights",
)


def test_the_engine_list_is_the_profiles() -> None:
    assert tuple(ENGINE_PROFILES) == ENGINES
    assert all(key == profile.key for key, profile in ENGINE_PROFILES.items())


def test_no_core_module_compares_engine_names() -> None:
    for name in CORE:
        tree = ast.parse(Path(ROOT, "estimator", f"{name}.py").read_text())
        names = [
            (node.lineno, node.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and node.value in ENGINE_PROFILES
        ]
        assert names == [], f"estimator/{name}.py names engines: {names}"


def test_adding_an_engine_is_one_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config("google__gemma-2-9b-it")
    vllm = ENGINE_PROFILES["vllm"]
    # An engine like vLLM that keeps only the window in its sliding layers, and spells the
    # context flag its own way.
    mine = dataclasses.replace(
        vllm,
        key="mine",
        label="Mine",
        window_keep="window",
        launch=dataclasses.replace(
            vllm.launch, program=("mine", "serve"), context="--ctx", revision="--rev"
        ),
    )
    monkeypatch.setitem(ENGINE_PROFILES, "mine", mine)
    options = EstimateOptions(engine="mine", context=8192, gpu="rtx4090")
    ours, theirs = estimate(config, options), estimate(config, options.with_(engine="vllm"))
    assert ours.kv_cache_bytes < theirs.kv_cache_bytes  # window, not window + chunk
    spec, counts = prepare(config, options)
    verdict = launch_verdict(spec, counts, options.with_(context=200_000), revision="v2")
    assert verdict is not None and verdict.label == "Mine"
    assert any("--ctx" in fix.flags for fix in verdict.fixes)
    # vLLM's checks, in vLLM's words, and the command in the profile's spelling.
    assert verdict.problems[0].code == "max_model_len"
    assert verdict.command is not None
    assert verdict.command.startswith("mine serve MODEL --rev v2 --ctx 200000")

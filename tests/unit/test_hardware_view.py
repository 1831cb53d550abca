"""The page's own-hardware side (site/hardware_view.py) through the worker's requests on
CPython: page keys in people's units become the library's options, errors name their
field, and the placement, speed and flags answered are the library's (issue 14)."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from estimator import GIB, EstimateOptions, estimate
from estimator.devices import DEVICES
from tests.conftest import ROOT, load_config

sys.path.insert(0, str(ROOT / "site"))

import hardware_view
import view
from test_page_runtime import LLAMA, call

CONFIG = load_config("meta-llama__Llama-3.1-8B")


@pytest.fixture(autouse=True)
def bundled(monkeypatch: pytest.MonkeyPatch) -> None:
    import runtime

    monkeypatch.setattr(runtime, "BUNDLED", {LLAMA: CONFIG})
    monkeypatch.setattr(runtime, "MODELS", {})


def compute(**changes: str) -> Any:
    key = call("load", model=LLAMA, revision="")["key"]
    return call("compute", key=key, state={**view.default_state(LLAMA), **changes}, step="main")


@pytest.mark.parametrize("text", ["64", "64GiB", "64 GB", "64g", "65536MiB"])
def test_ram_is_read_as_the_cli_reads_it(text: str) -> None:
    assert hardware_view.option_values({"ram": text})["ram_bytes"] == 64 * GIB


def test_mixed_gpus_and_ram_answer_the_library() -> None:
    answer = compute(engine="llama.cpp", precision="bf16", context="131072",
                     gpu="RTX 3090,rtx4060", ram="32")
    est = estimate(CONFIG, EstimateOptions(engine="llama.cpp", precision="bf16", context=131072,
                                           gpu="RTX 3090,rtx4060", ram_bytes=32 * GIB))
    placement = est.placement
    bars = json.loads(answer["attrs"]["hw-bars"]["data-bars"])
    rows = [*placement.devices, placement.cpu]
    assert [b["name"] for b in bars] == [r.name for r in rows]
    for bar, row in zip(bars, rows, strict=True):
        assert [p["bytes"] for p in bar["parts"]] == [row.weights_bytes, row.kv_bytes,
                                                      row.buffers_bytes]
        assert bar["memory_bytes"] == row.memory_bytes and bar["margin_bytes"] == row.margin_bytes
        assert bar["fits"] == row.fits
    assert bars[-1]["holds"].startswith(f"{placement.cpu.layers} layers")
    first = placement.devices[0].weights_bytes
    assert answer["rows"]["placement"][0][2] == f"{first / GIB:,.2f} GiB"
    assert answer["texts"]["hw-flags"] == " ".join(placement.flags)
    assert "-ts " in answer["texts"]["hw-flags"]
    speed = answer["texts"]["hw-speed"]
    assert f"{est.speed.decode_tokens_per_s:,.1f} tokens/s at batch 1" in speed
    assert est.speed.error in answer["texts"]["hw-speed-error"]
    assert answer["attrs"]["hw-results"]["data-fit"] == "yes"


def test_other_gpu_replaces_the_default_or_joins_a_list() -> None:
    default = view.UI_DEFAULTS["gpu"]
    alone = hardware_view.option_values({"gpu": default, "gpu_memory": "12"}, default)
    assert alone == {"gpu_memory_bytes": 12 * GIB, "gpu": "custom"}
    mixed = hardware_view.option_values({"gpu": "rtx3090", "gpu_memory": "12",
                                         "gpu_bandwidth": "360"}, default)
    assert mixed["gpu"] == "rtx3090,custom" and mixed["gpu_bandwidth_gbs"] == 360.0
    answer = compute(engine="llama.cpp", gpu="rtx3090,custom", gpu_memory="12",
                     gpu_bandwidth="360")
    names = [b["name"] for b in json.loads(answer["attrs"]["hw-bars"]["data-bars"])]
    assert names[:2] == [DEVICES["rtx3090"].name, "Custom GPU 12 GiB"]


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"ram": "lots"}, "ram", "not a memory size: 'lots'"),
    ({"gpu_memory": "-3"}, "gpu_memory", "not a memory size"),
    ({"gpu_bandwidth": "360"}, "gpu_memory", "a bandwidth goes with the other GPU's memory"),
    ({"gpu": "rtx3090,custom"}, "gpu_memory", "give the other GPU's memory"),
    ({"gpu": "rtx 4900"}, "gpu", "unknown GPU 'rtx 4900'"),
    ({"gpu": "m2 ultra"}, "gpu", "is ambiguous"),
])
def test_errors_name_their_field_in_the_pages_words(changes: dict[str, str], field: str,
                                                     words: str) -> None:
    error = compute(**changes)["error"]
    assert error["fields"] == [field] and words in error["message"]
    assert "--" not in error["message"]  # no CLI flags on the page


def test_hardware_keys_live_in_the_url() -> None:
    state = {**view.default_state(LLAMA), "gpu": "rtx3090,rtx4060", "ram": "64GiB"}
    query = view.query_from_state(state, LLAMA)
    assert "gpu=rtx3090%2Crtx4060" in query and "ram=64GiB" in query
    assert view.state_from_query(query, LLAMA) == state
    assert view.query_from_state(view.default_state(LLAMA), LLAMA) == ""


def test_device_search_lists_every_device_with_memory() -> None:
    options = hardware_view.datalist_html().count("<option ")
    assert options == sum(1 for d in DEVICES.values() if d.memory_bytes > 0) >= 180


def test_no_hardware_says_how_to_get_an_answer() -> None:
    answer = compute(gpu="")
    assert answer["attrs"]["hw-results"]["data-fit"] == "none"
    assert answer["rows"]["placement"] == [] and answer["texts"]["hw-flags"] == ""
    assert "My hardware" in answer["texts"]["hw-verdict"]

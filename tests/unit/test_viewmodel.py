"""The page's typed view model (site/viewmodel.py): what the worker sends is the fields a
step sets, in a fixed order; the build's merge of all steps keeps every part; every element
id it addresses is on the page."""

from __future__ import annotations

import re
import sys

import pytest

from tests.conftest import ROOT, load_config

sys.path.insert(0, str(ROOT / "site"))

import controls  # site/controls.py: the option controls build.py draws into the page
import view
from viewmodel import ViewModel


def test_to_json_sends_only_what_the_step_sets() -> None:
    compare = ViewModel(rows={"compare": [["BF16", "1.00 GiB"]]}, row_keys={"compare": ["bf16"]})
    assert compare.to_json() == {"rows": {"compare": [["BF16", "1.00 GiB"]]},
                                 "row_keys": {"compare": ["bf16"]}}
    # an empty list is sent: app.js clears the warnings the previous estimate showed
    main = ViewModel(texts={"total-gib": "1.00 GiB"}, warnings=[])
    assert main.to_json() == {"texts": {"total-gib": "1.00 GiB"}, "warnings": []}
    assert list(ViewModel(launch={}, texts={}, warnings=[], attrs={}).to_json()) == [
        "texts", "attrs", "warnings", "launch"]


def test_add_merges_parts_and_later_parts_win() -> None:
    main = ViewModel(texts={"a": "1", "b": "2"}, attrs={"fit": {"data-fit": "yes"}},
                     warnings=["w1"], launch={"engine": "vllm"}, breakdown=[{"key": "weights"}])
    chart = ViewModel(texts={"b": "3"}, attrs={"fit": {"data-caveat": ""}, "line": {"d": "M0"}})
    merged = ViewModel().add(main).add(chart)
    assert merged.texts == {"a": "1", "b": "3"}
    assert merged.attrs == {"fit": {"data-fit": "yes", "data-caveat": ""}, "line": {"d": "M0"}}
    assert merged.warnings == ["w1"] and merged.launch == {"engine": "vllm"}
    assert merged.breakdown == [{"key": "weights"}]
    assert (merged.rows, merged.row_keys) == ({}, {})
    assert main.attrs == {"fit": {"data-fit": "yes"}}  # the parts are left as they were
    assert merged.text("b") == "3" and merged.text("missing") == ""
    assert merged.attr("fit", "data-fit") == "yes" and merged.attr("nope", "x") == ""


@pytest.mark.parametrize("state", [
    {},
    {"engine": "llama.cpp", "gpu": "rtx4090,rtx3060", "precision": "Q4_K_M"},
    {"engine": "generic", "gpu": ""},
    {"engine": "sglang", "gpus": "4", "tensor_parallel": "2", "pipeline_parallel": "2"},
])
def test_every_id_the_view_model_addresses_is_on_the_page(state: dict[str, str]) -> None:
    """app.js writes by element id and skips ids the page lacks: a misspelt id would be a
    figure silently never shown. Every text slot of the template is filled, too."""
    page = controls.expand((ROOT / "site" / "index.html").read_text(encoding="utf-8"))
    ids = set(re.findall(r'\bid="([^"]+)"', page))
    full = view.default_state("m/x") | state
    vm = view.compute(load_config("Qwen__Qwen3-8B"), full, model_id="m/x")
    assert vm.texts and vm.attrs and vm.rows
    assert sorted(set(vm.texts) - ids) == []
    assert sorted(set(vm.attrs) - ids) == []
    assert sorted(f"rows-{key}" for key in vm.rows if f"rows-{key}" not in ids) == []
    slots = {s for s in re.findall(r"\{\{text:([^}]+)\}\}", page) if not s.startswith("state.")}
    assert sorted(slots - set(vm.texts)) == []

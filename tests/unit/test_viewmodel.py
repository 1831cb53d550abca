"""The page's typed view model (site/viewmodel.py): what the worker sends is the fields a
step sets, in a fixed order, and the build's merge of all steps keeps every part."""

from __future__ import annotations

import sys

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "site"))

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

"""The shipped evidence (estimator/data/confidence.json, site/accuracy-data.json) is the
validation run's, in people's words, and the bounds the page draws are the ones
test_validation.py holds."""

from __future__ import annotations

import json
import re

import pytest

from tests.validation import evidence
from tests.validation.test_validation import LOOSE_ACTIVATION, LOOSE_WEIGHTS

ROWS = evidence.page_rows()


def test_shipped_files_are_fresh() -> None:
    """A change to the estimator or the records changes what the product says about its
    accuracy: rerun `python tests/validation/evidence.py` and commit both files."""
    for path, text in evidence.render().items():
        assert path.exists(), f"{path.name} is missing: run python tests/validation/evidence.py"
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.name} is stale: run python tests/validation/evidence.py"
        )


def test_every_figure_has_a_human_name_and_every_gap_a_reason() -> None:
    for row in ROWS:
        assert "_" not in row["figure"], row["figure"]
        assert row["figure"][0].isupper()
        if row["status"] != "compared":
            assert row["reason"], row["record"]
    # Engines print GiB as "GB" and MiB as "MB": shown by their real names.
    units = {r["unit"] for r in ROWS}
    assert units <= {"GiB", "MiB", "MB", "bits per weight", "blocks", "cells", "tokens", "requests"}
    assert {r["unit"] for r in ROWS if r["record"] == "vllm-llama31-8b-3090-20k"} == {
        "GiB",
        "blocks",
    }


def test_engine_versions_come_from_the_records() -> None:
    records = {r["id"]: r for r in json.loads(evidence.RECORDS.read_text())}
    for row in ROWS:
        assert row["version"] == records[row["record"]]["engine_version"]
    table = json.loads(evidence.CONFIDENCE.read_text())
    vllm_kv = next(
        e
        for e in table["entries"]
        if (e["component"], e["engine"], e["family"]) == ("kv_cache", "vllm", "*")
    )
    stated = {
        r["version"]
        for r in ROWS
        if r["engine"] == "vllm" and r["component"] == "kv_cache" and r["status"] == "compared"
    } - {None}
    assert set(vllm_kv["engines"]["vllm"]) == stated


@pytest.mark.parametrize(
    "component", [c for c, (bound, _) in evidence.BOUNDS.items() if bound is not None]
)
def test_drawn_bounds_are_the_tested_ones(component: str) -> None:
    """Every compared figure lies within the bound the page draws, but for the documented
    exceptions of test_validation.py, which are drawn outside it."""
    bound = evidence.BOUNDS[component][0]
    assert bound is not None
    loose = {**LOOSE_WEIGHTS, **LOOSE_ACTIVATION}
    for row in ROWS:
        if row["component"] != component or row["status"] != "compared":
            continue
        assert row["error_pct"] is not None
        if abs(row["error_pct"]) > bound:
            assert row["record"] in loose, row
            assert abs(row["error_pct"]) <= loose[row["record"]]


def test_pool_bound_is_three_percent_of_the_budget() -> None:
    pools = [r for r in ROWS if r["component"] == "engine_kv_pool" and r["status"] == "compared"]
    assert pools
    # vLLM's pool in GiB and its maximum concurrency, SGLang's pool in tokens
    assert {r["unit"] for r in pools} == {"GiB", "requests", "tokens"}
    for row in pools:
        assert row["bound"] is not None and row["bound"] > 0
        assert abs(row["estimated"] - row["measured"]) <= row["bound"]
        if row["unit"] == "GiB":
            assert row["bound_bytes"] is not None
            assert abs(row["estimated_bytes"] - row["measured_bytes"]) <= row["bound_bytes"]


def test_cuda_context_bound_is_a_quarter_gib() -> None:
    rows = [r for r in ROWS if r["component"] == "overhead" and r["status"] == "compared"]
    assert rows
    for row in rows:
        assert row["bound_bytes"] == round(0.25 * 1024**3)
        assert abs(row["estimated_bytes"] - row["measured_bytes"]) <= row["bound_bytes"]


def test_sources_are_named_by_repository_and_thread() -> None:
    labels = {r["source"]: r["source_label"] for r in ROWS}
    assert labels["https://github.com/vllm-project/vllm/issues/10517"] == "vllm-project/vllm#10517"
    for url, label in labels.items():
        if url.startswith("https://github.com/"):
            assert re.fullmatch(r"[\w.-]+/[\w.-]+(#\d+)?", label), label
            assert url.removeprefix("https://github.com/").startswith(label.split("#")[0])

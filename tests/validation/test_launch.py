"""Launch verdicts and vLLM V1 start-up figures against published start-up logs.

Bounds (tests/validation/README.md, "Launch verdicts"):
- the verdict (starts / refuses) is right on every record the estimator models, and a
  refusal names the check the engine failed;
- weights within 1%; KV tokens and concurrency within 3%; the profiled activation peak
  within 15%; the KV pool within 3% of the budget (total x gpu_memory_utilization);
  non-torch memory within 0.05 GiB.
"""

from __future__ import annotations

import json

import pytest

from estimator.vllm_v1 import is_v0
from tests.validation.validate_launch import RECORDS, Row, Verdict, run

VERDICTS, ROWS = run()
COMPARED = [r for r in ROWS if r.status == "compared"]
RECORD = {r["id"]: r for r in json.loads(RECORDS.read_text())}


def test_the_set_covers_what_the_issue_asks() -> None:
    """At least 30 V1 runs over 10 models, TP 1/2/4, pipeline parallel, failed starts."""
    records = list(RECORD.values())
    v1 = [r for r in records if r["engine"] == "vllm" and not is_v0(r["engine_version"])]
    assert len(v1) >= 30
    assert len({r["model_id"] for r in v1}) >= 10
    assert {r["settings"].get("tensor_parallel_size") for r in v1} >= {1, 2, 4}
    assert {r["settings"].get("pipeline_parallel_size") for r in v1} >= {2, 4}
    refused = [r for r in v1 if r["outcome"] == "refuses"]
    assert len(refused) >= 4 and all(r["error"]["quote"] for r in refused)


@pytest.mark.parametrize("record", list(RECORD.values()), ids=lambda r: r["id"])
def test_every_figure_is_quoted_from_its_source(record: dict[str, object]) -> None:
    """Numbers are copied, not derived: each value appears in its quoted line."""
    assert str(record["source"]["url"]).startswith("https://")  # type: ignore[index]
    for m in record["measurements"]:  # type: ignore[attr-defined]
        value = m["value"]
        shown = {str(value), f"{value:,}", f"{value:.2f}"}
        assert any(text in m["quote"] for text in shown), (m["quote"], value)


def _compared_verdicts() -> list[Verdict]:
    return [v for v in VERDICTS if v.status == "compared"]


@pytest.mark.parametrize("verdict", _compared_verdicts(), ids=lambda v: v.record)
def test_verdict_is_right(verdict: Verdict) -> None:
    assert verdict.predicted == verdict.expected, verdict.note
    if verdict.expected == "refuses" and verdict.expected_problem:
        assert verdict.problem == verdict.expected_problem


def test_only_stated_reasons_leave_a_record_unjudged() -> None:
    skipped = [v for v in VERDICTS if v.status != "compared"]
    assert all(v.status == "not modelled" and len(v.note) > 40 for v in skipped)
    assert len(_compared_verdicts()) >= 30


def _rows(component: str) -> list[Row]:
    return [r for r in COMPARED if r.component == component]


@pytest.mark.parametrize("row", _rows("weights"), ids=lambda r: r.record)
def test_weights_within_one_percent(row: Row) -> None:
    assert row.error_pct is not None and abs(row.error_pct) <= 1.0


@pytest.mark.parametrize(
    "row", _rows("kv_cache_tokens") + _rows("max_concurrency"), ids=lambda r: r.record
)
def test_kv_tokens_and_concurrency_within_three_percent(row: Row) -> None:
    assert row.error_pct is not None and abs(row.error_pct) <= 3.0


@pytest.mark.parametrize("row", _rows("activation_peak"), ids=lambda r: r.record)
def test_activation_peak_within_fifteen_percent(row: Row) -> None:
    assert row.error_pct is not None and abs(row.error_pct) <= 15.0


@pytest.mark.parametrize("row", _rows("kv_cache"), ids=lambda r: r.record)
def test_kv_pool_within_three_percent_of_the_budget(row: Row) -> None:
    settings = RECORD[row.record]["settings"]
    budget = settings["total_gpu_memory_gib"] * settings["gpu_memory_utilization"]
    assert row.estimated is not None
    assert abs(row.estimated - row.measured) <= 0.03 * budget


@pytest.mark.parametrize("row", _rows("non_torch"), ids=lambda r: r.record)
def test_non_torch_memory_by_tensor_and_pipeline_parallel(row: Row) -> None:
    """0.25 GiB at TP 1, about 2.1 GiB per GPU at TP >= 2, 0.07 GiB at PP > 1 (v0.18+)."""
    assert row.estimated is not None and abs(row.estimated - row.measured) <= 0.05

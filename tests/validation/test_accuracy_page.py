"""The Accuracy page renders every string from the records as text."""

from __future__ import annotations

from tests.validation.accuracy_page import render
from tests.validation.validate import Row


def _row(**changes: object) -> Row:
    base = dict(record="r1", model="org/model", engine="vllm", component="weights",
                measured=1.0, estimated=1.01, unit="GiB", error_pct=1.0, status="compared",
                note="", source="https://github.com/org/repo/issues/1")
    base.update(changes)
    return Row(**base)  # type: ignore[arg-type]


def test_markup_in_records_is_escaped() -> None:
    page = render([_row(model="<img src=x onerror=alert(1)>", note="<b>x</b>",
                        source='https://github.com/"><script>alert(1)</script>')])
    assert "<img src=x" not in page and "<b>x</b>" not in page and "<script>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_only_https_sources_become_links() -> None:
    page = render([_row(source="javascript:alert(1)")])
    assert "javascript:" not in page


def test_summary_counts_compared_rows() -> None:
    page = render([_row(), _row(record="r2", status="no config", estimated=None, error_pct=None)])
    assert "1 of 2 measurements could be compared" in page

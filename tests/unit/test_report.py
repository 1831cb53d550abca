"""estimator/report.py: the CLI's table and the page's Markdown copy write the same figures
with the same labels, and the copy carries the inputs, the fit and every warning."""

from __future__ import annotations

import json

from estimator import GB, GIB, EstimateOptions, estimate
from estimator.document import Loaded, build_document
from estimator.report import COMPONENT_LABELS, estimate_json, estimate_markdown, render
from tests.conftest import load_config

OPTIONS = EstimateOptions(engine="vllm", gpu="l4", context=8192, batch=2)


def test_markdown_copy_rows_are_the_estimate() -> None:
    # past the model's limit and too big for the L4: two warnings and no fit
    est = estimate(load_config("meta-llama__Llama-3.1-8B-Instruct"), OPTIONS.with_(context=262144))
    assert len(est.warnings) == 2
    text = estimate_markdown(est, "meta-llama/Llama-3.1-8B-Instruct", "https://x/?batch=2")
    lines = text.splitlines()
    assert lines[0] == "### Memory estimate: meta-llama/Llama-3.1-8B-Instruct"
    assert "[open in the estimator](https://x/?batch=2)" in lines
    for c in est.components:
        label = COMPONENT_LABELS[c.name]
        assert f"| {label} | {c.bytes / GIB:,.2f} | {c.bytes / GB:,.2f} |" in lines
    total = est.total_bytes
    assert f"| **Total** | **{total / GIB:,.2f}** | **{total / GB:,.2f}** |" in lines
    assert est.fit is not None
    fit = "Fits" if est.fit.fits else "Does not fit"
    assert f"{fit} on 1× {est.fit.gpu_name} ({est.fit.utilization * 100:.0f}% per GPU)." in lines
    assert [line for line in lines if line.startswith("- Warning: ")] == [
        f"- Warning: {w}" for w in est.warnings]
    assert text.endswith("\n")
    assert json.loads(estimate_json(est, "m"))["total_bytes"] == total


def test_cli_table_and_page_copy_agree() -> None:
    config = load_config("Qwen__Qwen3-8B")
    loaded = Loaded(config, None, "Qwen/Qwen3-8B", None, "hub")
    doc = build_document(loaded, OPTIONS)
    table = render(doc, "markdown").splitlines()
    copy = estimate_markdown(estimate(config, OPTIONS), "Qwen/Qwen3-8B").splitlines()
    for c in doc["components"]:
        label = COMPONENT_LABELS[c["name"]]
        figures = f"{c['bytes'] / GIB:,.2f} | {c['bytes'] / GB:,.2f} |"
        assert any(line.startswith(f"| {label} | {figures}") for line in table), label
        assert f"| {label} | {figures}" in copy, label

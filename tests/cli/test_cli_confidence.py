"""llm-mem says how far each figure can be trusted and, with --explain, how it is computed."""

from __future__ import annotations

import json

import pytest
from clifixtures import config_path

from estimator import cli


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def table_rows(out: str) -> dict[str, str]:
    """Component label -> its "Measured error" cell (the text after the GB column)."""
    rows = {}
    for line in out.splitlines():
        for label in ("Weights", "KV cache", "Activations", "Overhead", "Total"):
            if line.startswith(label + "  "):
                rows[label] = line.split("  ")[-1].strip()
    return rows


def test_table_carries_each_figures_confidence(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--config", str(config_path("Qwen__Qwen3.5-9B")), "--engine", "llama.cpp"]
    doc = json.loads(run([*args, "--json"], capsys))
    rows = table_rows(run(args, capsys))
    conf = doc["confidence"]
    assert rows["Weights"] == conf["weights"]["short"]
    assert rows["KV cache"] == conf["kv_cache"]["short"]
    assert rows["Activations"] == conf["activations"]["short"]
    assert rows["Overhead"] == "not validated" == conf["overhead"]["short"]
    assert conf["kv_cache"]["records"] >= 1 and conf["kv_cache"]["scope"] == "engine+family"


def test_total_and_pool_lines(capsys: pytest.CaptureFixture[str]) -> None:
    """vLLM: no log measures its total, so the table gives the parts' error; the KV pool line
    carries the pool's own."""
    args = ["--config", str(config_path("meta-llama__Llama-3.1-8B-Instruct")), "--engine", "vllm"]
    args += ["--gpu", "h100-80gb"]
    doc = json.loads(run([*args, "--json"], capsys))
    out = run(args, capsys)
    assert table_rows(out)["Total"] == f"±{doc['estimate_error_pct']:.1f} % from the parts"
    pool = doc["confidence"]["engine_kv_pool"]["short"]
    assert f"at once (measured error {pool})" in out


def test_fit_line_names_a_margin_inside_the_error(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--config", str(config_path("meta-llama__Llama-3.1-8B-Instruct")), "--engine"]
    args += ["transformers", "--gpu", "rtx4090", "--context", "24k"]
    doc = json.loads(run([*args, "--json"], capsys))
    assert doc["fit_verdict"].startswith("fits, but within the estimate's error: ")
    out = run(args, capsys)
    assert f"on NVIDIA RTX 4090 24GB: {doc['fit_verdict']} (" in out


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_explain_prints_the_formulas(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--config", str(config_path("google__gemma-3-27b-it")), "--engine", "transformers"]
    args += ["--context", "32k", "--format", fmt]
    doc = json.loads(run([*args[:-2], "--json"], capsys))
    plain = run(args, capsys)
    out = run([*args, "--explain"], capsys)
    assert "How each figure is computed" not in plain
    assert out.startswith(plain.rstrip("\n"))
    for formula in doc["formulas"]:
        for line in formula["lines"]:
            assert line in out
    assert "52 sliding layers × 16 KV heads × (128 + 128) × 2 B" in out
    assert "(window 1,024 − 1)" in out

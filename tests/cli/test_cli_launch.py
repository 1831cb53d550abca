"""llm-mem --command and the JSON `launch` object (issue 13)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from estimator import cli


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_command_prints_only_the_launch_command(
    tmp_path: Path, llama_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "llama"
    folder.mkdir()
    (folder / "config.json").write_text(llama_config.read_text())
    code, out, err = run(
        [
            "--config",
            str(folder / "config.json"),
            "--engine",
            "vllm",
            "--gpus",
            "2",
            "--context",
            "32k",
            "--command",
        ],
        capsys,
    )
    assert code == 0 and err == ""
    assert out == f"vllm serve {folder} --max-model-len 32768 --tensor-parallel-size 2\n"
    code, out, _ = run(
        [
            "--config",
            str(llama_config),
            "--engine",
            "llama.cpp",
            "--precision",
            "Q4_K_M",
            "--batch",
            "2",
            "--context",
            "8k",
            "--command",
        ],
        capsys,
    )
    assert code == 0 and out.startswith("llama-server -m ") and "-c 16384 -ngl 99" in out


@pytest.mark.parametrize(("engine", "label"), [("generic", "Generic"), ("ollama", "Ollama")])
def test_command_needs_an_engine_with_a_command(
    engine: str, label: str, llama_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Generic and Ollama have no launch command (Ollama takes num_ctx as a model parameter):
    --command is a one-line usage error (exit 2) naming the engines that have one, never a
    crash (it printed "internal error: unsupported operand type(s) ... 'NoneType'")."""
    code, out, err = run(
        ["--config", str(llama_config), "--engine", engine, "--command"], capsys
    )
    assert code == 2 and out == ""
    assert err == (
        f"llm-mem: error: --command needs an engine with a launch command ({label} has none): "
        "--engine transformers, vllm, sglang, tgi or llama.cpp\n"
    )


def test_json_launch_object(llama_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        [
            "--config",
            str(llama_config),
            "--engine",
            "vllm",
            "--gpu",
            "H100 80GB",
            "--gpus",
            "3",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    launch = json.loads(out)["launch"]
    assert set(launch) >= {
        "engine",
        "starts",
        "problems",
        "max_context",
        "valid_tensor_parallel",
        "fixes",
        "command",
    }
    assert launch["engine"] == "vllm" and launch["starts"] is False
    assert launch["problems"][0] == {
        "code": "tp_heads",
        "message": "Total number of attention heads (32) must be divisible by tensor parallel "
        "size (3).",
    }
    assert launch["valid_tensor_parallel"][:4] == [1, 2, 4, 8]
    assert launch["fixes"][0]["flags"] == ["--tensor-parallel-size", "2"]
    generic = json.loads(run(["--config", str(llama_config), "--json"], capsys)[1])
    assert "launch" in generic and (generic["launch"] is None) == (
        generic["inputs"]["engine"] == "generic"
    )


def test_table_shows_the_verdict(llama_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        [
            "--config",
            str(llama_config),
            "--engine",
            "vllm",
            "--gpu",
            "rtx4090",
            "--context",
            "128k",
        ],
        capsys,
    )
    assert code == 0
    assert "Launch: vLLM will refuse to start: To serve at least one request" in out
    assert "Fix: shorten the context to" in out and "Command: vllm serve" in out


def test_default_engine_is_vllm_and_says_so(
    llama_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --engine the answer assumes vLLM (modelled and validated) and says so;
    --engine generic stays available, with no launch verdict."""
    code, out, _ = run(["--config", str(llama_config), "--gpu", "l4"], capsys)
    assert code == 0
    assert "engine vllm (the default; --engine to change)" in out and "Launch: vLLM" in out
    load = ["--config", str(llama_config), "--context", "32k", "--batch", "64", "--json"]
    doc = json.loads(run(load, capsys)[1])
    assert doc["inputs"]["engine"] == "vllm" and doc["engine_default"] is True
    generic = json.loads(run([*load, "--engine", "generic"], capsys)[1])
    assert generic["engine_default"] is False and generic["launch"] is None
    # The example: generic runs 64 prompts of 32k in one forward (about 216 GiB of
    # activations); vLLM profiles one chunk of batched tokens and its sampler (under 1 GiB).
    assert generic["activation_bytes"] > 200 * 1024**3 > 200 * doc["activation_bytes"]


def test_fit_line_never_contradicts_the_launch(capsys: pytest.CaptureFixture[str]) -> None:
    """Qwen3-14B at TP=5 fits in memory, but vLLM refuses (151,936 vocabulary rows do not
    divide by 5): the fit line says both, and --json's fit_verdict is the same words."""
    from tests.conftest import CONFIGS

    qwen = str(CONFIGS / "Qwen__Qwen3-14B.json")
    argv = ["--config", qwen, "--gpu", "h100", "--gpus", "5", "--tp", "5"]
    code, out, _ = run(argv, capsys)
    doc = json.loads(run([*argv, "--json"], capsys)[1])
    assert code == 0 and doc["fit"]["fits"] is True and doc["launch"]["starts"] is False
    assert doc["fit_verdict"] == "the memory fits, but vLLM will refuse to start"
    assert f"on NVIDIA H100 80GB: {doc['fit_verdict']} (" in out
    assert "Launch: vLLM will refuse to start: 151936 is not divisible by 5" in out
    # and the other way round: a batch that does not fit at once, on an engine that starts
    # and queues the rest, says how many it serves at a time
    argv = ["--config", qwen, "--gpu", "rtx4090", "--precision", "int4", "--context", "32k",
            "--batch", "16"]
    doc = json.loads(run([*argv, "--json"], capsys)[1])
    n = doc["launch"]["concurrency"]
    assert doc["fit"]["fits"] is False and doc["launch"]["starts"] is True and n < 16
    assert doc["fit_verdict"] == (
        f"16 requests do NOT fit at once; vLLM starts and serves {n:.2f} at a time"
    )

"""The no-argument questionnaire: stdin with --interactive, and a real pseudo-terminal."""

from __future__ import annotations

import io
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from estimator import cli

ROOT = Path(__file__).resolve().parents[2]


def test_questions_with_defaults_and_reasking(
    llama_config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = (
        "\n".join(
            [
                "a/b/c",  # invalid id: re-asked
                str(llama_config),  # a local config path is accepted
                "fp5",  # unknown precision: re-asked
                "int8",
                "maybe",  # not y/n: re-asked
                "n",
                "0",  # layers must be >= 1
                "",  # default: all
                "8k",
                "",  # batch default 1
            ]
        )
        + "\n"
    )
    monkeypatch.setattr(sys, "stdin", io.StringIO(answers))
    code = cli.main(["--interactive", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    inputs = doc["inputs"]
    assert inputs["precision"] == "int8" and inputs["flash_attention"] is False
    assert inputs["layers"] is None and inputs["context"] == 8192 and inputs["batch"] == 1
    assert err.count("try again") == 4
    for question in (
        "Model",
        "Precision",
        "FlashAttention (y/n) [y]",
        "Layers to run [all]",
        "Sequence length",
        "Batch size [1]",
    ):
        assert question in err


def test_eof_is_bad_usage(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert cli.main(["--interactive"]) == 2
    assert "no answer" in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_prompts_on_a_real_tty(llama_config: Path, tmp_path: Path) -> None:
    import pty

    leader, follower = pty.openpty()
    env = {**os.environ, "HF_HOME": str(tmp_path), "LLM_MEM_CACHE": str(tmp_path / "c")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "estimator"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=ROOT,
        env=env,
        close_fds=True,
    )
    os.close(follower)
    seen = b""

    def read_until(marker: bytes, limit: float = 20.0) -> None:
        nonlocal seen
        end = time.monotonic() + limit
        while marker not in seen and time.monotonic() < end:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(leader, 4096)
                except OSError:
                    break
        assert marker in seen, seen.decode(errors="replace")

    try:
        for question, answer in (
            (b"Model", str(llama_config)),
            (b"Precision", ""),
            (b"FlashAttention", "y"),
            (b"Layers", ""),
            (b"Sequence length", "2048"),
            (b"Batch size", "2"),
        ):
            read_until(question)
            os.write(leader, answer.encode() + b"\n")
        read_until(b"Total")
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)
    text = seen.decode(errors="replace")
    assert "context 2,048, batch 2" in text

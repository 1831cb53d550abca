"""Hostile local configs: exit 4 with one line naming the problem, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from clifixtures import config_path

from estimator import cli
from tests.conftest import ROOT


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def real_config() -> dict[str, object]:
    data: dict[str, object] = json.loads(config_path("Qwen__Qwen2.5-7B-Instruct").read_text())
    return data


def with_value(key: str, literal: str) -> str:
    """The real config's JSON text with ``key``'s value replaced by a raw JSON literal."""
    cfg = real_config()
    cfg[key] = "__HERE__"
    return json.dumps(cfg).replace('"__HERE__"', literal)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a":' * 100_000 + "1" + "}" * 100_000, "nests more than 64 levels deep; no config does"),
        (with_value("hidden_size", "9" * 4301), "contains an integer with 4301 digits"),
        (with_value("rope_theta", "1e400"), "contains the number 1e400, too large for a float"),
        (with_value("hidden_size", "NaN"), "contains NaN, which is not a JSON value"),
        (with_value("rms_norm_eps", "-Infinity"), "contains -Infinity, which is not a JSON"),
        (with_value("hidden_size", "1e300"), "key 'hidden_size' is implausibly large (1e+300)"),
        (with_value("num_hidden_layers", "-28"), "key 'num_hidden_layers' is negative (-28)"),
        (
            with_value("quantization_config", '{"quant_method": "gptq", "bits": -4}'),
            "key 'quantization_config.bits' is negative (-4)",
        ),
    ],
)
def test_hostile_local_config_exit_4_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    path = tmp_path / "config.json"
    path.write_text(text)
    code, out, err = run(["--config", str(path)], capsys)
    assert (code, out) == (4, "")
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("llm-mem: error: ") and message in lines[0]


def test_hostile_index_next_to_a_config_is_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "config.json").write_text(json.dumps(real_config()))
    (tmp_path / "model.safetensors.index.json").write_text(
        '{"metadata": {"total_size": ' + "9" * 5000 + "}}"
    )
    code, out, err = run(["--config", str(tmp_path), "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["components"][0]["inputs"]["source"] == "config-arithmetic"


def test_deep_json_in_a_subprocess_never_crashes_the_interpreter(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 1_000_000 + "]" * 1_000_000)
    result = subprocess.run(
        [sys.executable, "-m", "estimator", "--config", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 4, result.stderr
    assert result.stderr.count("\n") == 1 and "nests more than 64 levels" in result.stderr

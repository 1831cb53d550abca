"""llm-mem: output formats, the --json schema, flags and aliases, exit codes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from clifixtures import config_path

from estimator import cli

ROOT = Path(__file__).resolve().parents[2]

#: Keys of --json output in "estimate" mode: Estimate.to_dict() plus where the model came from.
ESTIMATE_KEYS = {
    "params",
    "active_params",
    "param_source",
    "weights_bytes",
    "kv_cache_bytes",
    "kv_bytes_per_token",
    "activation_bytes",
    "overhead_bytes",
    "total_bytes",
    "per_gpu_bytes",
    "engine_reserved_bytes",
    "engine_kv_capacity_tokens",
    "engine_max_concurrency",
    "fits",
    "fit",
    "recommendation",
    "warnings",
    "precision",
    "kv_dtype",
    "context",
    "model",
    "components",
    "parallel",
    "inputs",
    "placement",
    "speed",
    # issue 15: how far each figure can be trusted, and each formula filled in
    "confidence",
    "estimate_error_pct",
    "fit_verdict",
    "formulas",
}
SOURCE_KEYS = {
    "model_id",
    "revision",
    "source",
    "config_path",
    "hub",
    "notes",
    "mode",
    "launch",
    "engine_default",
}
BYTE_KEYS = (
    "weights_bytes",
    "kv_cache_bytes",
    "kv_bytes_per_token",
    "activation_bytes",
    "overhead_bytes",
    "total_bytes",
    "per_gpu_bytes",
)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    code, out, err = run([*argv, "--json"], capsys)
    assert code == 0, err
    return json.loads(out)


def test_table_output(llama_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["--config", str(llama_config)], capsys)
    assert code == 0 and err == ""
    assert "Component" in out and "GiB" in out and " GB" in out
    for label in ("Weights", "KV cache", "Activations", "Overhead", "Total"):
        assert label in out
    assert "source: config-arithmetic" in out


def test_json_schema(llama_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(["--config", str(llama_config), "--gpu", "h100-80gb"], capsys)
    assert set(doc) == ESTIMATE_KEYS | SOURCE_KEYS
    assert doc["mode"] == "estimate" and doc["source"] == "file" and doc["model_id"] is None
    assert doc["config_path"] == str(llama_config)
    for key in BYTE_KEYS:
        assert isinstance(doc[key], int) and not isinstance(doc[key], bool), key
    assert all(isinstance(c["bytes"], int) for c in doc["components"])
    assert doc["total_bytes"] == sum(c["bytes"] for c in doc["components"])
    assert isinstance(doc["fits"], bool) and doc["fit"]["gpu"] == "h100-80gb"
    assert doc["inputs"]["gpu"] == "h100-80gb"


def test_format_json_equals_json_flag(
    llama_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, a, _ = run(["--config", str(llama_config), "--json"], capsys)
    _, b, _ = run(["--config", str(llama_config), "--format", "json"], capsys)
    assert json.loads(a) == json.loads(b)
    code, _, err = run(["--config", str(llama_config), "--json", "--format", "table"], capsys)
    assert code == 2 and "disagree" in err


def test_markdown(llama_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        [
            "--config",
            str(llama_config),
            "--format",
            "markdown",
            "--gpus",
            "2",
            "--gpu",
            "a100-80gb",
        ],
        capsys,
    )
    assert code == 0
    table = [line for line in out.splitlines() if line.startswith("|")]
    assert table[0] == "| Component | GiB | GB | Measured error |"
    assert table[1] == "| --- | ---: | ---: | --- |"
    assert any("**Total**" in line for line in table)
    assert any(line.startswith("| Per GPU (x2") for line in table)


def test_config_folder_reads_index(
    llama_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder's model.safetensors.index.json gives the weight bytes exactly: its total_size
    (here 17,000,000,000 B, not the 2 B x 8,030,261,248 = 16,060,522,496 of the arithmetic)
    becomes the weights figure, for --config DIR and for a positional path alike."""
    (tmp_path / "config.json").write_text(llama_config.read_text())
    (tmp_path / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": 17_000_000_000}, "weight_map": {}})
    )
    generic = ["--engine", "generic"]  # no engine buffers: the weights figure is the file's
    doc = run_json(["--config", str(tmp_path), *generic], capsys)
    assert doc["config_path"] == str(tmp_path / "config.json")
    plain = run_json(["--config", str(llama_config), *generic], capsys)
    assert plain["weights_bytes"] == 2 * plain["params"]  # arithmetic, bf16
    assert doc["weights_bytes"] == 17_000_000_000 != plain["weights_bytes"]
    weights = doc["components"][0]
    assert weights["inputs"]["source"] == "index-total-size"
    assert doc["total_bytes"] - plain["total_bytes"] == 17_000_000_000 - plain["weights_bytes"]
    # Same model as a positional local path.
    assert run_json([str(tmp_path), *generic], capsys)["weights_bytes"] == 17_000_000_000
    # A requested precision other than the checkpoint's own ignores the index.
    fp8 = run_json(["--config", str(tmp_path), "--precision", "fp8", *generic], capsys)
    assert fp8["weights_bytes"] < plain["weights_bytes"]
    # An index without a usable total_size falls back to the arithmetic.
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}}))
    again = run_json(["--config", str(tmp_path), *generic], capsys)
    assert again["weights_bytes"] == plain["weights_bytes"]


def test_local_gguf_file(
    llama_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "config.json").write_text(llama_config.read_text())
    (tmp_path / "m-Q4_K_M.gguf").write_bytes(b"\0" * 1000)
    doc = run_json(["--config", str(tmp_path), "--gguf-file", "q4_k_m"], capsys)
    assert any("m-Q4_K_M.gguf" in n for n in doc["notes"])
    code, _, err = run(["--config", str(tmp_path), "--gguf-file", "Q8_0"], capsys)
    assert code == 2 and "no GGUF file matches" in err


def test_aliases(llama_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--config", str(llama_config)]
    a = run_json(
        [*base, "--context", "8192", "--batch", "4", "--layers", "8", "--no-flash-attention"],
        capsys,
    )
    b = run_json(
        [*base, "--seq-len", "8k", "--batch-size", "4", "--num-layers", "8", "--no-flash"], capsys
    )
    c = run_json(
        [*base, "--sequence-length", "8_192", "--batch-size=4", "--num-layers=8", "--no-flash"],
        capsys,
    )
    assert a["inputs"] == b["inputs"] == c["inputs"]
    assert a["inputs"]["context"] == 8192 and a["inputs"]["flash_attention"] is False
    assert run_json([*base, "--flash"], capsys)["inputs"]["flash_attention"] is True


FIGURES = (
    "params", "weights_bytes", "kv_cache_bytes", "kv_bytes_per_token", "activation_bytes",
    "overhead_bytes", "total_bytes", "per_gpu_bytes", "engine_reserved_bytes",
    "engine_kv_capacity_tokens", "engine_max_concurrency", "fit", "recommendation",
)
#: (flags, the EstimateOptions fields they set, base flags): each flag must change the
#: figures exactly as the library does with that field.
FLAG_CASES = [
    (["--precision", "q4_k_m"], {"precision": "Q4_K_M"}, []),
    (["--kv-dtype", "fp8"], {"kv_dtype": "fp8"}, []),
    (["--engine", "vllm"], {"engine": "vllm"}, []),
    (["--batch", "2"], {"batch": 2}, []),
    (["--context", "8k"], {"context": 8192}, []),
    (["--generated-tokens", "512"], {"generated_tokens": 512}, []),
    (["--no-flash-attention"], {"flash_attention": False}, []),
    (["--swa-full"], {"swa_full": True}, ["--engine", "llama.cpp"]),
    (["--no-paged-attention"], {"paged_attention": False}, ["--engine", "vllm"]),
    # At 0.9 the H100's pool is 27,680 blocks of 16, a multiple of 16 blocks: blocks of 256
    # would hold the same tokens, so the case runs at 0.85 (25,655 blocks of 16).
    (["--block-size", "256"], {"block_size": 256},
     ["--engine", "vllm", "--gpu-memory-utilization", "0.85"]),
    (["--layers", "8"], {"layers": 8}, []),
    (["--kv-heads", "4"], {"kv_heads": 4}, []),
    (["--gpu", "l4"], {"gpu": "l4"}, []),
    (["--gpus", "4"], {"gpus": 4}, []),
    (["--gpus", "4", "--tp", "2"], {"gpus": 4, "tensor_parallel": 2}, []),
    (["--gpus", "4", "--pp", "2"], {"gpus": 4, "pipeline_parallel": 2}, []),
    (["--headroom", "5%"], {"headroom": 0.05}, []),
    (["--gpu-memory-utilization", "0.8"], {"gpu_memory_utilization": 0.8}, ["--engine", "vllm"]),
    (["--max-num-batched-tokens", "4k"], {"max_num_batched_tokens": 4096}, ["--engine", "vllm"]),
    (["--max-running-requests", "16"], {"max_num_seqs": 16}, ["--engine", "vllm"]),
    (["--enforce-eager"], {"enforce_eager": True}, ["--engine", "vllm"]),
]
FLAG_BASE = {"engine": "generic", "context": 4096, "gpu": "h100-80gb"}


@pytest.mark.parametrize(("flags", "fields", "base"), FLAG_CASES, ids=lambda v: str(v))
def test_each_option_reaches_the_core(
    llama_config: Path,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    fields: dict[str, object],
    base: list[str],
) -> None:
    """Each flag changes the figures, to what the library gives for the same options (not
    just an echo in `inputs`). Swa-full is checked on a model with sliding layers."""
    from estimator import EstimateOptions, estimate

    config_file = llama_config
    if "swa_full" in fields:
        config_file = config_path("google__gemma-3-4b-it")
    argv = ["--config", str(config_file), "--context", "4096", "--gpu", "h100-80gb",
            *(base or ["--engine", "generic"])]
    before = run_json(argv, capsys)
    after = run_json([*argv, *flags], capsys)
    options: dict[str, object] = dict(FLAG_BASE)
    base_fields = {"--engine": "engine", "--gpu-memory-utilization": "gpu_memory_utilization"}
    for flag, value in zip(base[::2], base[1::2], strict=True):
        options[base_fields[flag]] = float(value) if flag.endswith("utilization") else value
    library = estimate(
        json.loads(config_file.read_text()), EstimateOptions(**{**options, **fields})
    ).to_dict()
    for key in FIGURES:
        assert after[key] == library[key], key
    assert any(after[key] != before[key] for key in FIGURES), f"{flags} changed nothing"
    for name, value in fields.items():
        assert after["inputs"][name] == pytest.approx(value), name


#: Own-hardware flags (issue 14): (flags, fields, base flags, base fields); they move the
#: fit, the placement and the speed estimate, compared whole with the library's.
HARDWARE_CASES = [
    (["--gpu-memory", "24GiB"], {"gpu_memory_bytes": 24 * 1024**3}, ["--engine", "generic"],
     {"engine": "generic"}),
    (["--gpu-bandwidth", "500"], {"gpu_bandwidth_gbs": 500.0},
     ["--engine", "generic", "--gpu-memory", "24GiB"],
     {"engine": "generic", "gpu_memory_bytes": 24 * 1024**3}),
    (["--ram", "64GiB"], {"ram_bytes": 64 * 1024**3},
     ["--engine", "llama.cpp", "--precision", "q4_k_m", "--gpu", "rtx3060"],
     {"engine": "llama.cpp", "precision": "q4_k_m", "gpu": "rtx3060"}),
    (["--offload", "none"], {"offload": "none"},
     ["--engine", "llama.cpp", "--gpu", "rtx3060", "--ram", "64GiB"],
     {"engine": "llama.cpp", "gpu": "rtx3060", "ram_bytes": 64 * 1024**3}),
    (["--tensor-split", "3,1"], {"tensor_split": "3,1"},
     ["--engine", "llama.cpp", "--gpu", "rtx3090,rtx3090"],
     {"engine": "llama.cpp", "gpu": "rtx3090,rtx3090"}),
    (["--ram-bandwidth", "50"], {"ram_bandwidth_gbs": 50.0},
     ["--engine", "llama.cpp", "--gpu", "rtx3060", "--ram", "64GiB", "-ngl", "20"],
     {"engine": "llama.cpp", "gpu": "rtx3060", "ram_bytes": 64 * 1024**3, "n_gpu_layers": 20}),
    (["--wired-limit-mb", "28672"], {"wired_limit_mb": 28672},
     ["--engine", "llama.cpp", "--gpu", "m2-max-32gb"],
     {"engine": "llama.cpp", "gpu": "m2-max-32gb"}),
    (["-ngl", "20"], {"n_gpu_layers": 20},
     ["--engine", "llama.cpp", "--gpu", "rtx3090", "--ram", "64GiB"],
     {"engine": "llama.cpp", "gpu": "rtx3090", "ram_bytes": 64 * 1024**3}),
    (["--n-cpu-moe", "4"], {"n_cpu_moe": 4},
     ["--engine", "llama.cpp", "--gpu", "rtx3090", "--ram", "64GiB"],
     {"engine": "llama.cpp", "gpu": "rtx3090", "ram_bytes": 64 * 1024**3}),
    (["--backend", "vulkan"], {"backend": "vulkan"},
     ["--engine", "llama.cpp", "--gpu", "rtx3090"], {"engine": "llama.cpp", "gpu": "rtx3090"}),
]


@pytest.mark.parametrize(("flags", "fields", "base", "base_fields"), HARDWARE_CASES,
                         ids=lambda v: str(v))
def test_each_hardware_option_reaches_the_core(
    llama_config: Path,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    fields: dict[str, object],
    base: list[str],
    base_fields: dict[str, object],
) -> None:
    """The fit, placement and speed the flag gives are the library's for the same options,
    and differ from those without it. --n-cpu-moe is checked on a MoE model (Qwen3-30B-A3B),
    --offload none on one that needs RAM on an RTX 3060 (Llama-3.1-70B)."""
    from estimator import EstimateOptions, estimate

    config_file = llama_config
    if "n_cpu_moe" in fields:
        config_file = config_path("Qwen__Qwen3-30B-A3B")
    if fields.get("offload") == "none" or "ram_bytes" in fields:
        config_file = config_path("meta-llama__Llama-3.1-70B-Instruct")
    argv = ["--config", str(config_file), "--context", "4096", *base]
    before = run_json(argv, capsys)
    after = run_json([*argv, *flags], capsys)
    library = estimate(
        json.loads(config_file.read_text()),
        EstimateOptions(**{"context": 4096, **base_fields, **fields}),
    ).to_dict()
    keys = (*FIGURES, "placement", "speed")
    for key in keys:
        assert after[key] == library[key], key
    assert any(after[key] != before[key] for key in keys), f"{flags} changed nothing"
    for name, value in fields.items():
        assert after["inputs"][name] == pytest.approx(value), name


def test_every_option_has_a_flag_case() -> None:
    from dataclasses import fields

    from estimator import EstimateOptions
    from estimator.schema import OPTIONS

    covered = {name for _, case, _ in FLAG_CASES for name in case}
    covered |= {name for _, case, _, _ in HARDWARE_CASES for name in case}
    with_flags = {o.name for o in OPTIONS if o.flags}  # group_size has none
    assert covered == with_flags == {f.name for f in fields(EstimateOptions)} - {"group_size"}


@pytest.mark.parametrize(
    ("text", "tokens"),
    [("4096", 4096), ("32k", 32768), ("32K", 32768), ("1m", 1048576), ("8_192", 8192),
     ("128,000", 128000), (" 2k ", 2048)],
)
def test_context_suffixes(
    llama_config: Path, capsys: pytest.CaptureFixture[str], text: str, tokens: int
) -> None:
    """k is 1024 and m 1024^2 (README: `32k` = 32768); the KV cache follows the count."""
    doc = run_json(["--config", str(llama_config), "--context", text], capsys)
    assert doc["context"] == tokens
    assert doc["kv_cache_bytes"] == tokens * doc["kv_bytes_per_token"]


@pytest.mark.parametrize("text", ["32kb", "k", "1.5k", "-1", "0", "2g", ""])
def test_bad_context_suffixes_are_usage_errors(
    llama_config: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    code, out, err = run(["--config", str(llama_config), "--context", text], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "--context" in err


def test_compare_sweep_and_solvers(llama_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--config", str(llama_config), "--gpu", "h100-80gb"]
    doc = run_json([*base, "--compare-precisions"], capsys)
    assert doc["mode"] == "compare-precisions" and len(doc["estimates"]) >= 3
    code, out, _ = run([*base, "--compare-precisions"], capsys)
    assert code == 0 and "Precision" in out and "bf16" in out
    doc = run_json([*base, "--sweep", "batch", "--points", "5"], capsys)
    assert doc["mode"] == "sweep-batch" and doc["points"]
    assert all(isinstance(p["total_bytes"], int) for p in doc["points"])
    code, out, _ = run([*base, "--sweep", "context"], capsys)
    assert code == 0 and "Context" in out
    doc = run_json([*base, "--max-batch"], capsys)
    assert isinstance(doc["max_batch"], int) and doc["max_batch"] >= 1
    code, out, _ = run([*base, "--max-context"], capsys)
    assert code == 0 and "Max context" in out
    code, _, err = run(["--config", str(llama_config), "--max-batch"], capsys)
    assert code == 2 and "needs --gpu" in err


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["--bogus"], "unrecognized arguments"),
        (["--batch", "0"], "must be at least 1"),
        (["--context", "lots"], "not a whole number"),
        (["--precision", "fp3"], "unknown precision"),
        (["--engine", "exllama"], "invalid choice"),
        (["--headroom", "1.5"], "headroom"),
        (["--gpus", "2", "--tp", "4"], "tensor_parallel"),
        (["--sweep", "context", "--max-batch"], "not allowed"),
    ],
)
def test_bad_usage_exit_2(
    argv: list[str], text: str, llama_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["--config", str(llama_config), *argv], capsys)
    assert code == 2 and out == ""
    assert text in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_model_and_config_together(llama_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["org/name", "--config", str(llama_config)], capsys)
    assert code == 2 and "not both" in err


def test_bad_model_ids_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["a/b/c"], capsys)
    assert code == 2 and "slashes" in err
    code, _, err = run(["https://github.com/org/x"], capsys)
    assert code == 2 and "not a Hugging Face Hub address" in err


def test_missing_and_broken_configs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["--config", str(tmp_path / "nope.json")], capsys)
    assert code == 2 and "no config.json" in err
    code, _, err = run(["--config", str(tmp_path)], capsys)
    assert code == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = run(["--config", str(bad)], capsys)
    assert code == 4 and "not valid JSON" in err
    bad.write_text("[1]")
    assert run(["--config", str(bad)], capsys)[0] == 4
    bad.write_text('{"hidden_size": 0}')
    code, _, err = run(["--config", str(bad)], capsys)
    assert code == 4 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_debug_shows_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"hidden_size": 0}')
    code, _, err = run(["--config", str(bad), "--debug"], capsys)
    assert code == 4 and "Traceback" in err


def test_no_arguments_without_tty(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code, out, err = run([], capsys)
    assert code == 2 and out == "" and err.startswith("usage: llm-mem")


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for flag in (
        "--config",
        "--precision",
        "--kv-dtype",
        "--engine",
        "--batch",
        "--context",
        "--gpu",
        "--gpus",
        "--json",
        "--seq-len",
        "--batch-size",
        "--num-layers",
        "--flash",
        "--compare-precisions",
        "--sweep",
        "--gguf-file",
    ):
        assert flag in out


def test_subprocess_exit_codes_and_light_start(llama_config: Path, tmp_path: Path) -> None:
    """Run as users do: `python -m estimator`; --config must not import the Hub client."""
    probe = (
        "import sys, runpy\n"
        f"sys.argv = ['llm-mem', '--config', {str(llama_config)!r}, '--json']\n"
        "try:\n    runpy.run_module('estimator', run_name='__main__')\n"
        "except SystemExit as e:\n    code = e.code\n"
        "sys.stderr.write(f'{code} hub={\"estimator.hub\" in sys.modules} '\n"
        "                 f'urllib={\"urllib.request\" in sys.modules}')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.stderr.endswith("0 hub=False urllib=False"), done.stderr
    assert json.loads(done.stdout)["total_bytes"] > 0
    done = subprocess.run(
        [sys.executable, "-m", "estimator"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2 and "usage" in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "estimator", "--config", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1


def test_fixture_picker_falls_back() -> None:
    assert config_path("no-such-model").is_file()

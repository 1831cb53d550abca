"""llm-mem with a model id: a local fake Hub on 127.0.0.1 via HF_ENDPOINT; exit code 3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakehub import FakeHub, serve

from estimator import cli

TOKEN = "hf_CLIsecretTOKEN_never_printed_42"
REPO = "meta-llama/Llama-3.1-8B-Instruct"


@pytest.fixture
def hub(llama_config: Path) -> FakeHub:
    h = FakeHub()
    h.add_model(REPO, config=json.loads(llama_config.read_text()), safetensors={"BF16": 8030261248})
    h.add_model(
        "bartowski/Llama-GGUF",
        files={"Llama-Q4_K_M.gguf": 4_920_734_016, "Llama-Q8_0.gguf": 8_540_770_560},
        extra={"cardData": {"base_model": REPO}},
    )
    return h


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_model_id_json(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve(hub) as endpoint:
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        code, out, err = run([f"https://huggingface.co/{REPO}", "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["model_id"] == REPO and doc["revision"] == "main" and doc["source"] == "hub"
    assert doc["hub"]["weights_source"] == "hub-api"
    assert doc["param_source"] != "config-arithmetic"


def test_endpoint_flag_and_table(hub: FakeHub, capsys: pytest.CaptureFixture[str]) -> None:
    with serve(hub) as endpoint:
        code, out, err = run([REPO, "--endpoint", endpoint, "--revision", "main"], capsys)
    assert code == 0, err
    assert out.startswith(f"{REPO}:") and "Total" in out


def test_gguf_repo(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve(hub) as endpoint:
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        code, out, err = run(["bartowski/Llama-GGUF", "--gguf-file", "Q4_K_M", "--json"], capsys)
        assert code == 0, err
        doc = json.loads(out)
        assert doc["hub"]["gguf_file"] == "Llama-Q4_K_M.gguf"
        assert doc["hub"]["relation"] == "gguf"
        assert any("GGUF repo" in n for n in doc["notes"])
        code, out, err = run(["bartowski/Llama-GGUF"], capsys)
        assert code == 0 and "--gguf-file" in out
        code, _, err = run(["bartowski/Llama-GGUF", "--gguf-file", "Q2_K"], capsys)
        assert code == 2 and "available" in err


@pytest.mark.parametrize(
    ("status", "headers", "text"),
    [
        (404, {"X-Error-Code": "RepoNotFound"}, "not found"),
        (401, {}, "accept its licence on https://huggingface.co/"),
        (429, {"Retry-After": "30"}, "retry after 30 s"),
        (500, {}, "HTTP 500"),
    ],
)
def test_hub_errors_exit_3_without_token(
    hub: FakeHub,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    status: int,
    headers: dict[str, str],
    text: str,
) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    hub.add("/api/models/org/missing?blobs=true", {"error": TOKEN}, status, headers=headers)
    with serve(hub) as endpoint:
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        code, out, err = run(["org/missing", "--debug"], capsys)
    assert code == 3 and out == ""
    assert text in err and TOKEN not in err
    assert any(s.headers.get("Authorization") == f"Bearer {TOKEN}" for s in hub.seen)


def test_non_json_exit_3(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    hub.add("/api/models/org/html?blobs=true", raw=b"<html>portal</html>")
    with serve(hub) as endpoint:
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        code, _, err = run(["org/html"], capsys)
    assert code == 3 and "HTML" in err and len(err.strip().splitlines()) == 1


def test_unreachable_exit_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    code, _, err = run([REPO], capsys)
    assert code == 3 and "cannot reach" in err


def test_offline_uses_cache_then_misses(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve(hub) as endpoint:
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        code, online, _ = run([REPO, "--json"], capsys)
        assert code == 0
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        before = len(hub.seen)
        code, offline, _ = run([REPO, "--json"], capsys)
        assert code == 0 and json.loads(offline) == json.loads(online)
        assert len(hub.seen) == before
        code, _, err = run(["org/never-fetched"], capsys)
    assert code == 3 and "HF_HUB_OFFLINE" in err


def test_estimate_error_from_hub_config_exit_4(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    hub.add_model(
        "org/bert",
        config={
            "model_type": "bert",
            "hidden_size": 768,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "vocab_size": 30522,
            "architectures": ["BertForMaskedLM"],
        },
    )
    with serve(hub) as endpoint:
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        code, _, err = run(["org/bert"], capsys)
    assert code == 4 and "encoder" in err

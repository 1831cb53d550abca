"""llm-mem with a model id: a local fake Hub on 127.0.0.1 via HF_ENDPOINT; exit code 3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import realhub
from fakehub import TOKEN, FakeHub, serve

from estimator import cli

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


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("llm-mem: error: ")
    return lines[0].removeprefix("llm-mem: error: ")


MISSING = "org/missing"
MISSING_API = f"/api/models/{MISSING}?blobs=true"


@pytest.mark.parametrize(
    ("shape", "token", "message"),
    [
        (
            realhub.NOT_FOUND_NO_TOKEN,
            None,
            f"model '{MISSING}' not found on the Hub, or private: check the id or give a token "
            "that can read it (set HF_TOKEN or run `huggingface-cli login`)",
        ),
        (
            realhub.NOT_FOUND_WITH_TOKEN,
            TOKEN,
            f"model '{MISSING}' not found on the Hub, or private and your token cannot read it: "
            "check the id, or use a token of an account with access",
        ),
        (
            realhub.BAD_TOKEN_ANSWER,
            "hf_expired",
            "the Hub refused the token (Invalid credentials in Authorization header): it is "
            "invalid or expired; make a new one on https://huggingface.co/settings/tokens, or "
            "remove it to read public models",
        ),
        (
            realhub.PLAIN_403,
            TOKEN,
            f"the Hub refused the model info of {MISSING} (HTTP 403): your token lacks the "
            "permission to read it (a fine-grained token needs read access to this repo, or to "
            "public gated repos); it is not gated, there are no terms to accept",
        ),
        (
            realhub.DISABLED_ANSWER,
            None,
            f"{MISSING} is disabled on the Hub (Access to this resource is disabled.): no one "
            "can read it, with or without a token",
        ),
        (
            realhub.RATE_LIMITED,
            None,
            "the Hub is rate-limiting requests from this address (500 requests per 300 s); "
            "retry in 55 s (a token raises the limit: set HF_TOKEN or run `huggingface-cli "
            "login`)",
        ),
        (
            realhub.Shape(503),
            None,
            f"the Hub answered HTTP 503 for the model info of {MISSING}; it may be down, try "
            "again later",
        ),
    ],
)
def test_real_hub_answers_exit_3_with_one_line(
    hub: FakeHub,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    shape: realhub.Shape,
    token: str | None,
    message: str,
) -> None:
    """Each recorded answer shape, replayed over HTTP through HF_ENDPOINT, gives its own
    message and exit code 3; the token is sent but never printed."""
    if token:
        monkeypatch.setenv("HF_TOKEN", token)
    hub.add_shape(MISSING_API, shape)
    with serve(hub) as endpoint:
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        code, out, err = run([MISSING], capsys)
    text = _one_error_line(err)
    assert (code, out) == (3, "")
    # The endpoint is a local mirror: "the Hub" is named by its URL there.
    assert text == message.replace("on the Hub", f"on {endpoint}")
    if token:
        assert token not in err
        assert all(s.headers.get("Authorization") == f"Bearer {token}" for s in hub.seen)


def test_typo_says_not_found_with_did_you_mean(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve(hub) as endpoint:
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        code, _, err = run(["meta-llama/Llama-3.1-8B-Instrct"], capsys)
    assert code == 3
    assert _one_error_line(err) == (
        f"model 'meta-llama/Llama-3.1-8B-Instrct' not found on {endpoint}, or private: check "
        f"the id (did you mean '{REPO}'?) or give a token that can read it (set HF_TOKEN or run "
        "`huggingface-cli login`)"
    )


@pytest.mark.parametrize("token", [None, "hf_not_granted"])
def test_gated_model_exit_3_with_the_terms_link(
    hub: FakeHub,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    token: str | None,
) -> None:
    hub.add_model("google/gemma-2-9b-it", gated="manual", granted=frozenset({TOKEN}))
    if token:
        hub.valid_tokens.add(token)
        monkeypatch.setenv("HF_TOKEN", token)
    with serve(hub) as endpoint:
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        code, _, err = run(["google/gemma-2-9b-it"], capsys)
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        ok, out, _ = run(["google/gemma-2-9b-it", "--json"], capsys)
    text = _one_error_line(err)
    page = f"{endpoint}/google/gemma-2-9b-it"
    assert code == 3
    if token:
        assert text == (
            "google/gemma-2-9b-it is gated and your token's account has no access yet: request "
            f"access on {page} and wait for the authors to approve it while logged in as that "
            "account"
        )
    else:
        assert text == (
            f"google/gemma-2-9b-it is gated: request access on {page} and wait for the authors "
            "to approve it, then give a token of that account (set HF_TOKEN or run "
            "`huggingface-cli login`)"
        )
    assert ok == 0 and json.loads(out)["hub"]["gated"] == "manual"


def test_renamed_model_is_estimated_under_its_new_name(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    hub.rename("meta-llama/Meta-Llama-3.1-8B-Instruct", REPO)
    with serve(hub) as endpoint:
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        code, out, err = run(["meta-llama/Meta-Llama-3.1-8B-Instruct", "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["model_id"] == REPO and doc["hub"]["requested_id"] != REPO
    assert any("is now meta-llama/Llama-3.1-8B-Instruct" in n for n in doc["notes"])


def test_gguf_repo_of_a_gated_base_without_token(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ggufwrite import llama_8b_header

    hub.repos[REPO].gated = "auto"
    hub.add("/bartowski/Llama-GGUF/resolve/main/Llama-Q4_K_M.gguf", raw=llama_8b_header())
    with serve(hub) as endpoint:
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        code, out, err = run(["bartowski/Llama-GGUF", "--engine", "generic", "--json"], capsys)
        table_code, table, _ = run(["bartowski/Llama-GGUF"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["hub"]["config_source"] == "gguf-header"
    assert doc["weights_bytes"] == 4_920_734_016 and doc["kv_bytes_per_token"] == 131072
    assert doc["notes"][0].startswith(
        f"{REPO} is gated without access: bartowski/Llama-GGUF is estimated from its own file "
        "Llama-Q4_K_M.gguf, the structure from its GGUF header"
    )
    assert table_code == 0 and "Note: meta-llama/Llama-3.1-8B-Instruct is gated" in table


@pytest.mark.parametrize(
    ("argv", "env", "words"),
    [
        ([REPO, "--endpoint", "file:///etc/passwd"], {}, "must be an http:// or https:// URL"),
        ([REPO], {"HF_ENDPOINT": "ftp://mirror.example"}, "must be an http:// or https:// URL"),
        ([REPO, "--revision", "../../../etc"], {}, "revision '../../../etc' contains '..'"),
        ([f"https://huggingface.co/{REPO}/blob/main/..%2Fx"], {}, "is not a path in a repo"),
    ],
)
def test_endpoint_and_revision_are_checked_before_any_request(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    env: dict[str, str],
    words: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, out, err = run(argv, capsys)
    assert (code, out) == (2, "") and words in _one_error_line(err)


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


def test_command_carries_the_revision(
    llama_config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A model read at a revision other than main is launched at it: --command and the JSON."""
    h = FakeHub()
    h.add_model(REPO, config=json.loads(llama_config.read_text()), revision="v2.0")
    with serve(h) as endpoint:
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        at = [REPO, "--revision", "v2.0", "--context", "8192", "--engine"]
        code, out, err = run([*at, "vllm", "--command"], capsys)
        assert code == 0, err
        assert out == f"vllm serve {REPO} --revision v2.0 --max-model-len 8192\n"
        code, out, err = run([*at, "sglang", "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["revision"] == "v2.0"
    assert doc["launch"]["command"].startswith(
        f"python -m sglang.launch_server --model-path {REPO} --revision v2.0 --context-length"
    )
